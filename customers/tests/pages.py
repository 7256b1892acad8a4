"""What the page tests share: a logged-in client, the page's HTML, an HTMX request, and
a 360 view with only the panels a test plugs in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from frontoffice import plugin
from frontoffice.plugin import Panel

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html_of(response: Any) -> str:
    return response.content.decode()


def only_panels(monkeypatch: pytest.MonkeyPatch, *panels: Panel) -> None:
    """The 360 view shows these panels and no app's own."""
    monkeypatch.setattr(plugin, "panels", lambda: list(panels))
    monkeypatch.setattr(plugin, "panel", lambda key: next((p for p in panels if p.key == key), None))
