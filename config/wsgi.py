from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Every view, serializer and schema module, loaded now rather than by the first request.
_ = get_resolver().url_patterns
# What is loaded by now lives as long as the process: it leaves the garbage collector's
# reach. A full collection (every few requests that leave reference cycles behind, as
# DRF's requests and views do) otherwise walks these ~170,000 objects each time: 40-80 ms
# of one request in twenty on the 2-core bench machine (the duplicates page's p95).
gc.collect()
gc.freeze()
