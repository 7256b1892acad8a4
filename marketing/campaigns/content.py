"""A campaign's e-mail content: subject and body templates with `{{ placeholder }}`
personalisation. Plain substitution, not the Django template language: a marketer's
text can name a customer's field and nothing else (no tags, no attribute walks)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.html import escape

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_.]*)\s*\}\}")
PLACEHOLDERS = {
    "first_name": "First name",
    "last_name": "Last name",
    "display_name": "Full name (or organisation)",
    "email": "E-mail address",
    "unsubscribe_url": "One-click unsubscribe link",
}
ATTRIBUTE_PREFIX = "attr."


def unknown_placeholders(text: str, attribute_keys: set[str]) -> list[str]:
    """Placeholders in `text` that name nothing a customer has."""
    names = PLACEHOLDER.findall(text or "")
    return sorted(
        {
            n
            for n in names
            if n not in PLACEHOLDERS
            and not (n.startswith(ATTRIBUTE_PREFIX) and n[len(ATTRIBUTE_PREFIX) :] in attribute_keys)
        }
    )


def context_for(customer: Any, *, email: str, unsubscribe_url: str) -> dict[str, str]:
    values = {
        "first_name": customer.first_name or customer.display_name,
        "last_name": customer.last_name,
        "display_name": customer.display_name,
        "email": email,
        "unsubscribe_url": unsubscribe_url,
    }
    for key, value in (customer.attributes or {}).items():
        values[f"{ATTRIBUTE_PREFIX}{key}"] = "" if value is None else str(value)
    return values


def render(text: str, context: Mapping[str, str], *, html: bool = False) -> str:
    """`text` with each placeholder replaced (escaped for HTML when `html`); an unknown
    one (an attribute the customer has no value for) becomes empty."""

    def replace(match: re.Match[str]) -> str:
        value = context.get(match.group(1), "")
        return escape(value) if html else value

    return PLACEHOLDER.sub(replace, text or "")
