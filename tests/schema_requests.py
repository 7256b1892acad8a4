"""Requests built from the OpenAPI document alone, as a client generated from it would
build them: a body of the required properties only, and one of every property, each
value chosen from what the schema says of it (its enum, format, pattern, bounds,
example), one body per branch of a `oneOf`. Ids come from `ids`, by property name:
a generated client would take them from rows it read before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

# Strings tried, in order, against a `pattern` that has no example.
PATTERN_CANDIDATES = ["EUR", "2026-01", "SKU-1", "a", "1"]


class Document:
    def __init__(self, document: Mapping[str, Any], ids: Mapping[str, Any], serial: int = 0) -> None:
        self.document = document
        self.ids = ids
        # Distinct text per request, as a client's real data would be (names, e-mails and
        # numbers that must be unique are not refused as taken).
        self.serial = serial
        self.clock = 0  # each date or time in a body later than the one before (start, end)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged.update(self.resolve(part))
            return merged
        return schema

    def bodies(self, schema: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """(name, body): minimal and full, per branch of a top-level oneOf."""
        schema = self.resolve(schema)
        branches = schema.get("oneOf") or [schema]
        found = []
        for n, branch in enumerate(branches):
            label = f"branch {n}" if len(branches) > 1 else "body"
            for full in (False, True):
                body = self.branch_value(schema, branch, full=full)
                found.append((f"{label}, {'every property' if full else 'required only'}", body))
        return found

    def branch_value(self, parent: Mapping[str, Any], branch: Mapping[str, Any], *, full: bool) -> Any:
        """A body of one `oneOf` branch, its discriminator set to the branch's value."""
        body = self.value(branch, "", full=full)
        discriminator = parent.get("discriminator")
        if discriminator and "$ref" in branch:
            (tag,) = [k for k, ref in discriminator.get("mapping", {}).items() if ref == branch["$ref"]]
            body[discriminator["propertyName"]] = tag
        return body

    def value(self, schema: Mapping[str, Any], name: str, *, full: bool) -> Any:
        schema = self.resolve(schema)
        if "oneOf" in schema:
            return self.branch_value(schema, schema["oneOf"][0], full=full)
        if schema.get("format") == "email":
            return f"client{self.serial}@example.com"
        if "example" in schema and schema.get("pattern", "").startswith(r"^\+?"):
            return f"+44 20 7946 {self.serial % 10000:04d}"  # a phone number of its own
        if "example" in schema:
            distinct = f"{schema['example']}-{self.serial}"  # unique, where the pattern allows
            if isinstance(schema["example"], str) and re.search(schema.get("pattern", "^$"), distinct):
                return distinct
            return schema["example"]
        if "enum" in schema:
            return next(v for v in schema["enum"] if v not in ("", None))
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if name in self.ids and kind in ("integer", "string"):
            return self.ids[name]
        if kind == "object":
            properties = schema.get("properties", {})
            required = set(schema.get("required", []))
            return {
                key: self.value(prop, key, full=full)
                for key, prop in properties.items()
                if (key in required or (full and not self.unknown_row(prop, key)))
                and not self.resolve(prop).get("readOnly")
            }
        if kind == "array":
            count = max(schema.get("minItems", 0), 1 if full else 0)
            return [self.value(schema.get("items", {}), name, full=full) for _ in range(count)]
        if kind == "boolean":
            return schema.get("default", False)
        if kind == "integer":
            if schema.get("nullable") and name not in self.ids:
                return None
            return max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema["maximum"]
        if kind == "number":
            return schema.get("minimum", 1)
        return self.string(schema)

    def unknown_row(self, schema: Mapping[str, Any], name: str) -> bool:
        """An optional reference to a kind of row the client has none of: left out."""
        schema = self.resolve(schema)
        return schema.get("type") == "integer" and schema.get("format") == "int64" and name not in self.ids

    def string(self, schema: Mapping[str, Any]) -> str:
        self.clock += 1
        today = dt.date.today() + dt.timedelta(days=self.clock)  # noqa: DTZ011 - a client's date
        # Times in the past (what happened), each later than the one before (start, end).
        now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=100 - self.clock)
        formats = {
            "date": today.isoformat(),
            "date-time": now.isoformat(),
            "email": "ada@example.com",
            "uri": "https://example.com/",
            "decimal": "1",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }
        if schema.get("format") in formats:
            return formats[schema["format"]]
        if "pattern" in schema:
            for candidate in PATTERN_CANDIDATES:
                if re.search(schema["pattern"], candidate):
                    return candidate
        low, high = schema.get("minLength", 1), schema.get("maxLength", 30)
        text = f"Example {self.serial}"
        return (text * (low // len(text) + 1))[: max(low, min(high, len(text)))]
