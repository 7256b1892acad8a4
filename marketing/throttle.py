"""Rate limits of marketing's public pages (lead forms, tracking, unsubscribe), per client
address as the API's throttles see it (frontoffice.throttling.client_ip)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest

from frontoffice.throttling import client_ip

# (requests, seconds) per client address and scope.
RATES = {
    "form": (10, 60),
    "tracking": (300, 60),
    "unsubscribe": (30, 60),
}


def allow(request: HttpRequest, scope: str) -> bool:
    """Count this request; False once the client has used up its allowance in the window."""
    limit, window = RATES[scope]
    bucket = int(time.time() // window)
    key = f"marketing:throttle:{scope}:{client_ip(request)}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return True
    return count <= limit
