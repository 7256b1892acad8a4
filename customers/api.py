"""REST API of the customer profile: /api/v1/customers/ and its sub-resources (the
360 view and its panels, the timeline, contact points, consent, duplicates, merge).
Thin: reads through selectors, writes through services (`ServiceViewSet`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.encoding import escape_uri_path
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers import selectors, selectors_duplicates, selectors_panels, services
from customers.api_panels import Customer360Serializer, PanelSerializer, panel_body, relation_body
from customers.api_serializers import (
    CONTACT_POINT_INPUT,
    CUSTOMER_WRITE,
    ConsentEventSerializer,
    ConsentInputSerializer,
    ConsentStateSerializer,
    ContactPointInputSerializer,
    ContactPointSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    CustomerWriteSerializer,
    DuplicatePairSerializer,
    MergeInputSerializer,
    MergePreviewSerializer,
)
from customers.api_timeline import ActivitySerializer, TimelinePagination, timeline_kind
from customers.choices import ContactKind
from customers.consent import consent_record
from customers.filters import CUSTOMER_ORDERINGS, CustomerFilter, TimelineFilter
from customers.guards import ANY_CUSTOMER, request_actor
from customers.merge import customer_merge
from customers.models import Activity, ContactPoint, Customer
from customers.timeline_kinds import visible_to
from frontoffice.api import etag_for, expected_version
from frontoffice.errors import PROBLEM_CONTENT_TYPE, Conflict, MovedPermanently, django_validation_errors
from frontoffice.filters import StableOrderingFilter
from frontoffice.reversing import reverse_kept
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import MAX_ID, represent
from frontoffice.viewsets import PRECONDITION_REQUIRED, STALE, ServiceViewSet

VIEW = "customers.view_customer"
CHANGE = "customers.change_customer"
PANELS = OpenApiParameter(
    "panels",
    OpenApiTypes.STR,
    description="Comma-separated keys of the panels whose data to include (each one you may see; "
    "an unknown or forbidden key is a 400 naming it). Without it, no panel is loaded.",
)
PANEL_KEY = OpenApiParameter(
    "key", OpenApiTypes.STR, OpenApiParameter.PATH, description="The panel's key, as the 360 view lists it."
)


def _primary_contacts() -> Prefetch:
    return Prefetch(
        "contact_points",
        queryset=ContactPoint.objects.filter(is_primary=True).exclude(kind=ContactKind.ADDRESS),
        to_attr="primary_contacts",
    )


def _with_list_rows(customers: list[Customer]) -> list[Customer]:
    """What CustomerSerializer reads, for many customers in 1 query (not 2 per row)."""
    selectors.customer_row_facts(customers)
    return customers


def _panel_keys(request: Request) -> list[str]:
    """`?panels=a,b`: the keys asked for (none without it)."""
    raw = request.query_params.get("panels", "")
    return [key.strip() for key in raw.split(",") if key.strip()]


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "attr.<key>",
                OpenApiTypes.STR,
                description="Custom attribute equality, e.g. attr.industry=Retail. "
                "An unknown key or a value of the wrong type matches nothing.",
            )
        ]
    ),
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=CUSTOMER_WRITE, responses={201: CustomerSerializer}, parameters=[ETAG]),
    update=extend_schema(request=CustomerUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=CustomerUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    destroy=extend_schema(parameters=[IF_MATCH_OPTIONAL]),
)
class CustomerViewSet(ServiceViewSet):
    """Customers: the central profile. Merged ids answer 301 to the survivor."""

    serializer_class = CustomerSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CustomerFilter
    ordering_fields = CUSTOMER_ORDERINGS
    redirects_merged = True
    lookup_arg = "customer_id"
    create_input = CustomerWriteSerializer
    update_input = CustomerUpdateSerializer
    create_service = staticmethod(services.customer_create)
    update_service = staticmethod(services.customer_update)
    action_permissions = {
        "view_360": {"GET": [VIEW]},
        "panel": {"GET": [VIEW]},
        "timeline": {"GET": [VIEW, "customers.view_activity"]},
        "contact_points": {
            "GET": [VIEW, "customers.view_contactpoint"],
            "POST": [CHANGE, "customers.add_contactpoint"],
        },
        "remove_contact_point": {"DELETE": [CHANGE, "customers.delete_contactpoint"]},
        "consents": {
            "GET": [VIEW, "customers.view_consentevent"],
            "POST": [VIEW, "customers.add_consentevent"],
        },
        "duplicates": {"GET": [VIEW]},
        "merge": {"GET": ["customers.merge_customer"], "POST": ["customers.merge_customer"]},
    }
    # The services enforce the ownership rule too; checking it here answers 403 before
    # an If-Match or body problem would answer 428/412/400 to someone who may not edit.
    owner_rule_actions = frozenset({"update", "partial_update", "contact_points", "remove_contact_point"})
    owner_bypass_permission = ANY_CUSTOMER

    def get_queryset(self) -> QuerySet[Customer]:
        if self.action == "list":
            return selectors.customer_list()
        if self.action == "view_360":
            # The profile row alone: the body names its owner and parent by id.
            return Customer.objects.all()
        if self.action not in ("retrieve", "update", "partial_update", "destroy", "create", "merge"):
            # Sub-resources only need the customer row (and its tombstone pointer).
            return Customer.objects.all()
        return Customer.objects.select_related("owner").prefetch_related("tags", _primary_contacts())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of customers: its tags and primary contacts read for the page in 1
        query as plain rows (`customer_row_facts`), the rows represented by serializers
        built once per class (`represent`)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = _with_list_rows(list(page or ()))  # the cursor paginator always pages
        return self.get_paginated_response(
            represent(CustomerSerializer, rows, many=True, context=self.get_serializer_context())
        )

    def filter_queryset(self, queryset: Any) -> Any:
        # The list's filters and ordering are for the list; a detail URL names one record.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self) -> Customer:
        customer: Customer = super().get_object()
        self._refuse_tombstone(customer)
        return customer

    def _refuse_tombstone(self, customer: Customer) -> None:
        if customer.merged_into_id is not None:
            raise MovedPermanently(
                self._survivor_location(customer),
                detail=f"Customer {customer.pk} was merged into customer {customer.merged_into_id}.",
                method=self.request.method or "GET",
            )

    def _check_360(self, customer: Customer) -> None:
        """`get_object`'s checks for the 360 view, whose selector reads the customer
        with the rest (by the URL's id, which the route's pattern keeps to digits)."""
        self.check_object_permissions(self.request, customer)
        self._refuse_tombstone(customer)

    def _survivor_location(self, customer: Customer) -> str:
        """The same request (sub-path and query) on the survivor."""
        old = reverse("customer-detail", args=[customer.pk])
        new = reverse("customer-detail", args=[customer.merged_into_id])
        path = self.request.path
        # Re-encoded: a decoded path may hold characters a header cannot (a newline).
        location = new + escape_uri_path(path[len(old) :]) if path.startswith(old) else new
        query = self.request.META.get("QUERY_STRING", "")
        return f"{location}?{query}" if query else location

    def reread(self, instance: Any) -> Any:
        # A retrieve has just read the row through the queryset.
        return instance if self.action == "retrieve" else super().reread(instance)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        version = (
            expected_version(request, current=customer.version) if "If-Match" in request.headers else None
        )
        services.customer_delete(
            actor=request_actor(request), customer_id=customer.pk, expected_version=version
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- the 360 view and its panels -----------------------------------------------------

    @extend_schema(responses=Customer360Serializer, parameters=[PANELS, ETAG], filters=True)
    @action(
        detail=True,
        methods=["get"],
        url_path="360",
        pagination_class=None,
        filter_backends=[DjangoFilterBackend],
        filterset_class=TimelineFilter,
    )
    def view_360(self, request: Request, pk: str | None = None) -> Response:
        """The customer with what hangs off it, the latest timeline entries (`?kind=` for
        one kind) and the panels you may see: listed with their own endpoints, their data
        only for those named in `?panels=`."""
        kind = timeline_kind(request)
        data = selectors.customer_360(
            customer_id=self.kwargs[self.lookup_field],
            actor=request_actor(request),
            check=self._check_360,
            timeline_kind=kind,
            load_panels=_panel_keys(request),
            load_history=False,  # the body has no audit history: 20 rows never returned
        )
        customer = profile = data.customer
        # Serialise from the tags and contact points the selector already loaded.
        profile.tag_names = [tag.name for tag in data.tags]  # type: ignore[attr-defined]
        profile.primary_contacts = [cp for cp in data.contact_points if cp.is_primary]  # type: ignore[attr-defined]
        # Serialisers built once per class (`represent`): the same body, without building
        # each one's fields again on every request.
        body = {
            "customer": represent(CustomerSerializer, profile),
            "contact_points": represent(ContactPointSerializer, data.contact_points, many=True),
            "consents": represent(ConsentEventSerializer, data.consents, many=True),
            "organisations": [relation_body(r, r.organisation) for r in data.memberships],
            "members": [relation_body(r, r.person) for r in data.members],
            "subsidiaries": [{"id": c.pk, "display_name": c.display_name} for c in data.subsidiaries],
            "timeline": represent(ActivitySerializer, data.timeline, many=True),
            "timeline_next": (
                self._timeline_next(customer, data.timeline, kind) if data.timeline_cursor else None
            ),
            "panels": [panel_body(request, customer, panel) for panel in data.panels],
        }
        response = Response(body)
        response["ETag"] = etag_for(profile.version)
        return response

    @extend_schema(responses=PanelSerializer, parameters=[PANEL_KEY], filters=False)
    @action(
        detail=True, methods=["get"], url_path=r"panels/(?P<key>[-a-zA-Z0-9_]{1,50})", pagination_class=None
    )
    def panel(self, request: Request, pk: str | None = None, key: str = "") -> Response:
        """One panel of the 360 view with its data (403 for a panel you may not see)."""
        customer = self.get_object()
        panel = selectors_panels.customer_panel(customer=customer, key=key, actor=request_actor(request))
        return Response(panel_body(request, customer, panel))

    def _timeline_next(self, customer: Customer, shown: Sequence[Activity], kind: str | None) -> str:
        url = reverse_kept("customer-timeline", args=(customer.pk,))
        query = {"cursor": TimelinePagination().cursor_after(shown[-1]), **({"kind": kind} if kind else {})}
        return self.request.build_absolute_uri(f"{url}?{urlencode(query)}")

    @extend_schema(responses=ActivitySerializer(many=True), filters=True)
    @action(
        detail=True,
        methods=["get"],
        pagination_class=TimelinePagination,
        filter_backends=[DjangoFilterBackend],
        filterset_class=TimelineFilter,
    )
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        """The customer's timeline, newest first, of one kind or all; follow `next` for
        older entries."""
        customer = self.get_object()
        kind = timeline_kind(request)
        entries = visible_to(
            request_actor(request), Activity.objects.filter(customer=customer).select_related("actor")
        )
        paginator = TimelinePagination()
        # view=None: the timeline's order is fixed; the customer list's `?ordering=`
        # (customer fields) does not apply to activities.
        page = paginator.paginate_queryset(entries.filter(kind=kind) if kind else entries, request, view=None)
        return paginator.get_paginated_response(ActivitySerializer(page, many=True).data)

    # --- contact points, consent, duplicates -----------------------------------------------

    @extend_schema(methods=["GET"], responses=ContactPointSerializer(many=True), filters=False)
    @extend_schema(methods=["POST"], request=CONTACT_POINT_INPUT, responses={201: ContactPointSerializer})
    @action(detail=True, methods=["get", "post"], url_path="contact-points", pagination_class=None)
    def contact_points(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        if request.method == "POST":
            data = ContactPointInputSerializer.validated(request.data)
            try:
                contact_point = services.contact_point_add(
                    actor=request_actor(request), customer_id=customer.pk, data=data
                )
            except DjangoValidationError as exc:
                # The service names fields as in a customer's list of contact points
                # (contact_points.0.value); this body is one contact point (value).
                raise DjangoValidationError(
                    {
                        key.removeprefix("contact_points.0."): messages
                        for key, messages in django_validation_errors(exc).items()
                    }
                ) from None
            except Conflict as exc:
                exc.errors = {k.removeprefix("contact_points.0."): v for k, v in exc.errors.items()}
                raise
            return Response(ContactPointSerializer(contact_point).data, status=status.HTTP_201_CREATED)
        return Response(ContactPointSerializer(customer.contact_points.all(), many=True).data)

    @extend_schema(responses={204: None}, filters=False)
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"contact-points/(?P<contact_point_id>[0-9]{1,18})",
        pagination_class=None,
    )
    def remove_contact_point(
        self, request: Request, pk: str | None = None, contact_point_id: str = ""
    ) -> Response:
        customer = self.get_object()
        services.contact_point_remove(
            actor=request_actor(request), customer_id=customer.pk, contact_point_id=contact_point_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=ConsentStateSerializer, filters=False)
    @extend_schema(methods=["POST"], request=ConsentInputSerializer, responses={201: ConsentEventSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def consents(self, request: Request, pk: str | None = None) -> Response:
        """GET: the current consent per channel and purpose, and the ledger (newest
        first, at most 500 entries). POST appends to the ledger."""
        customer = self.get_object()
        if request.method == "POST":
            data = ConsentInputSerializer.validated(request.data)
            event = consent_record(actor=request_actor(request), customer_id=customer.pk, **data)
            return Response(ConsentEventSerializer(event).data, status=status.HTTP_201_CREATED)
        ledger = customer.consent_events.select_related("actor").order_by("-occurred_at", "-id")[:500]
        return Response(
            {
                "current": ConsentEventSerializer(selectors.consent_state(customer=customer), many=True).data,
                "ledger": ConsentEventSerializer(ledger, many=True).data,
            }
        )

    @extend_schema(
        responses=DuplicatePairSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "customer",
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                description="Only candidates for this customer",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 500},
                description=(
                    "How many pairs at most. The whole base: 100 by default, up to 500. With "
                    "`customer`: 20 by default (what the 360 page's panel shows), at most 50 (a larger "
                    "value reads 50)."
                ),
            ),
        ],
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def duplicates(self, request: Request) -> Response:
        """Candidate pairs: same normalised e-mail or phone, or a (near-)equal name."""
        customer_id = request.query_params.get("customer")
        if customer_id is not None:
            # Above 50 is read as 50 (the schema's maximum is the whole base's).
            limit = min(
                _bounded_int(request.query_params.get("limit"), default=20, low=1, high=500, name="limit"), 50
            )
            try:
                customer = selectors.customer_get(
                    customer_id=_bounded_int(customer_id, default=0, low=1, high=MAX_ID, name="customer")
                )
            except Http404:
                raise exceptions.ValidationError({"customer": ["No such customer."]}) from None
            pairs = selectors_duplicates.duplicates_for(customer=customer, limit=limit)
        else:
            limit = _bounded_int(
                request.query_params.get("limit"), default=100, low=1, high=500, name="limit"
            )
            pairs = selectors_duplicates.duplicate_candidates(limit=limit)
        customers = _with_list_rows(
            list({c.pk: c for p in pairs for c in (p.customer, p.duplicate)}.values())
        )
        # Each customer represented once, however many pairs it is in (one customer's
        # candidates all repeat it). `represent`, not a serializer instance: an instance
        # keeps the pairs (and each customer) in the reference cycles of its fields until
        # a full collection.
        bodies = dict(
            zip((c.pk for c in customers), represent(CustomerSerializer, customers, many=True), strict=True)
        )
        return Response(
            [
                {
                    "customer": bodies[p.customer.pk],
                    "duplicate": bodies[p.duplicate.pk],
                    "reasons": list(p.reasons),
                }
                for p in pairs
            ]
        )

    @extend_schema(
        methods=["GET"],
        responses=MergePreviewSerializer,
        parameters=[
            OpenApiParameter("duplicate", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, required=True)
        ],
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        request=MergeInputSerializer,
        responses={
            200: CustomerSerializer,
            (412, PROBLEM_CONTENT_TYPE): STALE,
            (428, PROBLEM_CONTENT_TYPE): PRECONDITION_REQUIRED,
        },
        parameters=[IF_MATCH, ETAG],
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def merge(self, request: Request, pk: str | None = None) -> Response:
        """GET previews what would move; POST merges `duplicate` into this customer, with
        If-Match naming the version of this customer you previewed (428 without it, 412
        when it changed since)."""
        customer = self.get_object()
        if request.method == "GET":
            duplicate_id = _bounded_int(
                request.query_params.get("duplicate"), default=0, low=1, high=MAX_ID, name="duplicate"
            )
            self._check_duplicate(customer, duplicate_id)
            preview = selectors_duplicates.merge_preview(survivor_id=customer.pk, duplicate_id=duplicate_id)
            _with_list_rows([preview.survivor, preview.duplicate])
            return Response(MergePreviewSerializer(preview).data)
        version = expected_version(request, current=customer.version)
        data = MergeInputSerializer.validated(request.data)
        survivor = customer_merge(
            actor=request_actor(request),
            survivor_id=customer.pk,
            duplicate_id=data["duplicate"],
            expected_version=version,
        )
        return self.record_response(survivor)

    @staticmethod
    def _check_duplicate(customer: Customer, duplicate_id: int) -> None:
        """The preview refuses what the merge would refuse, as field errors."""
        if duplicate_id == customer.pk:
            raise exceptions.ValidationError({"duplicate": ["A customer cannot be merged into itself."]})
        try:
            duplicate = selectors.customer_get(customer_id=duplicate_id)
        except Http404:
            raise exceptions.ValidationError({"duplicate": ["No such customer."]}) from None
        if duplicate.merged_into_id is not None:
            raise exceptions.ValidationError({"duplicate": ["That customer was already merged."]})
        if duplicate.kind != customer.kind:
            raise exceptions.ValidationError(
                {"duplicate": ["A person and an organisation cannot be merged."]}
            )


def _bounded_int(raw: Any, *, default: int, low: int, high: int, name: str) -> int:
    if raw in (None, ""):
        if default:
            return default
        raise exceptions.ValidationError({name: ["This parameter is required."]})
    text = str(raw)
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        raise exceptions.ValidationError({name: [f"Expected a whole number from {low} to {high}."]})
    value = int(text)
    if not low <= value <= high:
        raise exceptions.ValidationError({name: [f"Expected a whole number from {low} to {high}."]})
    return value
