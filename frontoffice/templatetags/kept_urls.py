"""`{% url %}` with the answer kept per process (`frontoffice.reversing.reverse_kept`).

A builtin of the template engine (settings.TEMPLATES' `builtins`), so every template's
`{% url %}` is this one without a `{% load %}`. It parses as Django's own tag (same
syntax, `as var` included) and resolves the same way; only the reversal is kept.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from frontoffice.reversing import reverse_kept

register = template.Library()


def _current_app(context: template.Context) -> str | None:
    """The namespace instance to prefer, as Django's tag finds it: the request's
    `current_app`, else the namespace of the URL that matched it."""
    request = getattr(context, "request", None)
    if request is None:
        return None
    if hasattr(request, "current_app"):
        current_app: str | None = request.current_app
        return current_app
    match = getattr(request, "resolver_match", None)
    return match.namespace if match is not None else None


class KeptURLNode(template.Node):
    def __init__(self, parsed: defaulttags.URLNode) -> None:
        self.parsed = parsed

    def render(self, context: template.Context) -> str:
        node = self.parsed
        args = [arg.resolve(context) for arg in node.args]
        kwargs = {name: value.resolve(context) for name, value in node.kwargs.items()}
        url = ""
        try:
            url = reverse_kept(node.view_name.resolve(context), args, kwargs, _current_app(context))
        except NoReverseMatch:
            if node.asvar is None:
                raise
        if node.asvar:
            context[node.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: template.base.Parser, token: template.base.Token) -> Any:
    return KeptURLNode(defaulttags.url(parser, token))
