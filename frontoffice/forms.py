"""The base of every page form whose writes go through a service.

Forms parse what a person typed and hand it to a service, which owns every rule; what
the service refuses comes back keyed like the API's errors (`last_name`,
`attributes.industry`, `contact_points.0.value`) and lands next to the field the person
can fix. `submit()` is the one place a page turns a service's refusal into form errors.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from frontoffice.dates import EARLIEST_DATE, LATEST_DATE, date_problem
from frontoffice.errors import DomainError, StaleVersion
from frontoffice.idempotency import once

T = TypeVar("T")
ATTRIBUTE_FIELD_PREFIX = "attr_"
FORM_TOKEN = "form_token"  # noqa: S105 - a field name, not a secret
STALE_MESSAGE = "Someone else changed this while you were looking; reload the page and make your change again (nothing was saved)."


class DateField(forms.DateField):
    """A date in the business range (`frontoffice.dates`); the picker offers only those."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.widget.attrs.setdefault("min", EARLIEST_DATE.isoformat())
        self.widget.attrs.setdefault("max", LATEST_DATE.isoformat())

    def validate(self, value: object) -> None:
        super().validate(value)
        problem = date_problem(value) if isinstance(value, dt.date) else None
        if problem:
            raise ValidationError(problem, code="out_of_range")


class DateTimeField(forms.DateTimeField):
    """A moment on a date in the business range (`frontoffice.dates`)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.widget.attrs.setdefault("min", f"{EARLIEST_DATE.isoformat()}T00:00")
        self.widget.attrs.setdefault("max", f"{LATEST_DATE.isoformat()}T23:59")

    def validate(self, value: object) -> None:
        super().validate(value)
        problem = date_problem(value) if isinstance(value, dt.date) else None
        if problem:
            raise ValidationError(problem, code="out_of_range")


class ServiceForm(forms.Form):
    """A form whose writes go through a service; service errors land on its fields.

    Browsers' own validation is off (`use_required_attribute`), so every error is
    reported the same accessible way: next to its field and in the summary.
    """

    use_required_attribute = False
    # Service error keys that are not form field names, mapped to the field to blame.
    error_aliases: Mapping[str, str] = {}
    # A hidden one-time token (`frontoffice.idempotency.once`): a form whose write creates
    # something sets this, so that a double click creates one record, not two. The
    # token never reaches `cleaned_data` (services get only their own fields).
    one_time: bool = False
    form_token: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.one_time:
            self.fields[FORM_TOKEN] = forms.CharField(
                widget=forms.HiddenInput, required=False, max_length=64, initial=uuid.uuid4().hex
            )

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # django-stubs omit Form._post_clean
        if self.one_time:
            self.form_token = self.cleaned_data.pop(FORM_TOKEN, "") or ""

    def field_for_error(self, key: str) -> str | None:
        if key in self.fields:
            return key
        if key in self.error_aliases:
            return self.error_aliases[key]
        if key.startswith("attributes."):
            name = ATTRIBUTE_FIELD_PREFIX + key.removeprefix("attributes.")
            return name if name in self.fields else None
        return None

    def apply_errors(self, error: ValidationError | Mapping[str, list[str]]) -> None:
        """Attach a service's ValidationError (or a DomainError's `errors`) to fields."""
        messages: Mapping[str, list[str]]
        if isinstance(error, ValidationError):
            if not hasattr(error, "error_dict"):
                for message in error.messages:
                    self.add_error(None, message)
                return
            messages = error.message_dict
        else:
            messages = error
        for key, texts in messages.items():
            field = self.field_for_error(key)
            for text in texts:
                if field is None:
                    label = "" if key in ("__all__", "non_field_errors") else f"{key}: "
                    self.add_error(None, f"{label}{text}")
                else:
                    self.add_error(field, text)

    @property
    def error_summary(self) -> list[dict[str, str]]:
        """Every error with the id of its field, for the summary at the top."""
        items = [{"id": "", "label": "", "message": str(m)} for m in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == NON_FIELD_ERRORS:
                continue
            bound = self[name]
            items.extend(
                {"id": bound.auto_id or "", "label": str(bound.label), "message": str(message)}
                for message in errors
            )
        return items

    stale: bool = False

    def submit(self, call: Callable[[], T], *, once_for: Any = None) -> T | None:
        """Run a service call; its refusal becomes form errors and None.

        A stale version (someone saved first) sets `stale` (pages answer 412 and offer
        a reload); a business rule's refusal shows its message and field errors; a
        ValidationError lands on the fields it names. With `once_for` (the user) and a
        one-time form, a second post of the same form returns what the first wrote.
        """
        try:
            if once_for is not None and self.form_token:
                return once(user=once_for, token=self.form_token, call=call)
            return call()
        except StaleVersion:
            self.stale = True
            self.add_error(None, STALE_MESSAGE)
        except ValidationError as exc:
            self.apply_errors(exc)
        except DomainError as exc:
            self.add_error(None, exc.detail)
            self.apply_errors(exc.errors)
        return None
