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

Creates and actions accept `Idempotency-Key` (`frontoffice.idempotency`): a retry with
the same key and body gets the first answer, never a second record. Updates need
If-Match (428 without, 412 when stale; `*` is "whatever the current
version", RFC 9110, and reaches the service as `expected_version=None`: not checked);
actions check it when it is sent (`if_match="required"` makes it mandatory). Every
answer about one record carries its ETag; a create answers 201 with Location. The
OpenAPI schema of each of these is generated from the same declarations. A resource
over a model without a `version` says `versioned = False`: no ETag, no If-Match, and
its services get no `expected_version`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast

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
from frontoffice.idempotency import idempotent_response
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import ProblemSerializer, StrictSerializer
from frontoffice.write_path import Versioned

M = TypeVar("M", bound=Model)

STALE = OpenApiResponse(ProblemSerializer, description="If-Match names an old version: reload and retry.")
PRECONDITION_REQUIRED = OpenApiResponse(
    ProblemSerializer, description="Send If-Match with the ETag you read."
)
# The viewset actions that exist only when the resource declares their input and service.
WRITE_ACTIONS = {"create": "create", "update": "update", "partial_update": "update"}


class EmptyInput(StrictSerializer):
    """An action that takes no body (an empty object, or none at all)."""


def version_from(request: Request, current: int, *, required: bool) -> int | None:
    """The version the client read (If-Match) for a service's `expected_version`; None
    when an optional one is absent or is `*` (not checked)."""
    if not required and "If-Match" not in request.headers:
        return None
    return expected_version(request, current=current)


def action_body(request: Request) -> Any:
    """An action's body: `{}` when the request has none; otherwise what it holds, so that
    `[]`, `null` or `0` reach the input serializer (and are refused) instead of passing
    as "no body"."""
    if request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        return {}
    return request.data


def plain_data(value: Any) -> Any:
    """Validated data as plain dicts and lists (nested serializers give OrderedDicts)."""
    if isinstance(value, Mapping):
        return {key: plain_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_data(item) for item in value]
    return value


@dataclass(frozen=True)
class ActionSpec:
    """What `service_action(...)` declares."""

    service: Callable[..., Model]
    input: type[StrictSerializer]
    required: bool
    created: bool
    summary: str
    description: str
    url_path: str | None
    arguments: Callable[[dict[str, Any]], dict[str, Any]] | None


class ServiceViewSet(
    DeclaredQueryParameters,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[M],
    Generic[M],
):
    """List and retrieve from the queryset; create, update and actions through services.

    Declare `create_input` + `create_service` to offer POST, `update_input` +
    `update_service` to offer PUT/PATCH; leave them out for a read-only resource (the
    router then routes no such method: 405, and the schema does not list it).
    """

    permission_classes = [ActionPermissions]
    lookup_value_regex = r"[0-9]{1,18}"
    # The keyword under which services take the row's id ("lead_id", "quote_id").
    lookup_arg: ClassVar[str] = "pk"
    create_input: ClassVar[type[StrictSerializer] | None] = None
    update_input: ClassVar[type[StrictSerializer] | None] = None
    create_service: ClassVar[Callable[..., Model] | None] = None
    update_service: ClassVar[Callable[..., Model] | None] = None
    # What one record answers (retrieve, writes, actions) when it shows more than a list row.
    detail_serializer_class: ClassVar[type[BaseSerializer[Any]] | None] = None
    # Each record's ETag and If-Match on its writes (models with a `version`).
    versioned: ClassVar[bool] = True
    # Filled by `service_action` (name -> declaration), inherited by subclasses.
    service_actions: ClassVar[Mapping[str, ActionSpec]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        # An inherited action this class redefines (a method, None) is no longer one.
        cls.service_actions = {
            name: spec
            for name, spec in cls.service_actions.items()
            if name not in own or isinstance(own[name], ServiceAction)
        }
        for name, spec in cls.service_actions.items():
            # A handler of its own per class: its schema names this class's serializer.
            setattr(cls, name, _action_handler(cls, name, spec))
        for name, attr in list(own.items()):
            # A POST action written out (not a service_action) takes Idempotency-Key too.
            mapping = getattr(attr, "mapping", None)
            if mapping is not None and "post" in mapping and name not in cls.service_actions:
                setattr(cls, name, _idempotent_action(attr))

    @classmethod
    def as_view(cls, actions: dict[str, Any] | None = None, **initkwargs: Any) -> Any:
        """Route only the writes the resource declares (the router maps POST, PUT and
        PATCH to every viewset that has create/update methods, and this class has them)."""
        if actions is not None:
            actions = {method: name for method, name in actions.items() if cls.offers(name)}
        return super().as_view(actions, **initkwargs)

    @classmethod
    def offers(cls, action_name: str) -> bool:
        kind = WRITE_ACTIONS.get(action_name)
        if kind == "create":
            return cls.create_input is not None and cls.create_service is not None
        if kind == "update":
            return cls.update_input is not None and cls.update_service is not None
        return True

    # --- answers ---------------------------------------------------------------------

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.detail_serializer_class is not None and self.action != "list":
            return self.detail_serializer_class
        return super().get_serializer_class()

    def version_of(self, instance: Model) -> int:
        # A versioned resource's model has a `version` field (see `versioned`).
        return cast(Versioned, instance).version

    def record_response(
        self, instance: Model, code: int = status.HTTP_200_OK, *, reread: bool = True
    ) -> Response:
        """The record as clients read it (after a write, re-read through the queryset,
        so that what a write answers is what a GET would), with its ETag."""
        fresh = self.reread(instance) if reread else instance
        response = Response(self.get_serializer(fresh).data, status=code)
        if self.versioned:
            response["ETag"] = etag_for(self.version_of(fresh))
        if code == status.HTTP_201_CREATED:
            with contextlib.suppress(NoReverseMatch):  # a resource without a detail route
                response["Location"] = reverse(f"{self.basename}-detail", args=[fresh.pk])
        return response

    def reread(self, instance: Model) -> Model:
        """The written row through the queryset (its annotations and related rows); the
        row as the service returned it when the queryset does not show it (any more)."""
        return self.get_queryset().filter(pk=instance.pk).first() or instance

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.record_response(self.get_object(), reread=False)

    # --- writes ------------------------------------------------------------------------

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validated input -> the service's keyword arguments (override to rename)."""
        return data

    def version_arguments(self, instance: Model, *, required: bool) -> dict[str, int | None]:
        """`expected_version` for a versioned resource's services (428/412 from
        If-Match here); nothing for an unversioned one."""
        if not self.versioned:
            return {}
        return {"expected_version": version_from(self.request, self.version_of(instance), required=required)}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        service = type(self).create_service
        create_input = self.create_input
        if create_input is None or service is None:
            return self.http_method_not_allowed(request, *args, **kwargs)

        def run() -> Response:
            data = plain_data(create_input.validated(request.data))
            instance = service(actor=request.user, **self.service_arguments(data))
            return self.record_response(instance, status.HTTP_201_CREATED)

        return idempotent_response(request, run)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        service = type(self).update_service
        if self.update_input is None or service is None:
            return self.http_method_not_allowed(request, *args, **kwargs)
        instance = self.get_object()
        versions = self.version_arguments(instance, required=True)
        data = plain_data(self.update_input.validated(request.data, partial=kwargs.pop("partial", False)))
        written = service(
            actor=request.user, **{self.lookup_arg: instance.pk}, **versions, **self.service_arguments(data)
        )
        return self.record_response(written)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)


def _idempotent_action(method: Callable[..., Response]) -> Callable[..., Response]:
    if getattr(method, "idempotent", False):
        return method

    @functools.wraps(method)  # keeps DRF's action attributes and the schema
    def handler(self: ServiceViewSet[Any], request: Request, *args: Any, **kwargs: Any) -> Response:
        return idempotent_response(request, lambda: method(self, request, *args, **kwargs))

    handler.idempotent = True  # type: ignore[attr-defined]
    return handler


class ServiceAction:
    """What `service_action` returns: when the class is built, its declaration is
    recorded on the viewset, which turns it into a DRF action named after the attribute
    (DRF takes the URL from the function's name)."""

    def __init__(self, spec: ActionSpec) -> None:
        self.spec = spec

    def __set_name__(self, owner: type, name: str) -> None:
        if not issubclass(owner, ServiceViewSet):
            raise TypeError(f"service_action {name!r} is declared on {owner.__name__}, not a ServiceViewSet.")
        owner.service_actions = {**owner.service_actions, name: self.spec}


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
) -> ServiceAction:
    """A POST action on one record: validate `input`, call `service(actor=..., <lookup_arg>=
    id, expected_version=..., **data)`, answer the record it returns (201 when `created`
    and the service made a new one, e.g. a revision).

    `if_match`: "optional" (checked when sent) or "required" (428 without); `*` passes
    `expected_version=None`. An unversioned viewset passes no `expected_version`."""
    if if_match not in ("optional", "required"):
        raise ValueError("if_match is 'optional' or 'required'")
    return ServiceAction(
        ActionSpec(
            service=service,
            input=input,
            required=if_match == "required",
            created=created,
            summary=summary,
            description=description,
            url_path=url_path,
            arguments=arguments,
        )
    )


def _action_handler(
    viewset: type[ServiceViewSet[Any]], name: str, spec: ActionSpec
) -> Callable[..., Response]:
    """The DRF action for one `service_action` of `viewset`, with its OpenAPI: its
    input, the viewset's record as the answer, and (versioned) the If-Match problems."""

    def handler(self: ServiceViewSet[Any], request: Request, pk: str | None = None) -> Response:
        def run() -> Response:
            instance = self.get_object()
            versions = self.version_arguments(instance, required=spec.required)
            data = plain_data(spec.input.validated(action_body(request)))
            if spec.arguments is not None:
                data = spec.arguments(data)
            result = spec.service(actor=request.user, **{self.lookup_arg: instance.pk}, **versions, **data)
            code = (
                status.HTTP_201_CREATED if spec.created and result.pk != instance.pk else status.HTTP_200_OK
            )
            return self.record_response(result, code)

        # A retry with the same Idempotency-Key replays the first answer before If-Match
        # is checked again (the first write moved the version on).
        return idempotent_response(request, run)

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = spec.summary or (spec.service.__doc__ or "").strip().split("\n")[0]
    record = viewset.detail_serializer_class or viewset.serializer_class
    responses: dict[Any, Any] = {(201 if spec.created else 200): record}
    if spec.created:
        responses[200] = record
    parameters = []
    if viewset.versioned:
        responses[(412, PROBLEM_CONTENT_TYPE)] = STALE
        if spec.required:
            responses[(428, PROBLEM_CONTENT_TYPE)] = PRECONDITION_REQUIRED
        parameters = [IF_MATCH if spec.required else IF_MATCH_OPTIONAL, ETAG]
    # @action first: it replaces the function's `kwargs`, where extend_schema puts its schema.
    routed = action(detail=True, methods=["post"], url_path=spec.url_path)(handler)
    return extend_schema(
        request=None if spec.input is EmptyInput else spec.input,
        responses=responses,
        parameters=parameters,
        summary=spec.summary or None,
        description=spec.description or None,
    )(routed)
