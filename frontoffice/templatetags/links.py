"""`{% load links %}`: links shown only to whom may follow them, so that a page never
leads to a 403. Give the permission the target view checks.

    {% link_if_allowed "sales.view_opportunity" "sales:opportunity_detail" opp.pk text=opp.name %}

renders `<a href="...">name</a>` for a user holding the permission, the name alone for
anyone else; for richer link text, `allowed_url` gives the URL or "":

    {% allowed_url "sales.view_quote" "sales:quote_detail" order.quote_id as quote_url %}
    {% if quote_url %}<a href="{{ quote_url }}">...</a>{% else %}...{% endif %}
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from frontoffice.reversing import reverse_kept

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed_url(context: template.Context, permission: str, url_name: str, *args: Any) -> str:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is not None and user.is_authenticated and user.has_perm(permission):
        return reverse_kept(url_name, args)
    return ""


@register.simple_tag(takes_context=True)
def link_if_allowed(
    context: template.Context, permission: str, url_name: str, *args: Any, text: Any = ""
) -> str:
    url = allowed_url(context, permission, url_name, *args)
    if url:
        return format_html('<a href="{}">{}</a>', url, text)
    return format_html("<span>{}</span>", text)
