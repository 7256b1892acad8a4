"""The OpenAPI schema class (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"])."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.core.validators import MaxLengthValidator, MinLengthValidator
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_choice_field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer
from rest_framework.fields import CharField, ChoiceField, Field
from rest_framework.serializers import Serializer

from frontoffice.errors import PROBLEM_CONTENT_TYPE
from frontoffice.serializers import ProblemSerializer

# The optimistic-locking headers of every versioned record (frontoffice.api.etag_for,
# expected_version), for `extend_schema(parameters=[...])`.
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The record's version; send it back as If-Match to change it.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag you read (`*`: whatever the current version). Missing: 428; an old one: 412 and nothing is written.",
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional: act only if the record is still at this version (412 otherwise).",
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional, 1 to 200 visible ASCII characters (a UUID): retrying with the same key and "
    "body answers the first response again (header Idempotent-Replayed: true) instead of writing twice; "
    "the same key with another body: 422. Keys are kept IDEMPOTENCY_KEY_TTL_HOURS (24 h).",
)


class TokenScheme(KnoxTokenScheme):
    """Our knox subclass documents like knox: `Authorization: Token <token>`."""

    target_class = "frontoffice.authentication.TokenAuthentication"
    name = "tokenAuth"


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error responses every endpoint can give, so
    that clients (and schemathesis) know the problem+json shape and status codes."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        codes = {
            "401": "Not authenticated.",
            "403": "Not allowed.",
            # DRF negotiates the response type before anything else; the API answers JSON.
            "406": "The Accept header names no type the API answers in (application/json).",
        }
        has_id = "{" in self.path
        if self.method in ("POST", "PUT", "PATCH") or (self.method == "GET" and not has_id):
            codes["400"] = "Invalid input; `errors` holds messages per field."
        if self.method in ("POST", "PUT", "PATCH"):
            codes["413"] = "The request body is too large."
            codes["415"] = "The request body is not JSON."
        if self.method in ("GET", "POST") and has_id:
            codes["400"] = "Invalid input; `errors` holds messages per field."
        if has_id:
            codes["404"] = "No such record."
        if self.method in ("PUT", "PATCH", "DELETE"):
            codes["412"] = "If-Match names an old version: reload and apply the change again."
        if self.method in ("PUT", "PATCH"):
            codes["428"] = "If-Match is missing."
        if self.method in ("POST", "DELETE", "PUT", "PATCH"):
            codes["409"] = "The change conflicts with the current state."
        if has_id and getattr(self.view, "redirects_merged", False):
            code = "301" if self.method == "GET" else "308"
            responses.setdefault(code, self._moved_response())
        if self._idempotent():
            codes["422"] = "The Idempotency-Key was used for another request (method, path or body)."
        for code, description in codes.items():
            responses.setdefault(code, self._problem_response(code, description, direction))
        return responses

    def _idempotent(self) -> bool:
        """A POST (create or action) of a ServiceViewSet (`frontoffice.idempotency`)."""
        return self.method == "POST" and getattr(self.view, "service_actions", None) is not None

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._idempotent():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _problem_response(self, code: str, description: str, direction: Any) -> dict[str, Any]:
        component = self.resolve_serializer(ProblemSerializer, direction)
        return {
            "description": description,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": component.ref}},
        }

    def _moved_response(self) -> dict[str, Any]:
        component = self.resolve_serializer(ProblemSerializer, "response")
        return {
            "description": "This record was merged into another; Location is the same request on the survivor.",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "The survivor's URL."}},
            "content": {PROBLEM_CONTENT_TYPE: {"schema": component.ref}},
        }


class OneObjectSchema(AutoSchema):
    """For a viewset whose `list` answers one object (a report), not a list."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


@dataclass(frozen=True)
class Variant:
    """One shape of a body whose rules depend on a field (a person, an organisation):
    the fields it requires and the ones it must not have."""

    required: Sequence[str] = ()
    excluded: Sequence[str] = ()
    # Fields this variant describes more closely (an e-mail address where the body
    # takes any text), by name; they are required.
    fields: Mapping[str, Field[Any, Any, Any, Any]] = dataclass_field(default_factory=dict)


def variants_of(
    serializer: type[Serializer[Any]],
    *,
    name: str,
    variants: Mapping[str, Variant],
    discriminator: str | None = None,
    many: bool = False,
) -> PolymorphicProxySerializer:
    """The OpenAPI schema of a body `serializer` validates, as a `oneOf` of its variants
    (with a discriminator when `discriminator` names the field that picks the variant),
    for `extend_schema(request=...)`. Schema only: `serializer` and the services still
    validate the body; each variant is `serializer` with its required fields required
    (and not blank) and its excluded ones left out."""
    branches: dict[str, Serializer[Any] | type[Serializer[Any]]] = {}
    for value, variant in variants.items():
        fields: dict[str, Any] = dict.fromkeys(variant.excluded)
        for field_name in [*variant.required, *variant.fields]:
            # DRF keeps each field's arguments (`_args`, `_kwargs`) to copy it so.
            declared: Any = variant.fields.get(field_name) or serializer._declared_fields[field_name]
            kwargs = {**declared._kwargs, "required": True}
            if isinstance(declared, CharField):
                kwargs.update(
                    allow_blank=False, allow_null=False, min_length=max(kwargs.get("min_length") or 1, 1)
                )
            fields[field_name] = type(declared)(*declared._args, **kwargs)
        label = "".join(part.title() for part in value.split("_"))
        doc = f"{name} when {discriminator} is {value!r}." if discriminator else f"{name}: {label.lower()}."
        branches[value] = type(f"{name}{label}Serializer", (serializer,), {**fields, "__doc__": doc})
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=branches if discriminator else list(branches.values()),
        resource_type_field_name=discriminator,
        many=many,
    )


class BoundedListExtension(OpenApiSerializerFieldExtension):
    """A nested `Serializer(many=True)` states its bounds (`min_length`/`max_length`, or
    length validators) as minItems/maxItems, as drf-spectacular does for a ListField."""

    target_class = "rest_framework.serializers.ListSerializer"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        component = auto_schema.resolve_serializer(field.child, direction)
        low, high = field.min_length, field.max_length
        for validator in field.validators:
            if isinstance(validator, MinLengthValidator):
                low = max(low or 0, validator.limit_value)
            elif isinstance(validator, MaxLengthValidator):
                high = min(high or validator.limit_value, validator.limit_value)
        # A child with no field in this direction (all read-only in a request) has no
        # component: its items are then objects of no declared shape.
        items = component.ref if component else {"type": "object"}
        schema: dict[str, Any] = {"type": "array", "items": items}
        if low:
            schema["minItems"] = low
        if high is not None:
            schema["maxItems"] = high
        return schema


class ChoiceTextExtension(OpenApiSerializerFieldExtension):
    """`ChoiceTextField`: a string with an enum of its choices."""

    target_class = "frontoffice.serializers.ChoiceTextField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        # As drf-spectacular maps a ChoiceField, so that its enum gets the same name.
        return build_choice_field(ChoiceField(choices=self.target.choices))
