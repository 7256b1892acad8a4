"""REST API of problems (`/api/v1/service/problems/`) and "likely systemic" flags."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.api import ActionPermissions
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import ETAG
from frontoffice.serializers import IdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet, service_action
from service.loop import problems, selectors
from service.loop.choices import BackOfficeTeam, ProblemCategory, ProblemStatus
from service.loop.filters import ProblemFilter
from service.loop.models import Problem, SystemicFlag


class ServiceProblemSerializer(serializers.ModelSerializer[Problem]):
    reference = serializers.CharField(read_only=True)
    case_count = serializers.IntegerField(read_only=True)
    cases = serializers.SerializerMethodField()

    class Meta:
        model = Problem
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "category",
            "product",
            "team",
            "status",
            "root_cause",
            "fix",
            "owner",
            "resolved_at",
            "customers_informed",
            "case_count",
            "cases",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    def get_cases(self, problem: Problem) -> list[int]:
        """The linked cases' ids (on a single problem; the list leaves them out)."""
        cache = getattr(problem, "_prefetched_objects_cache", {})
        return [link.case_id for link in cache["links"]] if "links" in cache else []


class ProblemCreateSerializer(StrictSerializer):
    title = TextField(max_length=200)
    description = TextField(max_length=20000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=ProblemCategory.choices)
    product = TextField(max_length=64, required=False, allow_null=True, help_text="A product's SKU.")
    team = serializers.ChoiceField(
        choices=BackOfficeTeam.choices, required=False, help_text="Default: by category."
    )
    case_ids = serializers.ListField(child=IdField(), required=False, max_length=500)


class ProblemUpdateSerializer(StrictSerializer):
    title = TextField(max_length=200, required=False)
    description = TextField(max_length=20000, required=False, allow_blank=True)
    team = serializers.ChoiceField(choices=BackOfficeTeam.choices, required=False)
    status = serializers.ChoiceField(
        choices=[(ProblemStatus.OPEN, "Open"), (ProblemStatus.INVESTIGATING, "Investigating")], required=False
    )
    root_cause = TextField(max_length=5000, required=False, allow_blank=True)
    owner = IdField(required=False, allow_null=True)


class LinkInput(StrictSerializer):
    case_ids = serializers.ListField(child=IdField(), min_length=1, max_length=500)


class ResolveInput(StrictSerializer):
    fix = TextField(max_length=5000)
    root_cause = TextField(max_length=5000, required=False, allow_blank=True)
    inform_customers = serializers.BooleanField(required=False, help_text="E-mail each customer once.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=ProblemCreateSerializer, responses={201: ServiceProblemSerializer}, parameters=[ETAG]
    ),
)
class ProblemViewSet(ServiceViewSet[Problem]):
    """Systemic problems behind many cases, routed to back-office teams
    (`?team=billing&status=open`)."""

    serializer_class = ServiceProblemSerializer
    lookup_arg = "problem_id"
    create_input = ProblemCreateSerializer
    update_input = ProblemUpdateSerializer
    create_service = staticmethod(problems.problem_open)
    update_service = staticmethod(problems.problem_update)
    link = service_action(problems.problem_link_cases, input=LinkInput, summary="Link cases")
    resolve = service_action(
        problems.problem_resolve, input=ResolveInput, summary="Resolve: notes, notifications, e-mails"
    )
    action_permissions = {
        "link": {"POST": ["service.add_problemcase"]},
        "resolve": {"POST": ["service.change_problem"]},
    }

    filter_backends = [DjangoFilterBackend]
    filterset_class = ProblemFilter

    def get_queryset(self) -> QuerySet[Problem]:
        if self.action == "list":
            return selectors.problem_list()
        return selectors.problem_base().prefetch_related("links")

    def reread(self, instance: Any) -> Any:
        return selectors.problem_base().prefetch_related("links").filter(pk=instance.pk).first() or instance


class FlagInput(StrictSerializer):
    case = IdField()
    category = serializers.ChoiceField(choices=ProblemCategory.choices, required=False)
    product = TextField(max_length=64, required=False, allow_null=True)
    note = TextField(max_length=500, required=False, allow_blank=True)


class FlagSerializer(serializers.ModelSerializer[SystemicFlag]):
    suggested_problem = serializers.SerializerMethodField(
        help_text="The open problem it most likely belongs to."
    )

    class Meta:
        model = SystemicFlag
        fields = ["id", "case", "category", "product", "note", "created_at", "suggested_problem"]
        read_only_fields = fields

    def get_suggested_problem(self, flag: SystemicFlag) -> dict[str, Any] | None:
        found = problems.problem_suggestion(category=flag.category, product=flag.product_id)
        if found is None:
            return None
        return {"id": found.pk, "reference": found.reference, "title": found.title, "team": found.team}


class SystemicFlagViewSet(
    DeclaredQueryParameters, mixins.CreateModelMixin, viewsets.GenericViewSet[SystemicFlag]
):
    """Flag a case "likely systemic": the answer suggests an open problem to link it to."""

    serializer_class = FlagSerializer
    permission_classes = [ActionPermissions]
    queryset = SystemicFlag.objects.none()

    @extend_schema(request=FlagInput, responses={201: FlagSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = FlagInput.validated(request.data)
        flag = problems.case_flag_systemic(actor=request.user, case_id=data.pop("case"), **data)
        return Response(FlagSerializer(flag).data, status=status.HTTP_201_CREATED)
