"""`{% load fields %}`: `{% field form.name %}` renders one form field as every page
shows it (`partials/field.html`), `{% widget form.name %}` its widget alone (what
`{{ form.name }}` renders), each from the HTML kept per process where it can be
(`frontoffice.field_rendering`).

    {% for field in form %}{% field field %}{% endfor %}
"""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString

from frontoffice.field_rendering import render_field, render_widget

register = template.Library()


@register.simple_tag(name="field")
def field_tag(bound: forms.BoundField) -> SafeString:
    return render_field(bound)


@register.simple_tag(name="widget")
def widget_tag(bound: forms.BoundField) -> SafeString:
    return render_widget(bound)
