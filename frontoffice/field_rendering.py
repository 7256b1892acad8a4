"""One form field as the pages show it (`partials/field.html`: label, help, errors and
widget), or its widget alone (`{{ field }}`), with the HTML kept per process.

Django renders each widget through templates: on the 360 page the fields of the three
empty forms (log an activity, add a contact point, record consent) took about half of
the page's template rendering (7.0 of 13.4 ms in process). An empty field renders the same HTML for the same inputs, so that HTML is kept,
keyed by everything its rendering reads: the form's class (by name, bases and the
attributes a field reads), prefix, ids and label suffix; the field's class, label, help text, required and disabled flags, initial
value and choices (read afresh each time, so choices that change give a new key); the
widget's class and attributes; the language and the time zone. A field of a bound
form without errors is kept too (a filter form's fields: the list page's filters were a
third of its template rendering), keyed also by the value it shows; a field with errors,
a bound field with a hidden initial value (read from the request) and a hidden field (a
one-time token differs on every render) are rendered each time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from threading import Lock
from typing import Any

from django import forms
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe

TEMPLATE = "partials/field.html"
WIDGET = "widget"  # the widget alone, as `{{ field }}` renders it
# Kept renderings per process: enough for every empty field of every page many times
# over; the least recently used goes first, so an initial value that differs per
# customer cannot grow the memory.
KEPT = 1024

_kept: OrderedDict[tuple[Any, ...], SafeString] = OrderedDict()
_lock = Lock()


def render_field(field: forms.BoundField) -> SafeString:
    """`partials/field.html` for `field`, from the kept HTML where its inputs match."""
    return _kept_or_rendered(
        TEMPLATE,
        field,
        lambda: mark_safe(get_template(TEMPLATE).render({"field": field})),  # noqa: S308 - the template escapes
    )


def render_widget(field: forms.BoundField) -> SafeString:
    """`{{ field }}` (the widget alone) for `field`, from the kept HTML where its inputs match."""
    return _kept_or_rendered(WIDGET, field, lambda: mark_safe(field.__str__()))  # noqa: S308 - Django's widget escapes


def _kept_or_rendered(what: str, field: forms.BoundField, render: Callable[[], SafeString]) -> SafeString:
    key = _key(field)
    if key is not None:
        key = (what, *key)
        with _lock:
            html = _kept.get(key)
            if html is not None:
                _kept.move_to_end(key)
                return html
    html = render()
    if key is not None:
        with _lock:
            _kept[key] = html
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    return html


def forget() -> None:
    """Drop every kept rendering (tests that change what a field renders from)."""
    with _lock:
        _kept.clear()


def _key(bound: forms.BoundField) -> tuple[Any, ...] | None:
    """What the field's HTML depends on, or None when it must be rendered each time."""
    form, field = bound.form, bound.field
    widget = field.widget
    if widget.is_hidden:
        return None
    value: Hashable = None
    # A bound field only without errors (they add messages and ARIA attributes); reading
    # them validates the form, as Django's own rendering of the field does.
    if form.is_bound and (bound.errors or field.show_hidden_initial):
        return None
    try:
        if form.is_bound:
            value = _frozen(bound.value())
        key = (
            form.is_bound,
            value,
            _form_class(type(form)),
            form.prefix,
            form.auto_id,
            form.label_suffix,
            form.use_required_attribute,
            type(form.renderer) if form.renderer is not None else None,
            bound.name,
            type(field),
            str(field.label) if field.label is not None else None,
            str(field.help_text),
            field.required,
            field.disabled,
            field.show_hidden_initial,
            field.localize,
            _frozen(bound.initial),
            _frozen_choices(field.choices) if hasattr(field, "choices") else None,
            type(bound),
            getattr(field, "template_name", None),
            type(widget),
            widget.template_name,
            getattr(widget, "option_template_name", None),
            _frozen(widget.attrs),
            getattr(widget, "format", None),
            getattr(widget, "input_type", None),
            getattr(widget, "allow_multiple_selected", None),
            translation.get_language(),
            timezone.get_current_timezone_name(),
        )
        hash(key)
    except TypeError:  # a value that cannot be part of a key: render it each time
        return None
    return key


def _form_class(cls: type) -> Hashable:
    """The form's class as a key: its name, its bases and the class attributes a field's
    rendering reads. Not the class itself: django-filter makes a new form class for each
    FilterSet instance (the same name, bases and fields each time), so a filter form's
    fields keyed by their class were never found again, and filled the kept renderings."""
    return (
        cls.__module__,
        cls.__qualname__,
        cls.__bases__,
        getattr(cls, "required_css_class", None),
        getattr(cls, "error_css_class", None),
        getattr(cls, "template_name_label", None),
        getattr(cls, "default_renderer", None),
    )


# Types whose values are their own key (with the type): no need to look further.
_PLAIN = frozenset({str, int, bool, float, type(None), bytes})


def _frozen_choices(choices: Iterable[Any]) -> Hashable:
    """`_frozen(choices)`, quicker for the usual (value, label) pairs of plain values: a
    select's choices are read for every rendering (the timeline's filter has 50-odd)."""
    frozen: list[Hashable] = []
    for choice in choices:
        if type(choice) is tuple and len(choice) == 2:
            value, label = choice
            # A str or int of its own type (a TextChoices member) is a key with its type too.
            if isinstance(value, str | int) and type(label) in _PLAIN:
                frozen.append(((type(value), value), (type(label), label)))
                continue
        frozen.append(_frozen(choice))
    return tuple(frozen)


def _frozen(value: Any) -> Hashable:
    """`value` as a key, with each scalar's type: 1, True and Decimal("1.0") are equal
    in Python but render differently."""
    if type(value) in _PLAIN:
        return (type(value), value)
    if isinstance(value, Promise):  # a lazy translation: its text in the current language
        return str(value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, str | bytes):
        return (type(value), value)
    if isinstance(value, Iterable):
        return tuple(_frozen(item) for item in value)
    return (type(value), value)
