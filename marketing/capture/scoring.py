"""Lead scoring: points per profile (a segment rule the customer matches) and per
behaviour (opens, clicks, form submissions, each decaying by half every
`half_life_days`), recomputed when an event happens (an open, a click, a form; a change of
the customer's profile, `on_profile_changed`) and by beat once a day for decay
(`scores_refresh_due`, in bounded batches); a customer whose score reaches the
threshold has their open leads routed to a sales owner (round robin, or by territory).

`score_compute` reads in a fixed number of queries whatever the number of rules: the
profile rules are one query (a sum of CASE WHEN), the behaviours two.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from customers.events import ProfileChanged
from customers.models import Customer, CustomFieldDefinition
from frontoffice.actors import Actor, SystemActor
from frontoffice.models import User
from frontoffice.roles import Role
from frontoffice.write_path import (
    authorize,
    bump_version,
    check_version,
    clean_text,
    enqueue_on_commit,
    lock,
)
from marketing.choices import RoutingMethod, ScoringEvent, ScoringKind
from marketing.models import CampaignMember, FormSubmission, LeadScore, RoutingSettings, ScoringRule
from marketing.segments.rules import compile_rules
from sales.leads.models import Lead, LeadStatus
from sales.leads.services import lead_update

SCORING = SystemActor(
    "lead scoring",
    frozenset({"marketing.change_leadscore", "sales.change_lead", "sales.change_any_lead"}),
)
MAX_POINTS = 1000


def score_compute(*, customer_id: int, now: dt.datetime | None = None) -> int:
    """The customer's score now (5 queries: rules, definitions, profile points, opens and
    clicks, forms)."""
    now = now or timezone.now()
    rules = list(ScoringRule.objects.filter(active=True))
    total = 0.0
    profile = [r for r in rules if r.kind == ScoringKind.PROFILE]
    if profile:
        definitions = list(CustomFieldDefinition.objects.all())
        whens = [
            When(
                compile_rules(r.criteria, definitions=definitions, now=now) or Q(pk__isnull=False),
                then=Value(r.points),
            )
            for r in profile
        ]
        # One CASE per rule (a CASE stops at its first match); summed in the database.
        expression = sum(
            (Case(w, default=Value(0), output_field=IntegerField()) for w in whens),
            start=Value(0),
        )
        row = (
            Customer.objects.filter(pk=customer_id).annotate(p=expression).values_list("p", flat=True).first()
        )
        total += float(row or 0)
    behaviour = [r for r in rules if r.kind == ScoringKind.BEHAVIOUR]
    if behaviour:
        events: dict[str, list[dt.datetime]] = {e: [] for e in ScoringEvent.values}
        for opened, clicked in CampaignMember.objects.filter(customer_id=customer_id).values_list(
            "opened_at", "clicked_at"
        ):
            if opened:
                events[ScoringEvent.OPENED].append(opened)
            if clicked:
                events[ScoringEvent.CLICKED].append(clicked)
        events[ScoringEvent.FORM_SUBMITTED] = list(
            FormSubmission.objects.filter(customer_id=customer_id).values_list("occurred_at", flat=True)
        )
        for rule in behaviour:
            for when in events[rule.event]:
                age_days = max((now - when).total_seconds() / 86400, 0.0)
                total += rule.points * math.pow(0.5, age_days / rule.half_life_days)
    return round(total)


def routing_settings() -> RoutingSettings:
    """The one routing configuration (made with its defaults on first use)."""
    settings_row, _ = RoutingSettings.objects.get_or_create(pk=1)
    return settings_row


def sales_reps() -> QuerySet[User]:
    """Who leads may be routed to: active users of the sales role."""
    return User.objects.filter(is_active=True, groups__name=Role.SALES).order_by("id").distinct()


def _route_to(settings_row: RoutingSettings, customer: Customer) -> User | None:
    """Territory: the rep named for the customer's value of the territory attribute;
    round robin (the next rep by id after the last one given a lead) when the method is
    round robin, the customer has no territory, or no active rep covers it."""
    reps = sales_reps()
    if settings_row.method == RoutingMethod.TERRITORY and settings_row.territory_attribute:
        territory = (customer.attributes or {}).get(settings_row.territory_attribute)
        rep_id = (settings_row.territories or {}).get(str(territory)) if territory is not None else None
        rep = reps.filter(pk=rep_id).first() if isinstance(rep_id, int) else None
        if rep is not None:
            return rep
    last = settings_row.last_assigned_id or 0
    rep = reps.filter(pk__gt=last).first() or reps.first()
    if rep is not None:
        settings_row.last_assigned = rep
        settings_row.save(update_fields=["last_assigned", "updated_at"])
    return rep


@transaction.atomic
def score_recompute(*, actor: Actor, customer_id: int, now: dt.datetime | None = None) -> LeadScore:
    """Store the customer's score; over the threshold for the first time, route their
    unassigned open leads to a sales owner."""
    authorize(actor, "marketing.change_leadscore")
    now = now or timezone.now()
    customer = Customer.objects.get(pk=customer_id)
    score = score_compute(customer_id=customer_id, now=now)
    row, _ = LeadScore.objects.select_for_update().get_or_create(
        customer=customer, defaults={"computed_at": now}
    )
    row.score = score
    row.computed_at = now
    routing = RoutingSettings.objects.select_for_update().filter(pk=1).first() or routing_settings()
    if score >= routing.threshold and row.routed_at is None:
        open_leads = list(
            Lead.objects.filter(
                owner__isnull=True,
                status__in=[LeadStatus.NEW, LeadStatus.QUALIFIED],
                capture_key__isnull=False,
                pk__in=FormSubmission.objects.filter(customer=customer).values("lead_id"),
            )
        )
        rep = _route_to(routing, customer) if open_leads else None
        if rep is not None:
            for lead in open_leads:
                lead_update(actor=SCORING, lead_id=lead.pk, expected_version=None, owner=rep)
            row.routed_at = now
            row.routed_to = rep
    row.save()
    return row


def score_on_commit(customer_id: int) -> None:
    """Recompute the customer's score once the event's transaction commits (a task)."""
    from marketing.tasks import lead_score_recompute

    enqueue_on_commit(lead_score_recompute, customer_id)


# A stored score older than this is recomputed by beat (`scores_refresh_due`): behaviour
# points decay with time, and profile rules may read time ("no activity for 60 days"),
# while events only recompute the customers they concern.
SCORE_REFRESH_AFTER = dt.timedelta(days=1)
REFRESH_BATCH = 200


def scores_refresh_due(
    *, actor: Actor, batch_size: int = REFRESH_BATCH, now: dt.datetime | None = None
) -> int:
    """Recompute the stored scores computed more than SCORE_REFRESH_AFTER ago, oldest
    first, at most `batch_size` of them (one query to pick them, then `score_recompute`'s
    few each); returns how many. Only customers who have a score are read, never every
    customer; a customer whose score is gone since is skipped."""
    authorize(actor, "marketing.change_leadscore")
    now = now or timezone.now()
    due = list(
        LeadScore.objects.filter(computed_at__lt=now - SCORE_REFRESH_AFTER)
        .order_by("computed_at", "customer_id")
        .values_list("customer_id", flat=True)[:batch_size]
    )
    for customer_id in due:
        score_recompute(actor=actor, customer_id=customer_id, now=now)
    return len(due)


def on_profile_changed(event: ProfileChanged) -> None:
    """`customers.events.ProfileChanged` (after commit): profile points may have changed,
    so the customer's score is recomputed (a task), when a profile rule is active."""
    if ScoringRule.objects.filter(active=True, kind=ScoringKind.PROFILE).exists():
        score_on_commit(event.customer_id)


# --- configuration --------------------------------------------------------------------------


def _apply_rule(rule: ScoringRule, changes: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "name" in changes:
        rule.name = clean_text(errors, "name", changes["name"], 100)
        if not rule.name and "name" not in errors:
            errors["name"] = ["Name the rule."]
    if "kind" in changes:
        if changes["kind"] not in ScoringKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(ScoringKind.values)}."]
        else:
            rule.kind = changes["kind"]
    if "event" in changes:
        rule.event = changes["event"] or ""
    if "criteria" in changes:
        rule.criteria = changes["criteria"] or {}
    for field, low, high in (("points", -MAX_POINTS, MAX_POINTS), ("half_life_days", 1, 3650)):
        if field in changes:
            value = changes[field]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[field] = [f"Expected a whole number from {low} to {high}."]
            else:
                setattr(rule, field, value)
    if "active" in changes:
        rule.active = bool(changes["active"])
    if rule.kind == ScoringKind.BEHAVIOUR and rule.event not in ScoringEvent.values:
        errors.setdefault("event", []).append(f"Choose one of: {', '.join(ScoringEvent.values)}.")
    if rule.kind == ScoringKind.PROFILE:
        rule.event = ""
        try:
            compile_rules(rule.criteria)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key.replace("rules", "criteria", 1), []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def scoring_rule_create(*, actor: Actor, name: str, kind: str, points: int, **fields: Any) -> ScoringRule:
    """A scoring rule (admins)."""
    authorize(actor, "marketing.add_scoringrule", message="You may not configure scoring.")
    rule = ScoringRule()
    _apply_rule(rule, {"name": name, "kind": kind, "points": points, **fields})
    rule.save()
    return rule


@transaction.atomic
def scoring_rule_update(
    *, actor: Actor, scoring_rule_id: int, expected_version: int | None, **fields: Any
) -> ScoringRule:
    rule = lock(ScoringRule, scoring_rule_id, what="scoring rule")
    authorize(actor, "marketing.change_scoringrule", message="You may not configure scoring.")
    check_version(rule, expected_version)
    _apply_rule(rule, fields)
    bump_version(rule)
    rule.save()
    return rule


MAX_THRESHOLD = 100000
MAX_TERRITORIES = 500


@transaction.atomic
def routing_settings_update(
    *, actor: Actor, expected_version: int | None, routing_settings_id: int = 1, **changes: Any
) -> RoutingSettings:
    """Change how leads over the threshold are routed (admins): `threshold`, `method`
    (round robin, territory), `territory_attribute` (a custom attribute's key) and
    `territories` ({attribute value: id of an active sales rep}). There is one row (id 1)."""
    authorize(actor, "marketing.change_routingsettings", message="You may not configure lead routing.")
    routing_settings()
    row = lock(RoutingSettings, routing_settings_id, what="routing settings")
    check_version(row, expected_version)
    errors: dict[str, list[str]] = {}
    unknown = set(changes) - {"threshold", "method", "territory_attribute", "territories"}
    if unknown:
        raise ValidationError({key: ["Unknown setting."] for key in sorted(unknown)})
    if "threshold" in changes:
        value = changes["threshold"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_THRESHOLD:
            errors["threshold"] = [f"Expected a whole number from 0 to {MAX_THRESHOLD}."]
        else:
            row.threshold = value
    if "method" in changes:
        if changes["method"] not in RoutingMethod.values:
            errors["method"] = [f"Choose one of: {', '.join(RoutingMethod.values)}."]
        else:
            row.method = changes["method"]
    if "territory_attribute" in changes:
        row.territory_attribute = clean_text(
            errors, "territory_attribute", changes["territory_attribute"], 50
        )
    if "territories" in changes:
        row.territories = _clean_territories(errors, changes["territories"])
    if (
        row.territory_attribute
        and not CustomFieldDefinition.objects.filter(key=row.territory_attribute).exists()
    ):
        errors.setdefault("territory_attribute", []).append("No custom attribute has this key.")
    if (
        row.method == RoutingMethod.TERRITORY
        and not row.territory_attribute
        and "territory_attribute" not in errors
    ):
        errors["territory_attribute"] = ["Name the custom attribute that holds the territory."]
    if errors:
        raise ValidationError(errors)
    bump_version(row)
    row.save()
    return row


def _clean_territories(errors: dict[str, list[str]], value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > MAX_TERRITORIES:
        errors["territories"] = [
            f"Expected an object of at most {MAX_TERRITORIES} territories: {{value: user id}}."
        ]
        return {}
    clean: dict[str, int] = {}
    for territory, rep_id in value.items():
        name = str(territory).strip()
        if not name or len(name) > 100 or "\x00" in name:
            errors.setdefault("territories", []).append("A territory is a value of 1 to 100 characters.")
        elif isinstance(rep_id, bool) or not isinstance(rep_id, int):
            errors.setdefault(f"territories.{name[:50]}", []).append("Expected a user id.")
        else:
            clean[name] = rep_id
    known = set(sales_reps().filter(pk__in=list(clean.values())).values_list("pk", flat=True))
    for name, rep_id in clean.items():
        if rep_id not in known:
            errors.setdefault(f"territories.{name[:50]}", []).append("No active sales rep has this id.")
    return clean


def ensure_routing_settings(*, using: str = "default", **_: Any) -> None:
    """A `post_migrate` receiver: the routing configuration's one row exists."""
    RoutingSettings.objects.using(using).get_or_create(pk=1)
