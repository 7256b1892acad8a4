"""How the service desk plugs into the project (read by `frontoffice.plugin`).

This app was added by following docs/adding_an_app.md: its folder, its templates and
the installed-apps line are all it took."""

from __future__ import annotations

from django.urls import reverse

from frontoffice.plugin import (
    ApiRoute,
    AppHooks,
    CustomerFact,
    DemoStep,
    MergeReference,
    NavItem,
    NumberLookup,
    Panel,
    PeriodicTask,
    TimelineKind,
    TimelineTone,
)
from frontoffice.write_path import as_id
from service.api import CaseViewSet, OpenCasesPanelSerializer
from service.api_desk import CallViewSet, GoodwillViewSet, MetricsViewSet, QueueViewSet, SlaPolicyViewSet
from service.demo.history import seed_service_history
from service.loop import plug as loop
from service.numbers import case_hits
from service.roles import GRANTS
from service.selectors import open_cases_panel, open_complaint_customers
from service.services import CaseActivity


def _case_link(ref_id: str) -> str | None:
    return reverse("service:case_detail", args=[ref_id]) if as_id(ref_id) is not None else None


def _case_kind(code: str, label: str, icon: str, tone: TimelineTone) -> TimelineKind:
    return TimelineKind(
        code, label, icon, tone, ref_type="service.case", link=_case_link, link_permission="service.view_case"
    )


HOOKS = AppHooks(
    roles=GRANTS,
    urls="service.urls",
    url_prefix="service/",
    api_routes=[
        ApiRoute("service/cases", CaseViewSet, "service-case"),
        ApiRoute("service/calls", CallViewSet, "service-call"),
        ApiRoute("service/goodwill", GoodwillViewSet, "service-goodwill"),
        ApiRoute("service/queues", QueueViewSet, "service-queue"),
        ApiRoute("service/sla-policies", SlaPolicyViewSet, "service-sla-policy"),
        ApiRoute("service/metrics", MetricsViewSet, "service-metrics"),
        *loop.API_ROUTES,
    ],
    navigation=[
        NavItem("Console", "service:console", "service.add_call", order=19),
        NavItem("Cases", "service:case_list", "service.view_case", order=20),
        *loop.NAVIGATION,
    ],
    subscriptions=loop.SUBSCRIPTIONS,
    post_migrate=loop.POST_MIGRATE,
    panels=[
        Panel(
            key="open_cases",
            title="Open cases",
            loader=open_cases_panel,
            serializer=OpenCasesPanelSerializer,
            template="service/_panel_cases.html",
            permission="service.view_case",
            order=30,
            query_budget=1,
        )
    ],
    timeline_kinds=[
        _case_kind(CaseActivity.OPENED, "Case opened", "☏", TimelineTone.WARNING),
        _case_kind(CaseActivity.REPLIED, "Reply to the customer", "✉", TimelineTone.INFO),
        _case_kind(CaseActivity.RESOLVED, "Case resolved", "✓", TimelineTone.SUCCESS),
        _case_kind(CaseActivity.REOPENED, "Case reopened", "↺", TimelineTone.WARNING),
        _case_kind(CaseActivity.ESCALATED, "Case escalated", "⚠", TimelineTone.DANGER),
        TimelineKind(
            CaseActivity.CALL_LOGGED, "Service call", "☎", TimelineTone.INFO, ref_type="service.case"
        ),
        _case_kind(CaseActivity.GOODWILL_CREDITED, "Goodwill credit", "€", TimelineTone.SUCCESS),
        *loop.TIMELINE_KINDS,
    ],
    merge_references=[
        MergeReference("service.Case", "customer", "Cases"),
        MergeReference("service.Call", "customer", "Calls"),
        MergeReference("service.GoodwillCredit", "customer", "Goodwill credits"),
        *loop.MERGE_REFERENCES,
    ],
    customer_facts=[
        CustomerFact(
            "open_complaint",
            "Has an open complaint",
            open_complaint_customers,
            help="A complaint case not yet resolved or closed.",
        )
    ],
    periodic_tasks=[PeriodicTask("service-sla-sweep", "service.tasks.sla_sweep", 60.0), *loop.PERIODIC_TASKS],
    api_enums={
        "CaseKindEnum": "service.choices.CaseKind",
        "CaseChannelEnum": "service.choices.CaseChannel",
        "CasePriorityEnum": "service.choices.CasePriority",
        "CaseStatusEnum": "service.choices.CaseStatus",
        "CaseCategoryEnum": "service.choices.CaseCategory",
        "CallDirectionEnum": "service.choices.CallDirection",
        "CallOutcomeEnum": "service.choices.CallOutcome",
        "GoodwillStatusEnum": "service.choices.GoodwillStatus",
        "AssignmentStrategyEnum": "service.choices.AssignmentStrategy",
        "NoteVisibilityEnum": "service.choices.NoteVisibility",
        **loop.API_ENUMS,
    },
    demo_steps=[DemoStep("service", 40, seed_service_history), *loop.DEMO_STEPS],
    numbers=[NumberLookup("cases", "Cases", case_hits, ("case", "cases"), "service.view_case", order=40)],
)
