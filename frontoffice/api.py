"""Shared API plumbing: keyset pagination, optimistic concurrency (ETag / If-Match)
and per-action permissions. (Authentication: frontoffice.authentication; body
parsing: frontoffice.parsers; the OpenAPI schema class: frontoffice.schema.)

Everything here sits in front of the apps' viewsets, so it is where malformed input
must stop with a 4xx: a forged cursor, a page size of -1, an If-Match of "²".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections, models
from django.db.models import F, Q, QuerySet
from django.db.models.fields.tuple_lookups import TupleGreaterThan, TupleLessThan
from django.utils import timezone
from rest_framework import exceptions, pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from frontoffice.errors import PreconditionRequired, StaleVersion
from frontoffice.permissions import ModelPermissions, can_edit_owned
from frontoffice.serializers import MAX_ID

_token_shape = re.compile(r"[A-Za-z0-9_\-]{1,256}")


# --- pagination -------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    # An offset near year 1 or 9999 may not convert: the caller turns that into a 400.
    return value.astimezone(dt.UTC)


def _cursor_value(field: models.Field[Any, Any], raw: Any) -> Any:
    """The typed value of one cursor position component, or ValueError."""
    if raw is None:
        raise ValueError("missing")
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValueError("type")
    if isinstance(raw, str) and ("\x00" in raw or len(raw) > 500):
        raise ValueError("text")
    value = field.to_python(raw)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        raise ValueError("range")
    if isinstance(value, dt.datetime):
        return _utc(value)
    return value


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination over the whole ordering, e.g. (display_name, id).

    DRF's cursor keeps only the first ordering field plus an offset that it caps at
    1000, so an ordering with many ties (lifecycle stage) repeats pages once the
    offset is capped. Here the cursor carries every ordering value, the last of which
    is unique (the id), so pages never skip or repeat rows and every page is one
    indexed range query. Ordering fields must be non-null.

    A cursor is opaque (base64 JSON) and validated field by field against the model:
    a forged one is a 400, never a query with a NUL or an out-of-range integer.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering: tuple[str, ...] = ("-created_at", "-id")
    invalid_cursor_message = "Invalid cursor."
    # Set by paginate_queryset before any link is built.
    base_url: str

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        ordering = list(self.get_ordering(request, queryset, view))
        if ordering[-1].removeprefix("-") not in ("id", "pk"):
            # The last key must be unique, or rows sharing every value could be skipped.
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        self.ordering = tuple(ordering)
        self.fields = [self._field(queryset.model, term) for term in self.ordering]
        position, reverse = self._decode(request)
        # Not DRF's `cursor` (an offset-based Cursor): this paginator's is every ordering value.
        self.position = position
        order = [self._flip(t) for t in self.ordering] if reverse else list(self.ordering)
        queryset = queryset.order_by(*order)
        if position is not None:
            queryset = queryset.filter(self._after(order, position, connection=connections[queryset.db]))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        self.page = rows
        if reverse:
            self.has_next, self.has_previous = position is not None, more
        else:
            self.has_next, self.has_previous = more, position is not None
        if (self.has_next or self.has_previous) and self.template is not None:
            self.display_page_controls = True
        return rows

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= self.max_page_size):
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"Expected a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link(self.page[-1], reverse=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(self.page[0], reverse=True)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters

    # --- internals ---

    @staticmethod
    def _flip(term: str) -> str:
        return term[1:] if term.startswith("-") else f"-{term}"

    @staticmethod
    def _field(model: type[models.Model], term: str) -> models.Field[Any, Any]:
        field = model._meta.get_field(term.removeprefix("-"))
        if not isinstance(field, models.Field):
            raise ImproperlyConfigured(f"Cursor ordering on {model.__name__}.{term}, which is not a column.")
        if field.null:
            raise ImproperlyConfigured(f"Cursor ordering on nullable {model.__name__}.{field.name}.")
        return field

    def _after(self, order: list[str], position: list[Any], *, connection: Any = None) -> Any:
        """Rows strictly after `position` in `order`.

        When every term runs the same way (the default `-created_at, -id`), a row
        comparison `(a, b) < (x, y)`: PostgreSQL seeks the (a, b) index to it (0.4 ms
        at page 2,000 of a million rows), where the equivalent `a < x OR (a = x AND
        b < y)` filters the index from its start (225 ms). Mixed directions have no row
        comparison, so they keep that spelled-out form.
        """
        directions = {term.startswith("-") for term in order}
        if len(directions) == 1 and connection is not None and connection.features.supports_tuple_lookups:
            columns = tuple(F(term.removeprefix("-")) for term in order)
            compare = TupleLessThan if directions == {True} else TupleGreaterThan
            return compare(columns, tuple(position))
        condition = Q()
        equal = Q()
        for term, value in zip(order, position, strict=True):
            name = term.removeprefix("-")
            lookup = "lt" if term.startswith("-") else "gt"
            condition |= equal & Q(**{f"{name}__{lookup}": value})
            equal &= Q(**{name: value})
        return condition

    def _decode(self, request: Request) -> tuple[list[Any] | None, bool]:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None, False
        try:
            data = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")[:4000]))
            values, reverse = data["p"], data.get("r", False)
            if (
                not isinstance(values, list)
                or len(values) != len(self.fields)
                or reverse not in (True, False)
            ):
                raise ValueError("shape")
            position = [_cursor_value(f, v) for f, v in zip(self.fields, values, strict=True)]
        except (
            ValueError,
            TypeError,
            KeyError,
            OverflowError,
            RecursionError,
            binascii.Error,
            DjangoValidationError,
        ):
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            ) from None
        return position, reverse

    def _link(self, instance: Any, *, reverse: bool) -> str:
        return replace_query_param(
            self.base_url, self.cursor_query_param, self._encode(instance, self.fields, reverse=reverse)
        )

    @staticmethod
    def _encode(instance: Any, fields: list[models.Field[Any, Any]], *, reverse: bool) -> str:
        values = []
        for field in fields:
            value = field.value_from_object(instance)
            if isinstance(value, dt.datetime):
                value = _utc(value).isoformat()
            elif not isinstance(value, int | str):
                value = str(value)
            values.append(value)
        payload = {"p": values, "r": True} if reverse else {"p": values}
        return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()

    def cursor_after(self, instance: models.Model) -> str:
        """The cursor of the page that follows `instance` in this paginator's default
        ordering (for a preview that shows the first rows and links to the rest)."""
        fields = [self._field(type(instance), term) for term in self.ordering]
        return self._encode(instance, fields, reverse=False)


# --- optimistic concurrency -----------------------------------------------------------


def etag_for(version: int) -> str:
    return f'"{int(version)}"'


def expected_version(request: Request, *, current: int) -> int | None:
    """The version the client last read, from `If-Match`, for a service's
    `expected_version`; None for `If-Match: *` ("whatever the current version", RFC
    9110), which services take as "not checked".

    `*` is not answered with `current`: the service compares under its row lock, and
    a change committed between this read and that lock would make it a 412.

    Missing header: 428. A value that is not one of ours, or an old one: 412.
    """
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so that nobody's change is overwritten."
        )
    candidates = [tag.strip().removeprefix("W/").strip('"') for tag in header[:1000].split(",")]
    if "*" in candidates:
        return None
    for candidate in candidates:
        if candidate.isascii() and candidate.isdigit() and len(candidate) < 12 and int(candidate) == current:
            return current
    raise StaleVersion(current=current)


# The mixin's host, for the type checker only: DRF imports this module (the pagination
# setting) while rest_framework.generics is still loading.
if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    MixinHost = GenericAPIView[Any]
else:
    MixinHost = object


class VersionedMixin(MixinHost):
    """For viewsets over models with a `version`: ETag on reads, and on the answers of
    writes through `versioned_response` (their If-Match: `expected_version`)."""

    def versioned_response(self, instance: Any, code: int = 200) -> Response:
        response = Response(self.get_serializer(instance).data, status=code)
        response["ETag"] = etag_for(instance.version)
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.versioned_response(self.get_object())


# --- permissions ----------------------------------------------------------------------


class ActionPermissions(ModelPermissions):
    """Model permissions, refined per viewset action, plus the ownership rule.

    A view may declare:
    - `action_permissions = {"merge": {"GET": [...], "POST": [...]}}`: the permissions an
      extra action needs per method (instead of the model's add/change/delete, which
      would make removing a contact point need `delete_customer`);
    - `owner_rule_actions = {"update", ...}` and `owner_bypass_permission`: unsafe
      requests on those actions need `can_edit_owned` on the object (a sales rep edits
      only their own or their team's records).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        per_method = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if per_method is None:
            return super().has_permission(request, view)
        user = request.user
        if not user or not user.is_authenticated:
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        perms = per_method.get(method)
        return perms is not None and user.has_perms(perms)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if getattr(view, "action", None) not in getattr(view, "owner_rule_actions", ()):
            return True
        return can_edit_owned(request.user, obj, any_permission=view.owner_bypass_permission)
