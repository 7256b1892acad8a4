"""Systemic problems: many cases, one cause, routed to a back-office team.

Agents flag a case "likely systemic" (`case_flag_systemic`) and get a suggestion: the
open problem of the same category and product with most cases. A problem is opened
with the cases behind it (or they are linked later), routed to a team (billing,
warehouse, logistics, product) by its category unless told. The team records the root
cause and the fix; resolving it (`problem_resolve`) writes a note on every linked case,
notifies each case's agent, and, when asked, tells each customer once through the
outbound room (template `problem-resolved`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import timezone

from backoffice_sync.models import Product
from customers.outbound.services import send_to_customer
from frontoffice.actors import Actor, SystemActor, user_of
from frontoffice.errors import Conflict
from frontoffice.write_path import (
    as_id,
    audit,
    authorize,
    bump_version,
    check_version,
    clean_text,
    lock,
    lock_many,
)
from service.loop.choices import (
    DEFAULT_TEAM,
    OPEN_PROBLEM_STATUSES,
    BackOfficeTeam,
    ProblemCategory,
    ProblemStatus,
)
from service.loop.models import Problem, ProblemCase, SystemicFlag
from service.models import Case
from service.notifications import notify
from service.services import lock_case_named, record, system_note

# Who tells customers a problem is fixed: the system, on behalf of the resolving team.
PROBLEM_NOTICE = SystemActor("problem notices")
RESOLVED_TEMPLATE = "problem-resolved"


class ProblemActivity:
    LINKED = "problem_linked"
    RESOLVED = "problem_resolved"


def _product(errors: dict[str, list[str]], sku: object) -> Product | None:
    if sku in (None, ""):
        return None
    found = Product.objects.filter(sku=sku).first() if isinstance(sku, str) else None
    if found is None:
        errors["product"] = ["No such product (give its SKU)."]
    return found


def _choice(errors: dict[str, list[str]], field: str, value: object, values: list[str]) -> str:
    if value not in values:
        errors[field] = [f"Choose one of: {', '.join(values)}."]
        return ""
    return str(value)


def _cases(errors: dict[str, list[str]], case_ids: Iterable[object]) -> list[Case]:
    ids = [as_id(pk) for pk in case_ids]
    if any(pk is None for pk in ids):
        errors["cases"] = ["Case ids are positive numbers."]
        return []
    cases = list(lock_many(Case, ids).values())
    missing = sorted({pk for pk in ids if pk is not None} - {c.pk for c in cases})
    if missing:
        errors["cases"] = [f"No such case: {', '.join(map(str, missing))}."]
    taken = [
        f"Case {link.case_id} already belongs to {link.problem.reference}."
        for link in ProblemCase.objects.filter(case__in=cases).select_related("problem")
    ]
    if taken:  # a valid request the current state refuses: 409, not 400
        raise Conflict(" ".join(taken), errors={"cases": taken})
    return cases


def _link(problem: Problem, cases: list[Case], actor: Actor) -> None:
    ProblemCase.objects.bulk_create(
        ProblemCase(problem=problem, case=case, linked_by=user_of(actor)) for case in cases
    )
    for case in cases:
        system_note(
            case,
            actor,
            f"Linked to problem {problem.reference} ({problem.get_team_display()}): {problem.title}",
        )
        record(
            case,
            actor,
            ProblemActivity.LINKED,
            f"Case {case.reference} linked to problem {problem.reference}",
        )


@transaction.atomic
def problem_open(
    *,
    actor: Actor,
    title: str,
    category: str,
    description: str = "",
    product: str | None = None,
    team: str | None = None,
    case_ids: Iterable[object] = (),
) -> Problem:
    """A new problem, routed to `team` (by default the category's), with its cases."""
    authorize(actor, "service.add_problem", message="You may not open problems.")
    errors: dict[str, list[str]] = {}
    problem = Problem(
        title=clean_text(errors, "title", title, 200),
        description=clean_text(errors, "description", description, 20000),
        category=_choice(errors, "category", category, ProblemCategory.values),
        product=_product(errors, product),
        opened_by=user_of(actor),
    )
    if not problem.title and "title" not in errors:
        errors["title"] = ["Say what the problem is."]
    chosen_team = (
        team or DEFAULT_TEAM.get(ProblemCategory(category)) if category in ProblemCategory.values else team
    )
    problem.team = _choice(errors, "team", chosen_team, BackOfficeTeam.values)
    cases = _cases(errors, case_ids)
    if errors:
        raise ValidationError(errors)
    audit(problem, actor)
    problem.save()
    _link(problem, cases, actor)
    return problem


@transaction.atomic
def problem_link_cases(
    *, actor: Actor, problem_id: int, case_ids: Iterable[object], expected_version: int | None = None
) -> Problem:
    """Link more cases to an open problem."""
    authorize(actor, "service.add_problemcase", message="You may not link cases to problems.")
    problem = lock(Problem, problem_id, what="problem")
    check_version(problem, expected_version)
    errors: dict[str, list[str]] = {}
    if problem.status not in OPEN_PROBLEM_STATUSES:
        errors["status"] = ["This problem is resolved: open a new one."]
    cases = _cases(errors, case_ids)
    if not cases and not errors:
        errors["cases"] = ["Name at least one case."]
    if errors:
        raise ValidationError(errors)
    _link(problem, cases, actor)
    bump_version(problem)
    problem.save(update_fields=["version", "updated_at"])
    return problem


@transaction.atomic
def problem_update(*, actor: Actor, problem_id: int, expected_version: int | None, **changes: Any) -> Problem:
    """The team's work on a problem: route it, take it, investigate, record the cause."""
    authorize(actor, "service.change_problem", message="You may not work on problems.")
    problem = lock(Problem, problem_id, what="problem")
    check_version(problem, expected_version)
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - {"title", "description", "team", "status", "root_cause", "fix", "owner"}
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]
    if problem.status == ProblemStatus.RESOLVED:
        errors["status"] = ["A resolved problem is not changed: open a new one."]
    for field, limit in (("title", 200), ("description", 20000), ("root_cause", 5000), ("fix", 5000)):
        if field in changes:
            setattr(problem, field, clean_text(errors, field, changes[field], limit))
    if "title" in changes and not problem.title:
        errors.setdefault("title", []).append("Say what the problem is.")
    if "team" in changes:
        problem.team = _choice(errors, "team", changes["team"], BackOfficeTeam.values)
    if "status" in changes:
        problem.status = _choice(errors, "status", changes["status"], list(OPEN_PROBLEM_STATUSES))
        if "status" in errors:
            errors["status"].append("Resolve a problem with its resolve action.")
    if "owner" in changes:
        from frontoffice.models import User

        owner_id = changes["owner"]
        problem.owner = (
            User.objects.filter(pk=as_id(owner_id) or 0, is_active=True).first() if owner_id else None
        )
        if owner_id and problem.owner is None:
            errors["owner"] = ["No such active user."]
    if errors:
        raise ValidationError(errors)
    bump_version(problem)
    audit(problem, actor)
    problem.save()
    return problem


@transaction.atomic
def problem_resolve(
    *,
    actor: Actor,
    problem_id: int,
    fix: str,
    root_cause: str = "",
    inform_customers: bool = False,
    expected_version: int | None = None,
) -> Problem:
    """The team fixed it: every linked case gets a note and its agent a notification;
    with `inform_customers`, each customer gets the `problem-resolved` message once."""
    authorize(actor, "service.change_problem", message="You may not resolve problems.")
    problem = lock(Problem, problem_id, what="problem")
    check_version(problem, expected_version)
    if problem.status == ProblemStatus.RESOLVED:
        raise Conflict(
            "This problem is already resolved.", errors={"status": ["This problem is already resolved."]}
        )
    errors: dict[str, list[str]] = {}
    problem.fix = clean_text(errors, "fix", fix, 5000)
    if not problem.fix and "fix" not in errors:
        errors["fix"] = ["Say what was fixed."]
    cause = clean_text(errors, "root_cause", root_cause, 5000)
    problem.root_cause = cause or problem.root_cause
    if not isinstance(inform_customers, bool):
        errors["inform_customers"] = ["Expected true or false."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    problem.status, problem.resolved_at, problem.resolved_by = ProblemStatus.RESOLVED, now, user_of(actor)
    links = list(problem.links.select_related("case__customer").order_by("id"))
    note = f"Problem {problem.reference} is resolved.\nRoot cause: {problem.root_cause or '—'}\nFix: {problem.fix}"
    informed: set[int] = set()
    for link in links:
        case = link.case
        system_note(case, actor, note)
        record(
            case,
            actor,
            ProblemActivity.RESOLVED,
            f"Problem {problem.reference} behind case {case.reference} resolved",
            body=problem.fix,
        )
        notify(
            recipient_ids=[case.assignee_id],
            kind="problem_resolved",
            message=f"Problem {problem.reference} behind your case {case.reference} is resolved: {problem.fix}",
            case=case,
        )
        if inform_customers and case.customer_id not in informed:
            send_to_customer(
                actor=PROBLEM_NOTICE,
                customer=case.customer_id,
                dedupe_key=f"problem-resolved:{problem.pk}",
                template=RESOLVED_TEMPLATE,
                context={
                    "problem": {"reference": problem.reference, "title": problem.title, "fix": problem.fix},
                    "case": {"reference": case.reference, "subject": case.subject},
                },
            )
            informed.add(case.customer_id)
    ProblemCase.objects.filter(pk__in=[link.pk for link in links]).update(notified_at=now)
    problem.customers_informed = len(informed)
    bump_version(problem)
    audit(problem, actor, reason="Resolved")
    problem.save()
    return problem


# --- "likely systemic" ---------------------------------------------------------------------


def problem_suggestion(*, category: str, product: str | None) -> Problem | None:
    """The open problem an agent's flagged case most likely belongs to: same category,
    the same product first (or one about no product), most cases first (one query)."""
    queryset = Problem.objects.filter(status__in=OPEN_PROBLEM_STATUSES, category=category)
    order = ["-cases", "-created_at", "-id"]
    if product:
        # A problem about this very product beats one about no product.
        queryset = queryset.filter(Q(product_id=product) | Q(product__isnull=True)).annotate(
            same_product=ExpressionWrapper(Q(product_id=product), output_field=BooleanField())
        )
        order = ["-same_product", *order]
    return queryset.annotate(cases=Count("links")).order_by(*order).first()


@transaction.atomic
def case_flag_systemic(
    *, actor: Actor, case_id: int, category: str | None = None, product: str | None = None, note: str = ""
) -> SystemicFlag:
    """Mark a case "likely systemic" (again: the flag is updated)."""
    authorize(actor, "service.add_systemicflag", message="You may not flag cases.")
    case = lock_case_named(case_id)  # named in the body: a 400 for "case", not a 404
    errors: dict[str, list[str]] = {}
    chosen = _choice(errors, "category", category or case.category, ProblemCategory.values)
    found = _product(errors, product)
    text = clean_text(errors, "note", note, 500)
    if errors:
        raise ValidationError(errors)
    flag, _ = SystemicFlag.objects.update_or_create(
        case=case, defaults={"category": chosen, "product": found, "note": text, "flagged_by": user_of(actor)}
    )
    system_note(case, actor, f"Flagged as likely systemic ({flag.get_category_display()}). {text}".strip())
    return flag
