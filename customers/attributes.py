"""Validation of custom attributes against the admin-defined field definitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from customers.choices import AppliesTo, FieldType
from customers.models import CustomFieldDefinition

MAX_TEXT = 1000


def _coerce(definition: CustomFieldDefinition, value: Any) -> Any:
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, str):
            raise ValidationError("Expected text.")
        if len(value) > MAX_TEXT:
            raise ValidationError(f"At most {MAX_TEXT} characters.")
        if "\x00" in value:
            raise ValidationError("Null characters are not allowed.")
        return value
    if kind == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError("Expected a number.")
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ValidationError("Expected a number.") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise ValidationError("Expected a finite number below 10^15.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == FieldType.DATE:
        if not isinstance(value, str):
            raise ValidationError("Expected a date as YYYY-MM-DD.")
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValidationError("Expected a date as YYYY-MM-DD.") from None
    if kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError("Expected true or false.")
        return value
    if kind == FieldType.CHOICE:
        if value not in definition.choices:
            allowed = ", ".join(str(c) for c in definition.choices)
            raise ValidationError(f"Choose one of: {allowed}.")
        return value
    raise ValidationError("Unknown field type.")  # pragma: no cover - guarded by a DB check


def validate_attributes(
    *, kind: str, values: Any, definitions: list[CustomFieldDefinition] | None = None
) -> dict[str, Any]:
    """Return the cleaned attributes, or raise one ValidationError keyed by
    `attributes.<key>` for every bad value, unknown key or missing required one."""
    if not isinstance(values, dict):
        raise ValidationError({"attributes": ["Expected an object of custom attributes."]})
    if definitions is None:
        definitions = list(CustomFieldDefinition.objects.all())
    applicable = {d.key: d for d in definitions if d.applies_to in (AppliesTo.ANY, kind)}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = applicable.get(key)
        if definition is None:
            errors[f"attributes.{str(key)[:60]}"] = ["Unknown custom attribute."]
            continue
        if value is None or value == "":
            continue
        try:
            cleaned[key] = _coerce(definition, value)
        except ValidationError as exc:
            errors[f"attributes.{key}"] = exc.messages
    for key, definition in applicable.items():
        if definition.required and key not in cleaned and f"attributes.{key}" not in errors:
            errors[f"attributes.{key}"] = ["This custom attribute is required."]
    if errors:
        raise ValidationError(errors)
    return cleaned
