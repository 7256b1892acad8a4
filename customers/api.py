"""REST API for the customer profile: thin viewsets over selectors and services."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers import selectors, services
from customers.choices import (
    ActivityKind,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    LifecycleStage,
)
from customers.filters import CUSTOMER_ORDERINGS, ActivityFilter, CustomerFilter, StableOrderingFilter
from customers.models import Activity, ConsentEvent, ContactPoint, Customer
from frontoffice.api import CursorPagination, etag_for, expected_version
from frontoffice.models import User
from frontoffice.serializers import StrictSerializer, TextField

ACTIVITY_KINDS_LOGGABLE = [ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING]


class MovedPermanently(exceptions.APIException):
    status_code = status.HTTP_301_MOVED_PERMANENTLY
    default_detail = "This customer was merged; see Location."
    default_code = "moved_permanently"

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__()


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
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    parent = serializers.PrimaryKeyRelatedField(read_only=True)
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
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.filter(merged_into__isnull=True), required=False, allow_null=True
    )
    tags = serializers.ListField(child=TextField(max_length=50), required=False, max_length=50)
    attributes = serializers.DictField(required=False)
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
    customer = serializers.IntegerField(min_value=1, max_value=2**62)
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


class Customer360Serializer(serializers.Serializer):
    customer = CustomerSerializer()
    contact_points = ContactPointSerializer(many=True)
    consents = ConsentEventSerializer(many=True)
    organisations = RelationSerializer(many=True)
    members = RelationSerializer(many=True)
    subsidiaries = serializers.ListField(child=serializers.DictField())
    timeline = ActivitySerializer(many=True)
    timeline_next = serializers.CharField(allow_null=True)
    panels = serializers.ListField(child=serializers.DictField())


class MergeInputSerializer(StrictSerializer):
    duplicate = serializers.IntegerField(min_value=1, max_value=2**62)


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
    fields_filled = serializers.DictField()


def _relation(rel: Any, other: Customer) -> dict[str, Any]:
    return {
        "id": rel.pk,
        "customer_id": other.pk,
        "display_name": other.display_name,
        "role": rel.role,
        "is_primary_contact": rel.is_primary_contact,
    }


# --- viewsets ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "attr.<key>",
                OpenApiTypes.STR,
                description="Custom attribute equality, e.g. attr.industry=Retail",
            )
        ]
    ),
    create=extend_schema(request=CustomerWriteSerializer, responses={201: CustomerSerializer}),
    update=extend_schema(
        request=CustomerUpdateSerializer,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
    ),
    partial_update=extend_schema(
        request=CustomerUpdateSerializer,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
    ),
)
class CustomerViewSet(viewsets.ModelViewSet):
    """Customers: the central profile. Merged ids answer 301 to the survivor."""

    serializer_class = CustomerSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CustomerFilter
    ordering_fields = CUSTOMER_ORDERINGS
    lookup_value_regex = r"\d{1,18}"

    def get_queryset(self):
        if self.action == "list":
            return selectors.customer_list()
        return Customer.objects.select_related("owner").prefetch_related("tags", "contact_points")

    def get_object(self) -> Customer:
        customer = super().get_object()
        if customer.merged_into_id is not None:
            path = self.request.get_full_path().replace(f"/{customer.pk}/", f"/{customer.merged_into_id}/", 1)
            raise MovedPermanently(path)
        return customer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        response = Response(CustomerSerializer(customer).data)
        response["ETag"] = etag_for(customer.version)
        return response

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CustomerWriteSerializer.validated(request.data)
        customer = services.customer_create(actor=request.user, **data)
        customer = self.get_queryset().get(pk=customer.pk)
        response = Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)
        response["ETag"] = etag_for(customer.version)
        response["Location"] = f"{request.path}{customer.pk}/"
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        partial = kwargs.pop("partial", False)
        version = expected_version(request, current=customer.version)
        data = CustomerUpdateSerializer.validated(request.data, partial=partial)
        customer = services.customer_update(
            actor=request.user, customer_id=customer.pk, expected_version=version, **data
        )
        customer = self.get_queryset().get(pk=customer.pk)
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

    @extend_schema(responses=Customer360Serializer)
    @action(detail=True, methods=["get"], url_path="360")
    def view_360(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        data = selectors.customer_360(customer_id=customer.pk, actor=request.user)
        body = {
            "customer": CustomerSerializer(
                data.customer, context={"contact_points": data.contact_points}
            ).data,
            "contact_points": ContactPointSerializer(data.contact_points, many=True).data,
            "consents": ConsentEventSerializer(data.consents, many=True).data,
            "organisations": [_relation(r, r.organisation) for r in data.memberships],
            "members": [_relation(r, r.person) for r in data.members],
            "subsidiaries": [{"id": c.pk, "display_name": c.display_name} for c in data.subsidiaries],
            "timeline": ActivitySerializer(data.timeline, many=True).data,
            "timeline_next": data.timeline_cursor,
            "panels": [{"key": p["key"], "title": p["title"], "data": p["data"]} for p in data.panels],
        }
        response = Response(body)
        response["ETag"] = etag_for(customer.version)
        return response

    @extend_schema(
        responses=ActivitySerializer(many=True),
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        paginator = TimelinePagination()
        page = paginator.paginate_queryset(
            Activity.objects.filter(customer=customer).select_related("actor"), request, view=self
        )
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
            contact_point = services.contact_point_add(actor=request.user, customer_id=customer.pk, data=data)
            return Response(ContactPointSerializer(contact_point).data, status=status.HTTP_201_CREATED)
        return Response(ContactPointSerializer(customer.contact_points.all(), many=True).data)

    @extend_schema(responses={204: None}, filters=False)
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"contact-points/(?P<contact_point_id>\d{1,18})",
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
        customer = self.get_object()
        if request.method == "POST":
            if not request.user.has_perm("customers.add_consentevent"):
                raise exceptions.PermissionDenied()
            data = ConsentInputSerializer.validated(request.data)
            event = services.consent_record(actor=request.user, customer_id=customer.pk, **data)
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
            OpenApiParameter("customer", OpenApiTypes.INT, description="Only candidates for this customer"),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def duplicates(self, request: Request) -> Response:
        limit = _bounded_int(request.query_params.get("limit"), default=100, low=1, high=500, name="limit")
        customer_id = request.query_params.get("customer")
        if customer_id is not None:
            customer = selectors.customer_get(
                customer_id=_bounded_int(customer_id, default=0, low=1, high=2**62, name="customer")
            )
            pairs = selectors.duplicates_for(customer=customer, limit=min(limit, 50))
        else:
            pairs = selectors.duplicate_candidates(limit=limit)
        return Response(DuplicatePairSerializer(pairs, many=True).data)

    @extend_schema(
        methods=["GET"],
        responses=MergePreviewSerializer,
        parameters=[OpenApiParameter("duplicate", OpenApiTypes.INT, required=True)],
        filters=False,
    )
    @extend_schema(methods=["POST"], request=MergeInputSerializer, responses=CustomerSerializer)
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def merge(self, request: Request, pk: str | None = None) -> Response:
        """GET previews what would move; POST merges `duplicate` into this customer."""
        customer = self.get_object()
        if not request.user.has_perm("customers.merge_customer"):
            raise exceptions.PermissionDenied("You may not merge customers.")
        if request.method == "GET":
            duplicate = _bounded_int(
                request.query_params.get("duplicate"), default=0, low=1, high=2**62, name="duplicate"
            )
            preview = selectors.merge_preview(survivor_id=customer.pk, duplicate_id=duplicate)
            return Response(MergePreviewSerializer(preview).data)
        data = MergeInputSerializer.validated(request.data)
        survivor = services.customer_merge(
            actor=request.user, survivor_id=customer.pk, duplicate_id=data["duplicate"]
        )
        survivor = self.get_queryset().get(pk=survivor.pk)
        response = Response(CustomerSerializer(survivor).data)
        response["ETag"] = etag_for(survivor.version)
        return response


def _bounded_int(raw: Any, *, default: int, low: int, high: int, name: str) -> int:
    if raw in (None, ""):
        if default:
            return default
        raise exceptions.ValidationError({name: ["This parameter is required."]})
    try:
        value = int(str(raw)[:20])
    except ValueError:
        raise exceptions.ValidationError({name: ["Expected a whole number."]}) from None
    if not low <= value <= high:
        raise exceptions.ValidationError({name: [f"Expected a number from {low} to {high}."]})
    return value


class TimelinePagination(CursorPagination):
    ordering = ("-occurred_at", "-id")


class ActivityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The timeline across customers; POST logs a note, call, e-mail or meeting."""

    serializer_class = ActivitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter
    pagination_class = TimelinePagination
    lookup_value_regex = r"\d{1,18}"
    queryset = Activity.objects.select_related("actor")

    @extend_schema(request=ActivityInputSerializer, responses={201: ActivitySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ActivityInputSerializer.validated(request.data)
        with transaction.atomic():
            activity = services.activity_log(
                actor=request.user,
                customer_id=data.pop("customer"),
                **data,
            )
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)
