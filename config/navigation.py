"""The navigation each role sees: every app's entries, from its hooks."""

from __future__ import annotations

from django.http import HttpRequest

from frontoffice import plugin
from frontoffice.reversing import reverse_kept


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        (item.label, reverse_kept(item.url_name))
        for item in plugin.navigation()
        if plugin.allowed(user, item.permission)
    ]
    if user.is_staff:
        items.append(("Admin", reverse_kept("admin:index")))
    path = request.path
    # The most specific match is current: /customers/duplicates/ is "Duplicates", not "Customers".
    matches = [url for _, url in items if path == url or (url != "/" and path.startswith(url))]
    current = max(matches, key=len, default=None)
    return {"nav_items": [{"label": label, "url": url, "current": url == current} for label, url in items]}
