"""REST API of the timeline: entries as clients read them, the filter by kind, and
/api/v1/activities/ (every customer's timeline; POST logs an interaction)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.request import Request

from customers.filters import ActivityFilter, TimelineFilter
from customers.guards import CustomerMerged
from customers.models import Activity
from customers.timeline import LOGGABLE_KINDS, activity_log
from customers.timeline_kinds import visible_to
from frontoffice.actors import Actor
from frontoffice.api import CursorPagination
from frontoffice.models import User
from frontoffice.serializers import DateTimeField, IdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet


class ActivitySerializer(serializers.ModelSerializer[Activity]):
    actor: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        help_text="The member of staff who acted (null for the system)."
    )

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
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in LOGGABLE_KINDS])
    subject = TextField(max_length=200)
    body = TextField(max_length=20000, required=False, allow_blank=True)
    occurred_at = DateTimeField(required=False)


class TimelinePagination(CursorPagination):
    ordering = ("-occurred_at", "-id")


def timeline_kind(request: Request) -> str | None:
    """`?kind=`: one of the declared timeline kinds, or None for all; 400 otherwise."""
    if not request.query_params.get("kind"):
        return None  # all kinds, as the filter answers for no or an empty `kind` (without building it)
    timeline_filter = TimelineFilter(request.query_params, queryset=Activity.objects.none())
    if not timeline_filter.is_valid():
        raise translate_validation(timeline_filter.errors)
    return timeline_filter.form.cleaned_data.get("kind") or None


def log_on_customer(*, actor: Actor, customer: int, **fields: Any) -> Activity:
    """`activity_log` for a body that names the customer: a customer that does not
    exist, or was merged, is that field's error (not the URL's 404 or a 409)."""
    try:
        return activity_log(actor=actor, customer_id=customer, **fields)
    except Http404:
        raise exceptions.ValidationError({"customer": ["No such customer."]}) from None
    except CustomerMerged as merged:
        raise exceptions.ValidationError(
            {"customer": [f"This customer was merged into customer {merged.survivor_id}."]}
        ) from None


@extend_schema_view(
    create=extend_schema(request=ActivityInputSerializer, responses={201: ActivitySerializer}),
)
class ActivityViewSet(ServiceViewSet):
    """The timeline across customers, newest first; POST logs a note, call, e-mail or
    meeting on a customer."""

    serializer_class = ActivitySerializer
    queryset = Activity.objects.select_related("actor")
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActivityFilter
    pagination_class = TimelinePagination
    create_input = ActivityInputSerializer
    create_service = staticmethod(log_on_customer)
    versioned = False  # timeline entries are immutable: no ETag
    # Entries are never changed: ServiceViewSet's PUT and PATCH are not routed (nor documented).
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        # Entries of a kind the user may not see (invoices for marketing) are not there:
        # absent from the list, 404 by id.
        return visible_to(self.request.user, super().get_queryset())

    def reread(self, instance: Any) -> Any:
        # A retrieve has just read the row through the queryset.
        return instance if self.action == "retrieve" else super().reread(instance)
