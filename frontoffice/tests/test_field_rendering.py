"""`frontoffice.field_rendering`: an empty field's HTML is kept and given again only
while everything it is rendered from is the same; a bound field, a hidden field and
anything that changes the HTML is rendered afresh."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
import pytest
from django import forms
from django.template.loader import get_template
from django.test import override_settings
from django.test.signals import template_rendered
from django.utils import translation
from django.utils.functional import lazy

from frontoffice import field_rendering
from frontoffice.field_rendering import render_field, render_widget
from frontoffice.forms import FORM_TOKEN, ServiceForm
from frontoffice.models import User


@pytest.fixture(autouse=True)
def _nothing_kept() -> Any:
    field_rendering.forget()
    yield
    field_rendering.forget()


class _Renders:
    """Counts the renders of the templates named (each once, whatever it includes)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.count = 0

    def __call__(self, sender: Any, template: Any, context: Any, **kwargs: Any) -> None:
        if template.name in self.names:
            self.count += 1


def _counting(names: set[str]) -> Any:
    counter = _Renders(names)
    template_rendered.connect(counter)
    yield counter
    template_rendered.disconnect(counter)


@pytest.fixture
def renders() -> Any:
    """The field template's renders."""
    yield from _counting({field_rendering.TEMPLATE})


def _own(field: forms.BoundField) -> str:
    return get_template(field_rendering.TEMPLATE).render({"field": field})


class _Logged(ServiceForm):
    """Every kind of widget the pages' forms use, and a one-time token."""

    one_time = True
    kind = forms.ChoiceField(choices=[("note", "Note"), ("call", "Call")], initial="note")
    subject = forms.CharField(max_length=200, help_text="What it was about.")
    occurred_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    granted = forms.ChoiceField(choices=[("yes", "Granted"), ("no", "Withdrawn")], widget=forms.RadioSelect)
    primary = forms.BooleanField(required=False)
    source = forms.CharField(max_length=100)
    note = forms.CharField(max_length=500, required=False)


def _the_forms() -> list[ServiceForm]:
    return [_Logged(prefix="one"), _Logged(prefix="two", initial={"source": "Told staff", "primary": True})]


def test_an_empty_field_renders_what_the_template_renders_and_is_kept(renders: _Renders) -> None:
    shown = [f for form in _the_forms() for f in form if not f.is_hidden]
    first = [render_field(f) for f in shown]
    assert renders.count == len(shown)
    # Kept: new forms of the same kind render nothing again, and give the same HTML...
    again = [render_field(f) for form in _the_forms() for f in form if not f.is_hidden]
    assert renders.count == len(shown)
    assert again == first
    # ... which is what the template itself renders for each field.
    assert first == [_own(f) for form in _the_forms() for f in form if not f.is_hidden]


def test_a_one_time_token_is_rendered_each_time(renders: _Renders) -> None:
    tokens = [render_field(_Logged(prefix="one")[FORM_TOKEN]) for _ in range(2)]
    assert renders.count == 2
    assert tokens[0] != tokens[1]


def test_a_bound_field_shows_its_value_and_errors_each_time(renders: _Renders) -> None:
    render_field(_Logged(prefix="one")["source"])  # kept empty
    form = _Logged({"one-source": "", "one-note": "typed <b>"}, prefix="one")
    assert not form.is_valid()
    source, note = render_field(form["source"]), render_field(form["note"])
    assert "This field is required." in source
    assert "typed &lt;b&gt;" in note
    assert renders.count == 3
    assert render_field(_Logged(prefix="one")["source"]).count("required") == 0


class _Priced(forms.Form):
    price = forms.DecimalField()
    channel = forms.ChoiceField(choices=[("email", "E-mail")])
    label = forms.CharField(label=lazy(translation.get_language, str)())


@pytest.fixture
def translations_on() -> Any:
    """Django's translation machinery on (the project runs with it off), its functions
    chosen again on both sides, as Django says tests that change USE_I18N must."""
    with override_settings(USE_I18N=True):
        translation._trans.__dict__.clear()  # type: ignore[attr-defined]
        yield
    translation._trans.__dict__.clear()  # type: ignore[attr-defined]


def test_what_changes_the_html_gives_a_new_rendering(translations_on: None) -> None:
    # 1 and Decimal("1.0") are equal keys in Python; their HTML differs.
    assert 'value="1"' in render_field(_Priced(initial={"price": 1})["price"])
    assert 'value="1.0"' in render_field(_Priced(initial={"price": Decimal("1.0")})["price"])
    # Choices changed on one form are that form's.
    changed = _Priced()
    changed.fields["channel"].choices = [("sms", "Text message")]  # type: ignore[attr-defined]
    assert "Text message" in render_field(changed["channel"])
    assert "Text message" not in render_field(_Priced()["channel"])
    # Choice values equal in Python, rendered differently: 1 and True.
    typed = _Priced()
    typed.fields["channel"].choices = [(1, "One")]  # type: ignore[attr-defined]
    assert 'value="1"' in render_field(typed["channel"])
    typed = _Priced()
    typed.fields["channel"].choices = [(True, "One")]  # type: ignore[attr-defined]
    assert 'value="True"' in render_field(typed["channel"])
    # A lazy label in another language.
    with translation.override("fr"):
        assert ">fr<" in render_field(_Priced()["label"])
    with translation.override("de"):
        assert ">de<" in render_field(_Priced()["label"])
    # Another prefix: other names and ids.
    assert 'name="x-price"' in render_field(_Priced(prefix="x")["price"])


def test_the_kept_renderings_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(field_rendering, "KEPT", 2)
    for value in (1, 2, 3):
        render_field(_Priced(initial={"price": value})["price"])
    assert len(field_rendering._kept) == 2


# --- a bound form's fields (the filter forms) -------------------------------------------


@pytest.fixture
def widget_renders() -> Any:
    """The renders of the widgets below (what `{{ field }}` renders)."""
    yield from _counting(
        {forms.Select.template_name, forms.TextInput.template_name, forms.DateInput.template_name}
    )


class _Filters(forms.Form):
    kind = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("person", "Person"), ("org", "Organisation")]
    )
    q = forms.CharField(required=False, max_length=5, help_text="A name.")
    since = forms.DateField(required=False, show_hidden_initial=True)


def _filters(data: dict[str, str], validated: bool = True) -> _Filters:
    form = _Filters(data)
    if validated:
        form.is_valid()
    return form


def test_a_validated_bound_field_without_errors_is_kept_by_its_value(widget_renders: _Renders) -> None:
    # when: the same filters twice, then another value
    first = render_widget(_filters({"kind": "person", "q": "a<b"})["kind"])
    again = render_widget(_filters({"kind": "person", "q": "zz"})["kind"])
    other = render_widget(_filters({"kind": "org"})["kind"])
    typed = [render_widget(_filters({"q": q})["q"]) for q in ("a<b", "a<b", "c")]

    # then: one rendering per value, each what Django renders for that field
    assert widget_renders.count == 4  # kind=person, kind=org, q=a<b, q=c
    assert first == again == str(_filters({"kind": "person"})["kind"])
    assert '<option value="person" selected>' in first
    assert '<option value="org" selected>' in other
    assert typed[0] == typed[1] == str(_filters({"q": "a<b"})["q"])
    assert 'value="a&lt;b"' in typed[0]
    assert 'value="c"' in typed[2]


def test_a_bound_field_with_errors_or_a_hidden_initial_value_is_rendered_each_time(
    widget_renders: _Renders,
) -> None:
    # A value that is not a choice, or too long: the field has errors.
    bad = [render_widget(_filters({"kind": "nope", "q": "toolong"})[name]) for name in ("kind", "q")] * 2
    assert widget_renders.count == 2
    bad = [render_widget(_filters({"kind": "nope", "q": "toolong"})[name]) for name in ("kind", "q")]
    assert widget_renders.count == 4
    assert 'aria-invalid="true"' in bad[1]
    assert "selected" not in bad[0].replace('value="" selected', "")
    # Not validated yet: validated as Django's rendering does, and kept only without errors.
    assert render_widget(_filters({"kind": "nope"}, validated=False)["kind"]) == bad[0]
    assert widget_renders.count == 5
    kept = [render_widget(_filters({"kind": "person"}, validated=v)["kind"]) for v in (False, True)]
    assert widget_renders.count == 6
    assert kept[0] == kept[1] == str(_filters({"kind": "person"})["kind"])
    # A hidden initial value comes from the request: rendered each time.
    dated = [
        render_widget(_filters({"since": "2026-01-02", "initial-since": v})["since"]) for v in ("x", "y")
    ]
    assert 'value="x"' in dated[0]
    assert 'value="y"' in dated[1]


class _KindFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=[("person", "Person"), ("org", "Organisation")])


def test_a_filtersets_field_is_kept_across_its_instances(widget_renders: _Renders) -> None:
    # django-filter makes a new form class for each FilterSet instance: three requests'
    # filters, two of them with the same value.
    shown = []
    for value in ("person", "person", "org"):
        form = _KindFilter({"kind": value}, queryset=User.objects.none()).form
        form.is_valid()
        shown.append((render_widget(form["kind"]), str(form["kind"])))

    assert widget_renders.count == 2 + 3  # kept twice; Django's own str() three times
    assert [kept for kept, _ in shown] == [own for _, own in shown]
    assert '<option value="org" selected>' in shown[2][0]


def test_the_widget_and_the_whole_field_are_kept_apart() -> None:
    form = _Logged(prefix="one")
    assert render_widget(form["source"]) == str(form["source"])
    assert render_field(form["source"]) == _own(form["source"])
    assert render_widget(form["source"]) != render_field(form["source"])
