"""REST API for the customer profile: thin viewsets over selectors and services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils.encoding import escape_uri_path
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers import selectors, selectors_duplicates, services
from customers.choices import (
    ActivityKind,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    LifecycleStage,
)
from customers.consent import consent_record
from customers.filters import CUSTOMER_ORDERINGS, ActivityFilter, CustomerFilter, TimelineFilter
from customers.guards import ANY_CUSTOMER, CustomerMerged
from customers.merge import customer_merge
from customers.models import Activity, ConsentEvent, ContactPoint, Customer
from customers.timeline import activity_log
from frontoffice.api import ActionPermissions, CursorPagination, etag_for, expected_version
from frontoffice.errors import Conflict, MovedPermanently, django_validation_errors
from frontoffice.filters import StableOrderingFilter
from frontoffice.models import User
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import (
    MAX_ID,
    IdField,
    JSONObjectField,
    RelatedIdField,
    StrictSerializer,
    TextField,
)

ACTIVITY_KINDS_LOGGABLE = [ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING]


# --- serializers -----------------------------------------------------------------


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        fields = [
            "id",
            "kind",
            "label",
            "value",
            "is_primary",
            "street",
            "postal_code",
            "city",
            "region",
            "country",
            "created_at",
        ]
        read_only_fields = fields


class ContactPointInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ContactKind.choices)
    label = serializers.ChoiceField(choices=ContactLabel.choices, required=False)
    value = TextField(max_length=320, required=False, help_text="E-mail or phone (any format)")
    is_primary = serializers.BooleanField(required=False, default=False)
    street = TextField(max_length=200, required=False)
    postal_code = TextField(max_length=20, required=False)
    city = TextField(max_length=100, required=False)
    region = TextField(max_length=100, required=False)
    country = TextField(max_length=2, required=False)


class CustomerSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    primary_email = serializers.SerializerMethodField()
    primary_phone = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "kind",
            "display_name",
            "first_name",
            "last_name",
            "organisation_name",
            "lifecycle_stage",
            "owner",
            "parent",
            "tags",
            "attributes",
            "erp_customer_number",
            "primary_email",
            "primary_phone",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, obj: Customer) -> list[str]:
        return [t.name for t in obj.tags.all()]

    def _primary(self, obj: Customer, kind: str) -> str | None:
        contacts = getattr(obj, "primary_contacts", None)
        if contacts is None:
            contacts = [cp for cp in obj.contact_points.all() if cp.is_primary]
        return next((cp.value for cp in contacts if cp.kind == kind), None)

    def get_primary_email(self, obj: Customer) -> str | None:
        return self._primary(obj, ContactKind.EMAIL)

    def get_primary_phone(self, obj: Customer) -> str | None:
        return self._primary(obj, ContactKind.PHONE)


class CustomerWriteSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=CustomerKind.choices)
    first_name = TextField(max_length=100, required=False, allow_blank=True)
    last_name = TextField(max_length=100, required=False, allow_blank=True)
    organisation_name = TextField(max_length=200, required=False, allow_blank=True)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    owner = RelatedIdField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    parent = RelatedIdField(
        queryset=Customer.objects.filter(merged_into__isnull=True), required=False, allow_null=True
    )
    tags = serializers.ListField(child=TextField(max_length=50), required=False, max_length=50)
    attributes = JSONObjectField(
        required=False, help_text="Custom attributes, validated against their definitions."
    )
    erp_customer_number = TextField(max_length=40, required=False, allow_null=True, allow_blank=True)
    contact_points = ContactPointInputSerializer(many=True, required=False, max_length=20)


class CustomerUpdateSerializer(CustomerWriteSerializer):
    contact_points = None  # managed through /contact-points/


class ConsentEventSerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "channel",
            "purpose",
            "granted",
            "source",
            "occurred_at",
            "actor",
            "note",
            "created_at",
        ]
        read_only_fields = fields


class ConsentInputSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = TextField(max_length=100)
    occurred_at = serializers.DateTimeField(required=False)
    note = TextField(max_length=500, required=False, allow_blank=True)


class ConsentStateSerializer(serializers.Serializer):
    current = ConsentEventSerializer(many=True)
    ledger = ConsentEventSerializer(many=True)


class ActivitySerializer(serializers.ModelSerializer):
    actor = serializers.StringRelatedField()

    class Meta:
        model = Activity
        fields = [
            "id",
            "customer",
            "kind",
            "occurred_at",
            "actor",
            "system_actor",
            "source_app",
            "subject",
            "body",
            "ref_type",
            "ref_id",
            "payload",
            "created_at",
        ]
        read_only_fields = fields


class ActivityInputSerializer(StrictSerializer):
    customer = IdField()
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in ACTIVITY_KINDS_LOGGABLE])
    subject = TextField(max_length=200)
    body = TextField(max_length=20000, required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)


class RelationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    is_primary_contact = serializers.BooleanField()


class SubsidiarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class PanelSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    data = serializers.JSONField(help_text="Whatever the app that registered the panel returns.")


class Customer360Serializer(serializers.Serializer):
    customer = CustomerSerializer()
    contact_points = ContactPointSerializer(many=True)
    consents = ConsentEventSerializer(many=True)
    organisations = RelationSerializer(many=True)
    members = RelationSerializer(many=True)
    subsidiaries = SubsidiarySerializer(many=True)
    timeline = ActivitySerializer(many=True)
    timeline_next = serializers.URLField(
        allow_null=True, help_text="The timeline page with the older entries, or null when all are shown."
    )
    panels = PanelSerializer(many=True)


class MergeInputSerializer(StrictSerializer):
    duplicate = IdField(help_text="The customer merged into this one; it stays as a tombstone.")


class DuplicatePairSerializer(serializers.Serializer):
    customer = CustomerSerializer()
    duplicate = CustomerSerializer()
    reasons = serializers.ListField(child=serializers.CharField())


class MergePreviewSerializer(serializers.Serializer):
    survivor = CustomerSerializer()
    duplicate = CustomerSerializer()
    moves = serializers.DictField(child=serializers.IntegerField())
    contact_points_moved = ContactPointSerializer(many=True)
    contact_points_dropped = ContactPointSerializer(many=True)
    tags_added = serializers.ListField(child=serializers.CharField())
    fields_filled = serializers.DictField(child=serializers.JSONField())


def _relation(rel: Any, other: Customer) -> dict[str, Any]:
    return {
        "id": rel.pk,
        "customer_id": other.pk,
        "display_name": other.display_name,
        "role": rel.role,
        "is_primary_contact": rel.is_primary_contact,
    }


# --- viewsets ---------------------------------------------------------------------


class TimelinePagination(CursorPagination):
    ordering = ("-occurred_at", "-id")


VIEW = "customers.view_customer"
CHANGE = "customers.change_customer"


def _with_list_rows(customers: list[Customer]) -> list[Customer]:
    """What CustomerSerializer reads, for many customers in 2 queries (not 2 per row)."""
    prefetch_related_objects(
        customers,
        "tags",
        Prefetch(
            "contact_points",
            queryset=ContactPoint.objects.filter(is_primary=True).exclude(kind=ContactKind.ADDRESS),
            to_attr="primary_contacts",
        ),
    )
    return customers


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
    create=extend_schema(
        request=CustomerWriteSerializer, responses={201: CustomerSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=CustomerUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=CustomerUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    destroy=extend_schema(parameters=[IF_MATCH_OPTIONAL]),
)
class CustomerViewSet(viewsets.ModelViewSet):
    """Customers: the central profile. Merged ids answer 301 to the survivor."""

    serializer_class = CustomerSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CustomerFilter
    ordering_fields = CUSTOMER_ORDERINGS
    # ASCII digits only: `\d` also matches other scripts' digits, which int() accepts.
    lookup_value_regex = r"[0-9]{1,18}"
    permission_classes = [ActionPermissions]
    redirects_merged = True
    action_permissions = {
        "view_360": {"GET": [VIEW]},
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

    def get_queryset(self):
        if self.action == "list":
            return selectors.customer_list()
        if self.action == "view_360":
            # Everything the 360 view shows of the profile itself, in the one query.
            return Customer.objects.select_related("owner", "parent", "merged_into")
        if self.action not in ("retrieve", "update", "partial_update", "destroy", "create", "merge"):
            # Sub-resources only need the customer row (and its tombstone pointer).
            return Customer.objects.all()
        return Customer.objects.select_related("owner").prefetch_related(
            "tags",
            Prefetch(
                "contact_points",
                queryset=ContactPoint.objects.filter(is_primary=True).exclude(kind=ContactKind.ADDRESS),
                to_attr="primary_contacts",
            ),
        )

    def filter_queryset(self, queryset: Any) -> Any:
        # The list's filters and ordering are for the list; a detail URL names one record.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self) -> Customer:
        customer = super().get_object()
        if customer.merged_into_id is not None:
            raise MovedPermanently(
                self._survivor_location(customer),
                detail=f"Customer {customer.pk} was merged into customer {customer.merged_into_id}.",
                method=self.request.method,
            )
        return customer

    def _survivor_location(self, customer: Customer) -> str:
        """The same request (sub-path and query) on the survivor."""
        old = reverse("customer-detail", args=[customer.pk])
        new = reverse("customer-detail", args=[customer.merged_into_id])
        path = self.request.path
        # Re-encoded: a decoded path may hold characters a header cannot (a newline).
        location = new + escape_uri_path(path[len(old) :]) if path.startswith(old) else new
        query = self.request.META.get("QUERY_STRING", "")
        return f"{location}?{query}" if query else location

    def _fresh(self, pk: int) -> Customer:
        return self.get_queryset().get(pk=pk)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        response = Response(CustomerSerializer(customer).data)
        response["ETag"] = etag_for(customer.version)
        return response

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CustomerWriteSerializer.validated(request.data)
        customer = services.customer_create(actor=request.user, **data)
        customer = self._fresh(customer.pk)
        response = Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)
        response["ETag"] = etag_for(customer.version)
        response["Location"] = reverse("customer-detail", args=[customer.pk])
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        partial = kwargs.pop("partial", False)
        version = expected_version(request, current=customer.version)
        data = CustomerUpdateSerializer.validated(request.data, partial=partial)
        customer = services.customer_update(
            actor=request.user, customer_id=customer.pk, expected_version=version, **data
        )
        customer = self._fresh(customer.pk)
        response = Response(CustomerSerializer(customer).data)
        response["ETag"] = etag_for(customer.version)
        return response

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        version = (
            expected_version(request, current=customer.version) if "If-Match" in request.headers else None
        )
        services.customer_delete(actor=request.user, customer_id=customer.pk, expected_version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=Customer360Serializer, parameters=[ETAG], filters=True)
    @action(
        detail=True,
        methods=["get"],
        url_path="360",
        pagination_class=None,
        filter_backends=[DjangoFilterBackend],
        filterset_class=TimelineFilter,
    )
    def view_360(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        kind = _timeline_kind(request)
        data = selectors.customer_360(
            customer_id=customer.pk, actor=request.user, customer=customer, timeline_kind=kind
        )
        profile = data.customer
        # Serialise from the contact points the selector already loaded.
        profile.primary_contacts = [cp for cp in data.contact_points if cp.is_primary]
        body = {
            "customer": CustomerSerializer(profile).data,
            "contact_points": ContactPointSerializer(data.contact_points, many=True).data,
            "consents": ConsentEventSerializer(data.consents, many=True).data,
            "organisations": [_relation(r, r.organisation) for r in data.memberships],
            "members": [_relation(r, r.person) for r in data.members],
            "subsidiaries": [{"id": c.pk, "display_name": c.display_name} for c in data.subsidiaries],
            "timeline": ActivitySerializer(data.timeline, many=True).data,
            "timeline_next": (
                self._timeline_next(customer, data.timeline, kind) if data.timeline_cursor else None
            ),
            "panels": [{"key": p["key"], "title": p["title"], "data": p["data"]} for p in data.panels],
        }
        response = Response(body)
        response["ETag"] = etag_for(profile.version)
        return response

    def _timeline_next(self, customer: Customer, shown: list[Activity], kind: str | None) -> str:
        url = reverse("customer-timeline", args=[customer.pk])
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
        kind = _timeline_kind(request)
        entries = Activity.objects.filter(customer=customer).select_related("actor")
        paginator = self.paginator
        # view=None: the timeline's order is fixed; the customer list's `?ordering=`
        # (customer fields) does not apply to activities.
        page = paginator.paginate_queryset(entries.filter(kind=kind) if kind else entries, request, view=None)
        return paginator.get_paginated_response(ActivitySerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses=ContactPointSerializer(many=True), filters=False)
    @extend_schema(
        methods=["POST"], request=ContactPointInputSerializer, responses={201: ContactPointSerializer}
    )
    @action(detail=True, methods=["get", "post"], url_path="contact-points", pagination_class=None)
    def contact_points(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        if request.method == "POST":
            data = ContactPointInputSerializer.validated(request.data)
            try:
                contact_point = services.contact_point_add(
                    actor=request.user, customer_id=customer.pk, data=data
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
            actor=request.user, customer_id=customer.pk, contact_point_id=contact_point_id
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
            event = consent_record(actor=request.user, customer_id=customer.pk, **data)
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
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
        ],
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def duplicates(self, request: Request) -> Response:
        """Candidate pairs: same normalised e-mail or phone, or a (near-)equal name."""
        limit = _bounded_int(request.query_params.get("limit"), default=100, low=1, high=500, name="limit")
        customer_id = request.query_params.get("customer")
        if customer_id is not None:
            try:
                customer = selectors.customer_get(
                    customer_id=_bounded_int(customer_id, default=0, low=1, high=MAX_ID, name="customer")
                )
            except Http404:
                raise exceptions.ValidationError({"customer": ["No such customer."]}) from None
            pairs = selectors_duplicates.duplicates_for(customer=customer, limit=min(limit, 50))
        else:
            pairs = selectors_duplicates.duplicate_candidates(limit=limit)
        _with_list_rows(list({c.pk: c for p in pairs for c in (p.customer, p.duplicate)}.values()))
        return Response(DuplicatePairSerializer(pairs, many=True).data)

    @extend_schema(
        methods=["GET"],
        responses=MergePreviewSerializer,
        parameters=[
            OpenApiParameter("duplicate", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, required=True)
        ],
        filters=False,
    )
    @extend_schema(methods=["POST"], request=MergeInputSerializer, responses=CustomerSerializer)
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def merge(self, request: Request, pk: str | None = None) -> Response:
        """GET previews what would move; POST merges `duplicate` into this customer."""
        customer = self.get_object()
        if request.method == "GET":
            duplicate_id = _bounded_int(
                request.query_params.get("duplicate"), default=0, low=1, high=MAX_ID, name="duplicate"
            )
            self._check_duplicate(customer, duplicate_id)
            preview = selectors_duplicates.merge_preview(survivor_id=customer.pk, duplicate_id=duplicate_id)
            _with_list_rows([preview.survivor, preview.duplicate])
            return Response(MergePreviewSerializer(preview).data)
        data = MergeInputSerializer.validated(request.data)
        survivor = customer_merge(actor=request.user, survivor_id=customer.pk, duplicate_id=data["duplicate"])
        survivor = self._fresh(survivor.pk)
        response = Response(CustomerSerializer(survivor).data)
        response["ETag"] = etag_for(survivor.version)
        return response

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


def _timeline_kind(request: Request) -> str | None:
    """`?kind=`: one of the declared timeline kinds, or None for all; 400 otherwise."""
    timeline_filter = TimelineFilter(request.query_params, queryset=Activity.objects.none())
    if not timeline_filter.is_valid():
        raise translate_validation(timeline_filter.errors)
    return timeline_filter.form.cleaned_data.get("kind") or None


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


@extend_schema_view(
    create=extend_schema(request=ActivityInputSerializer, responses={201: ActivitySerializer}),
)
class ActivityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The timeline across customers, newest first; POST logs a note, call, e-mail or
    meeting on a customer."""

    serializer_class = ActivitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter
    pagination_class = TimelinePagination
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = Activity.objects.select_related("actor")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ActivityInputSerializer.validated(request.data)
        customer_id = data.pop("customer")
        try:
            activity = activity_log(actor=request.user, customer_id=customer_id, **data)
        except Http404:
            # The customer is a field of the body, not the resource in the URL.
            raise exceptions.ValidationError({"customer": ["No such customer."]}) from None
        except CustomerMerged as merged:
            raise exceptions.ValidationError(
                {"customer": [f"This customer was merged into customer {merged.survivor_id}."]}
            ) from None
        response = Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("activity-detail", args=[activity.pk])
        return response
