"""What the service loop adds to `service/hooks.py` (kept here, so the case desk's hooks
and the loop's grow apart without touching each other)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from backoffice_sync.events import InvoiceOverdue, OrderConfirmed, OrderShipped
from frontoffice.plugin import (
    ApiRoute,
    DemoStep,
    MergeReference,
    NavItem,
    PeriodicTask,
    Phase,
    Subscription,
    TimelineKind,
    TimelineTone,
)
from frontoffice.roles import Role
from frontoffice.write_path import as_id
from service.loop import proactive
from service.loop.api import FollowUpViewSet
from service.loop.api_knowledge import ArticleViewSet, CannedResponseViewSet
from service.loop.api_problems import ProblemViewSet, SystemicFlagViewSet
from service.loop.api_public import CsatSurveyViewSet, InboundEmailViewSet
from service.loop.csat import CsatActivity
from service.loop.demo import seed_loop
from service.loop.inbound import InboundActivity
from service.loop.problems import ProblemActivity

API_ROUTES = [
    ApiRoute("service/follow-ups", FollowUpViewSet, "service-follow-up"),
    ApiRoute("service/problems", ProblemViewSet, "service-problem"),
    ApiRoute("service/systemic-flags", SystemicFlagViewSet, "service-systemic-flag"),
    ApiRoute("service/csat", CsatSurveyViewSet, "service-csat"),
    ApiRoute("service/inbound-email", InboundEmailViewSet, "service-inbound-email"),
    ApiRoute("service/articles", ArticleViewSet, "service-article"),
    ApiRoute("service/canned-responses", CannedResponseViewSet, "service-canned-response"),
]
NAVIGATION = [
    NavItem("My follow-ups", "service:follow_ups", "service.view_followup", order=21),
    NavItem("Problems", "service:problem_queue", "service.view_problem", order=22),
    NavItem("Voice of the customer", "service:voice_of_customer", "service.view_problem", order=23),
]
SUBSCRIPTIONS: list[Subscription[Any]] = [
    Subscription(OrderConfirmed, proactive.on_order_confirmed, Phase.AFTER_COMMIT),
    Subscription(OrderShipped, proactive.on_order_shipped, Phase.AFTER_COMMIT),
    Subscription(InvoiceOverdue, proactive.on_invoice_overdue, Phase.AFTER_COMMIT),
]
PERIODIC_TASKS = [
    PeriodicTask("proactive-delay-sweep", "service.tasks.proactive_delay_sweep", 3600.0),
    PeriodicTask("csat-sweep", "service.tasks.csat_sweep", 600.0),
]
POST_MIGRATE = [proactive.ensure_default_templates]
DEMO_STEPS = [DemoStep("service-loop", 45, seed_loop)]
MERGE_REFERENCES = [
    MergeReference("service.FollowUp", "customer", "Follow-ups"),
    MergeReference("service.CsatSurvey", "customer", "Satisfaction surveys"),
    MergeReference("service.InboundEmail", "customer", "Inbound e-mails"),
]


def _case_link(ref_id: str) -> str | None:
    return reverse("service:case_detail", args=[ref_id]) if as_id(ref_id) is not None else None


def _case_kind(code: str, label: str, icon: str, tone: TimelineTone) -> TimelineKind:
    return TimelineKind(
        code, label, icon, tone, ref_type="service.case", link=_case_link, link_permission="service.view_case"
    )


TIMELINE_KINDS: list[TimelineKind] = [
    _case_kind(ProblemActivity.LINKED, "Linked to a problem", "⛓", TimelineTone.WARNING),
    _case_kind(ProblemActivity.RESOLVED, "Problem resolved", "✔", TimelineTone.SUCCESS),
    _case_kind(CsatActivity.ANSWERED, "Satisfaction rating", "★", TimelineTone.INFO),
    _case_kind(InboundActivity.RECEIVED, "E-mail on a case", "✉", TimelineTone.INFO),
]
API_ENUMS = {
    "FollowUpKindEnum": "service.loop.choices.FollowUpKind",
    "BackOfficeTeamEnum": "service.loop.choices.BackOfficeTeam",
    "ProblemStatusEnum": "service.loop.choices.ProblemStatus",
}
# {role: permissions} the loop adds to service/roles.py's GRANTS.
VIEW_LOOP = ["service.view_followup", "service.change_followup"]
# Agents flag cases and link them; the back office works and resolves problems.
READ_KB = ["service.view_article", "service.view_cannedresponse"]
WRITE_KB = [
    "service.add_article",
    "service.change_article",
    "service.add_cannedresponse",
    "service.change_cannedresponse",
]
FLAG = ["service.view_problem", "service.add_problem", "service.add_problemcase", "service.add_systemicflag"]
WORK_PROBLEMS = [
    "service.view_problem",
    "service.add_problem",
    "service.change_problem",
    "service.add_problemcase",
]
GRANTS: dict[str, list[str]] = {
    Role.SERVICE_AGENT: [*VIEW_LOOP, *FLAG, *READ_KB],
    Role.SERVICE_SUPERVISOR: [*VIEW_LOOP, *FLAG, *READ_KB, *WRITE_KB, "service.change_problem"],
    Role.SALES: VIEW_LOOP,
    Role.SALES_MANAGER: VIEW_LOOP,
    Role.BACK_OFFICE: [*VIEW_LOOP, *WORK_PROBLEMS],
    Role.ADMIN: [
        *VIEW_LOOP,
        *FLAG,
        *WORK_PROBLEMS,
        *READ_KB,
        *WRITE_KB,
        "service.add_followup",
        "service.delete_problem",
    ],
}
