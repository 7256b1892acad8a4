"""Placeholders in message templates: `{{ customer.display_name }}`, `{{ order.reference }}`.

Deliberately not Django's template language: a template written by staff must not
reach attributes of live objects (`customer.owner.password`), call methods, or loop.
A placeholder is a dotted path looked up in plain data: the customer's public fields
(`CUSTOMER_FIELDS`) and what the sending app passes as `context` (dicts of texts,
numbers and dates). Messages are plain text, so no escaping is needed; an unknown
placeholder is an error, never an empty gap in front of the customer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
CUSTOMER_FIELDS = ("display_name", "first_name", "last_name", "organisation_name", "email")
SCALARS = (str, int, float, Decimal, dt.date)
MAX_DEPTH = 4


def placeholders(text: str) -> list[str]:
    """The placeholders of `text`, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def template_problems(text: str) -> list[str]:
    """What is wrong with the placeholders of `text` (empty when nothing is)."""
    problems = []
    stripped = PLACEHOLDER.sub("", text)
    if "{{" in stripped or "}}" in stripped:
        problems.append(
            'A placeholder is written {{ name }} or {{ name.field }}, e.g. "{{ customer.first_name }}".'
        )
    if "{%" in text:
        problems.append("Templates hold placeholders only, no {% tags %}.")
    for path in placeholders(text):
        root, _, rest = path.partition(".")
        if root == "customer" and rest not in CUSTOMER_FIELDS:
            problems.append(
                f"Unknown placeholder {{{{ {path} }}}}: a customer has {', '.join(CUSTOMER_FIELDS)}."
            )
    return problems


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: tuple[str, ...]


def _lookup(values: Mapping[str, Any], path: str) -> Any:
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%d %b %Y, %H:%M") if timezone.is_aware(value) else None
    if isinstance(value, dt.date):
        return value.strftime("%d %b %Y")
    if isinstance(value, SCALARS):
        return str(value)
    return None


def render(text: str, values: Mapping[str, Any]) -> Rendered:
    """`text` with every placeholder replaced by its value; those with none are left
    as written and listed in `missing`."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = _text(_lookup(values, match.group(1)))
        if value is None:
            missing.append(match.group(1))
            return match.group(0)
        return value

    return Rendered(PLACEHOLDER.sub(replace, text), tuple(dict.fromkeys(missing)))


def context_problems(context: object, depth: int = 0) -> list[str]:
    """A sending app's `context` must be plain data: dicts of texts, numbers and dates."""
    if not isinstance(context, Mapping):
        return ["The context is an object of names and values."]
    if depth > MAX_DEPTH:
        return ["The context is nested too deep."]
    problems = []
    for key, value in context.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            problems.append(f"{key!r} is not a placeholder name.")
        elif key == "customer" and depth == 0:
            problems.append("The customer's fields come from the profile, not from the context.")
        elif isinstance(value, Mapping):
            problems.extend(context_problems(value, depth + 1))
        elif value is not None and not isinstance(value, (*SCALARS, bool)):
            problems.append(f"{key}: only texts, numbers and dates.")
    return problems


def customer_values(
    *, display_name: str, first_name: str, last_name: str, organisation_name: str, email: str
) -> dict[str, str]:
    return {
        "display_name": display_name,
        "first_name": first_name or display_name,
        "last_name": last_name,
        "organisation_name": organisation_name,
        "email": email,
    }
