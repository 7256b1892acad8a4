"""How long, for people: `{{ seconds|span }}` reads 45 s, 12 min, 3 h 20 min or 116 days."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def span(seconds: float | int | None) -> str:
    if seconds is None:
        return "\u2013"  # an en dash: nothing to measure
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
