"""The served app leaves what it loads at start out of the garbage collector's full
collections (config/wsgi.py), so that one of them costs what the requests left behind,
not 40-80 ms for the ~170,000 objects of Django and the project's modules."""

from __future__ import annotations

import gc


def test_loading_the_wsgi_app_freezes_what_it_loaded() -> None:
    from config import wsgi

    assert wsgi.application is not None
    assert gc.get_freeze_count() > 10_000
