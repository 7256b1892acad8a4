"""REST API of the service loop (follow-ups; problems, surveys, inbound e-mail and
articles in their own modules)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers

from frontoffice.viewsets import ServiceViewSet, service_action
from service.loop import followups
from service.loop.models import FollowUp


class FollowUpSerializer(serializers.ModelSerializer[FollowUp]):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "kind",
            "title",
            "detail",
            "customer",
            "customer_name",
            "assignee",
            "order_ref",
            "case",
            "due_on",
            "done_at",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("all", str, enum=["1"], description="1: done ones too.")])
)
class FollowUpViewSet(ServiceViewSet[FollowUp]):
    """The signed-in user's follow-ups (open ones; `?all=1` for done ones too)."""

    serializer_class = FollowUpSerializer
    lookup_arg = "follow_up_id"
    versioned = False
    done = service_action(followups.follow_up_done, summary="Tick the follow-up off")
    action_permissions = {"done": {"POST": ["service.change_followup"]}}

    def get_queryset(self) -> QuerySet[FollowUp]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return FollowUp.objects.none()
        return followups.follow_ups_of(
            user=self.request.user, include_done=self.request.GET.get("all") == "1"
        )
