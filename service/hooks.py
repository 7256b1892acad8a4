"""How the service desk plugs into the project (read by `frontoffice.plugin`).

This app was added by following docs/adding_an_app.md: its folder, its templates and
the installed-apps line are all it took."""

from __future__ import annotations

from django.urls import reverse

from frontoffice.plugin import (
    ApiRoute,
    AppHooks,
    DemoStep,
    MergeReference,
    NavItem,
    Panel,
    TimelineKind,
    TimelineTone,
)
from frontoffice.write_path import as_id
from service.api import CaseViewSet, OpenCasesPanelSerializer
from service.demo.cases import seed_cases
from service.loop import plug as loop
from service.roles import GRANTS
from service.selectors import open_cases_panel
from service.services import CaseActivity


def _case_link(ref_id: str) -> str | None:
    return reverse("service:case_detail", args=[ref_id]) if as_id(ref_id) is not None else None


HOOKS = AppHooks(
    roles=GRANTS,
    urls="service.urls",
    url_prefix="service/",
    api_routes=[ApiRoute("service/cases", CaseViewSet, "service-case"), *loop.API_ROUTES],
    navigation=[NavItem("Cases", "service:case_list", "service.view_case", order=20), *loop.NAVIGATION],
    subscriptions=loop.SUBSCRIPTIONS,
    periodic_tasks=loop.PERIODIC_TASKS,
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
        TimelineKind(
            CaseActivity.OPENED,
            "Case opened",
            "☏",
            TimelineTone.WARNING,
            ref_type="service.case",
            link=_case_link,
            link_permission="service.view_case",
        ),
        *loop.TIMELINE_KINDS,
    ],
    merge_references=[MergeReference("service.Case", "customer", "Cases"), *loop.MERGE_REFERENCES],
    api_enums={
        "CaseKindEnum": "service.choices.CaseKind",
        "CaseChannelEnum": "service.choices.CaseChannel",
        "CasePriorityEnum": "service.choices.CasePriority",
        "CaseStatusEnum": "service.choices.CaseStatus",
        **loop.API_ENUMS,
    },
    demo_steps=[DemoStep("service", 40, seed_cases), *loop.DEMO_STEPS],
)
