"""`{% load fields %}`: `{% field form.name %}` renders one form field as every page
shows it (`partials/field.html`), an empty field from the HTML kept per process
(`frontoffice.field_rendering`).

    {% for field in form %}{% field field %}{% endfor %}
"""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString

from frontoffice.field_rendering import render_field

register = template.Library()


@register.simple_tag(name="field")
def field_tag(bound: forms.BoundField) -> SafeString:
    return render_field(bound)
