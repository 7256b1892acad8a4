"""The service-backed API viewset: a resource's REST API in a few declarative lines.

Reads come from `get_queryset()` (a selector); every write goes through a service
function, never through a serializer's `save()`. A resource declares what it reads,
what it accepts and which service does each write:

    class LeadViewSet(ServiceViewSet):
        serializer_class = LeadSerializer                 # what clients read
        create_input = LeadWriteSerializer                # POST body (StrictSerializer)
        update_input = LeadUpdateSerializer               # PUT/PATCH body
        create_service = staticmethod(services.lead_create)
        update_service = staticmethod(services.lead_update)
        lookup_arg = "lead_id"                            # how services name the row

        qualify = service_action(services.lead_qualify)
        disqualify = service_action(services.lead_disqualify, input=ReasonSerializer)

Updates need If-Match (428 without, 412 when stale; `*` is "whatever the current
version", RFC 9110); actions check it when it is sent (`if_match="required"` makes it
mandatory). Every answer about one record carries its ETag; a create answers 201 with
Location. The OpenAPI schema of each of these is generated from the same declarations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.db.models import Model
from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from frontoffice.api import ActionPermissions, etag_for, expected_version
from frontoffice.errors import PROBLEM_CONTENT_TYPE
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import ProblemSerializer, StrictSerializer

STALE = OpenApiResponse(ProblemSerializer, description="If-Match names an old version: reload and retry.")
PRECONDITION_REQUIRED = OpenApiResponse(
    ProblemSerializer, description="Send If-Match with the ETag you read."
)


class EmptyInput(StrictSerializer):
    """An action that takes no body (an empty object, or none at all)."""


def version_from(request: Request, current: int, *, required: bool) -> int | None:
    """The version the client read (If-Match), or None when an optional one is absent."""
    if not required and "If-Match" not in request.headers:
        return None
    return expected_version(request, current=current)


def plain_data(value: Any) -> Any:
    """Validated data as plain dicts and lists (nested serializers give OrderedDicts)."""
    if isinstance(value, Mapping):
        return {key: plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_data(item) for item in value]
    return value


class ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve from the queryset; create, update and actions through services.

    Declare `create_input` + `create_service` to offer POST, `update_input` +
    `update_service` to offer PUT/PATCH; leave them out for a read-only resource.
    """

    permission_classes = [ActionPermissions]
    lookup_value_regex = r"[0-9]{1,18}"
    # The keyword under which services take the row's id ("lead_id", "quote_id").
    lookup_arg: ClassVar[str] = "pk"
    create_input: ClassVar[type[StrictSerializer] | None] = None
    update_input: ClassVar[type[StrictSerializer] | None] = None
    create_service: ClassVar[Callable[..., Model] | None] = None
    update_service: ClassVar[Callable[..., Model] | None] = None
    # Each record's ETag (models with a `version`); off for unversioned ones.
    versioned: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _document_actions(cls)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return self.serializer_class  # type: ignore[return-value]

    # --- answers ---------------------------------------------------------------------

    def record_response(self, instance: Model, code: int = status.HTTP_200_OK) -> Response:
        """The record as clients read it (re-read through the queryset, so that what a
        write answers is what a GET would), with its ETag."""
        fresh = self.reread(instance)
        response = Response(self.get_serializer(fresh).data, status=code)
        if self.versioned:
            response["ETag"] = etag_for(fresh.version)
        if code == status.HTTP_201_CREATED:
            with contextlib.suppress(NoReverseMatch):  # a resource without a detail route
                response["Location"] = reverse(f"{self.basename}-detail", args=[fresh.pk])
        return response

    def reread(self, instance: Model) -> Any:
        return self.get_queryset().get(pk=instance.pk)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.record_response(self.get_object())

    # --- writes ------------------------------------------------------------------------

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validated input -> the service's keyword arguments (override to rename)."""
        return data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if self.create_input is None or self.create_service is None:
            return self.http_method_not_allowed(request, *args, **kwargs)
        data = plain_data(self.create_input.validated(request.data))
        instance = type(self).create_service(actor=request.user, **self.service_arguments(data))  # type: ignore[misc]
        return self.record_response(instance, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if self.update_input is None or self.update_service is None:
            return self.http_method_not_allowed(request, *args, **kwargs)
        instance = self.get_object()
        version = expected_version(request, current=instance.version)
        data = plain_data(self.update_input.validated(request.data, partial=kwargs.pop("partial", False)))
        instance = type(self).update_service(  # type: ignore[misc]
            actor=request.user,
            **{self.lookup_arg: instance.pk},
            expected_version=version,
            **self.service_arguments(data),
        )
        return self.record_response(instance)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)


class _ServiceAction:
    """What `service_action` returns: when the class is built it becomes a DRF action
    named after its attribute (DRF takes the URL from the function's name)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def __set_name__(self, owner: type, name: str) -> None:
        spec = self.spec
        service, input_, required, created = spec["service"], spec["input"], spec["required"], spec["created"]
        arguments = spec["arguments"]

        def handler(self: ServiceViewSet, request: Request, pk: str | None = None) -> Response:
            instance = self.get_object()
            version = version_from(request, instance.version, required=required)
            data = plain_data(input_.validated(request.data if request.data else {}))
            if arguments is not None:
                data = arguments(data)
            result = service(
                actor=request.user, **{self.lookup_arg: instance.pk}, expected_version=version, **data
            )
            code = status.HTTP_201_CREATED if created and result.pk != instance.pk else status.HTTP_200_OK
            return self.record_response(result, code)

        handler.__name__ = handler.__qualname__ = name
        handler.__doc__ = spec["summary"] or (service.__doc__ or "").strip().split("\n")[0]
        handler._service_action = spec  # type: ignore[attr-defined]
        setattr(owner, name, action(detail=True, methods=["post"], url_path=spec["url_path"])(handler))


def service_action(
    service: Callable[..., Model],
    *,
    input: type[StrictSerializer] = EmptyInput,
    if_match: str = "optional",
    created: bool = False,
    summary: str = "",
    description: str = "",
    url_path: str | None = None,
    arguments: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Any:
    """A POST action on one record: validate `input`, call `service(actor=..., <lookup_arg>=
    id, expected_version=..., **data)`, answer the record it returns (201 when `created`
    and the service made a new one, e.g. a revision).

    `if_match`: "optional" (checked when sent) or "required" (428 without)."""
    if if_match not in ("optional", "required"):
        raise ValueError("if_match is 'optional' or 'required'")
    return _ServiceAction(
        {
            "service": service,
            "input": input,
            "required": if_match == "required",
            "created": created,
            "summary": summary,
            "description": description,
            "url_path": url_path,
            "arguments": arguments,
        }
    )


def _document_actions(viewset: type[ServiceViewSet]) -> None:
    """Each `service_action`'s OpenAPI: its input, the viewset's record as the answer,
    and the precondition problems its If-Match can give."""
    for name in dir(viewset):
        handler = getattr(viewset, name, None)
        spec = getattr(handler, "_service_action", None)
        if spec is None or getattr(handler, "_documented_for", None) is viewset:
            continue
        responses: dict[Any, Any] = {
            (201 if spec["created"] else 200): viewset.serializer_class,
            (412, PROBLEM_CONTENT_TYPE): STALE,
        }
        if spec["created"]:
            responses[200] = viewset.serializer_class
        if spec["required"]:
            responses[(428, PROBLEM_CONTENT_TYPE)] = PRECONDITION_REQUIRED
        extend_schema(
            request=None if spec["input"] is EmptyInput else spec["input"],
            responses=responses,
            parameters=[IF_MATCH if spec["required"] else IF_MATCH_OPTIONAL, ETAG],
            summary=spec["summary"] or None,
            description=spec["description"] or None,
        )(handler)
        handler._documented_for = viewset
