"""Serializer building blocks shared by every app's API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class TextField(serializers.CharField):
    """A CharField that keeps surrounding spaces to the service (which trims) and
    refuses null characters (DRF does) and lone surrogates (PostgreSQL would 500)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise serializers.ValidationError("Text must be valid Unicode.") from None
        return value


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields instead of silently ignoring them, and validates a body
    in one call: `data = MySerializer.validated(request.data)`."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k)[:60] for k in data if k not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)

    @classmethod
    def validated(cls, data: Any, *, partial: bool = False) -> dict[str, Any]:
        serializer = cls(data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
