"""Every write of opportunities: create (also from a converted lead), update, the edit
page's save, moves through the stages, win and lose. One function per business action,
one transaction each, keyword-only arguments; timeline entries commit with the change.

(Pipelines and their stages: `services_pipelines`.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.errors import Conflict
from frontoffice.models import User
from frontoffice.permissions import can_edit_owned
from frontoffice.write_path import as_id, authorize, bump_version, check_version, clean_date, clean_text, lock
from sales.leads.models import Lead
from sales.pipeline.models import Opportunity, OpportunityLine, OpportunityStatus, Pipeline, Stage, StageKind
from sales.pipeline.services_pipelines import default_pipeline
from sales.pipeline.values import MAX_AMOUNT, campaign_reference, clean_lines, currency_code, money
from sales.timeline import SOURCE_APP, ActivityKinds
from sales.unset import UNSET, Unset, given, given_fields

DEFAULT_CURRENCY = "EUR"
ANY_OPPORTUNITY = "sales.change_any_opportunity"
CHANGE_OPPORTUNITY = "sales.change_opportunity"
NOT_YOURS = "You may only edit opportunities you or your team own."


class OpportunityDraft(TypedDict, total=False):
    """A new opportunity's fields besides its customer (what converting a lead takes)."""

    name: str
    amount: Decimal
    currency: str
    pipeline: int | Pipeline | None
    stage: int | Stage | None
    expected_close_date: dt.date | None
    next_step: str
    owner: User | None
    lines: Sequence[Mapping[str, Any]]


# --- who may -----------------------------------------------------------------------------


def can_edit_opportunity(actor: Any, opportunity: Opportunity) -> bool:
    return bool(actor.has_perm(CHANGE_OPPORTUNITY)) and can_edit_owned(
        actor, opportunity, any_permission=ANY_OPPORTUNITY
    )


def _locked_for_change(actor: Actor, opportunity_id: int, expected_version: int | None) -> Opportunity:
    opp = lock(Opportunity, opportunity_id, what="opportunity")
    authorize(actor, CHANGE_OPPORTUNITY, obj=opp, owner_bypass=ANY_OPPORTUNITY, message=NOT_YOURS)
    check_version(opp, expected_version)
    return opp


def live_customer(value: Customer | int) -> Customer:
    """The customer, locked, when it is live (not merged away); else a field error."""
    customer_id = as_id(value)
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        raise ValidationError({"customer": ["No such customer."]})
    if customer.merged_into_id is not None:
        raise ValidationError(
            {"customer": [f"That customer was merged into customer {customer.merged_into_id}."]}
        )
    return customer


# --- the fields' rules ----------------------------------------------------------------


def _stage_for(errors: dict[str, list[str]], pipeline_id: int, stage: Any) -> Stage | None:
    if stage is None:
        first = Stage.objects.filter(pipeline_id=pipeline_id, kind=StageKind.OPEN).order_by("order").first()
        if first is None:
            errors["stage"] = ["This pipeline has no open stage."]
        return first
    stage_id = as_id(stage)
    found = Stage.objects.filter(pk=stage_id).first() if stage_id else None
    if found is None:
        errors["stage"] = ["No such stage."]
        return None
    if found.pipeline_id != pipeline_id:
        errors["stage"] = ["This stage belongs to another pipeline."]
        return None
    return found


def _apply_fields(
    opp: Opportunity, changes: Mapping[str, Any], *, creating: bool
) -> list[OpportunityLine] | None:
    """Set the given fields on `opp`; the new lines when `lines` is given (not saved).
    One ValidationError names every field that is wrong."""
    errors: dict[str, list[str]] = {}
    if "name" in changes or creating:
        opp.name = clean_text(errors, "name", changes.get("name"), 200)
        if not opp.name and "name" not in errors:
            errors["name"] = ["An opportunity needs a name."]
    if "currency" in changes or creating:
        opp.currency = currency_code(errors, changes.get("currency", DEFAULT_CURRENCY))
    if "amount" in changes:
        opp.amount = money(errors, "amount", changes["amount"])
    if "next_step" in changes:
        opp.next_step = clean_text(errors, "next_step", changes["next_step"], 300)
    if "expected_close_date" in changes:
        opp.expected_close_date = clean_date(errors, "expected_close_date", changes["expected_close_date"])
    if "owner" in changes:
        opp.owner = changes["owner"]
    if "campaign_id" in changes:
        opp.campaign_id = campaign_reference(errors, changes["campaign_id"])
    if creating:
        _place_new(errors, opp, changes.get("pipeline"), changes.get("stage"))
    lines = None
    if "lines" in changes:
        lines = clean_lines(errors, changes["lines"], opp.currency or DEFAULT_CURRENCY)
        if lines and "amount" not in changes and not errors:
            opp.amount = sum((line.total for line in lines), Decimal("0"))
            if opp.amount > MAX_AMOUNT:
                errors["amount"] = ["The amount is too large."]
    if errors:
        raise ValidationError(errors)
    return lines


def _place_new(errors: dict[str, list[str]], opp: Opportunity, pipeline: Any, stage: Any) -> None:
    """A new opportunity's pipeline (default: the default one) and open stage."""
    found: Pipeline | None
    if pipeline is None:
        try:
            found = default_pipeline()
        except Conflict as exc:
            errors["pipeline"] = [exc.detail]
            return
    else:
        pipeline_id = as_id(pipeline)
        found = Pipeline.objects.filter(pk=pipeline_id).first() if pipeline_id else None
        if found is None:
            errors["pipeline"] = ["No such pipeline."]
            return
    opp.pipeline = found
    first = _stage_for(errors, found.pk, stage)
    if first is not None:
        if first.kind != StageKind.OPEN:
            errors["stage"] = ["A new opportunity starts in an open stage; win or lose it afterwards."]
        opp.stage = first


def _replace_lines(opp: Opportunity, lines: list[OpportunityLine], *, existing: bool) -> None:
    if existing:
        opp.lines.all().delete()
    for line in lines:
        line.opportunity = opp
    OpportunityLine.objects.bulk_create(lines)


def _record(actor: Actor, opp: Opportunity, kind: str, subject: str, **payload: Any) -> None:
    activity_record(
        customer_id=opp.customer_id,
        kind=kind,
        actor=actor,
        source_app=SOURCE_APP,
        subject=subject[:200],
        ref=opp,
        payload={"opportunity_id": opp.pk, **payload},
    )


# --- create and change -------------------------------------------------------------------


@transaction.atomic
def opportunity_create(
    *,
    actor: Actor,
    customer: Customer | int,
    name: str = "",
    amount: Decimal | Unset = UNSET,
    currency: str = DEFAULT_CURRENCY,
    pipeline: int | Pipeline | None = None,
    stage: int | Stage | None = None,
    expected_close_date: dt.date | None = None,
    next_step: str = "",
    owner: User | Unset | None = UNSET,
    lines: Sequence[Mapping[str, Any]] = (),
    campaign_id: int | None = None,
    source_lead: Lead | None = None,
) -> Opportunity:
    """A new opportunity for a live customer, in an open stage of `pipeline` (default:
    the default pipeline's first open stage). Without `amount`, the lines' total; without
    `owner`, the actor's."""
    authorize(actor, "sales.add_opportunity", message="You may not create opportunities.")
    target = live_customer(customer)
    opp = Opportunity(customer=target, source_lead=source_lead)
    changes: dict[str, Any] = {
        "name": name,
        "currency": currency,
        "pipeline": pipeline,
        "stage": stage,
        "expected_close_date": expected_close_date,
        "next_step": next_step,
        "owner": owner if given(owner) else user_of(actor),
        "lines": list(lines),
        "campaign_id": campaign_id,
    }
    if given(amount):
        changes["amount"] = amount
    new_lines = _apply_fields(opp, changes, creating=True)
    opp.save()
    if new_lines:
        _replace_lines(opp, new_lines, existing=False)
    activity_record(
        customer_id=target.pk,
        kind=ActivityKinds.OPPORTUNITY_CREATED,
        actor=actor,
        source_app=SOURCE_APP,
        subject=f"Opportunity opened: {opp.name}"[:200],
        ref=opp,
        payload={"stage": opp.stage.name, "amount": str(opp.amount), "currency": opp.currency},
    )
    return opp


@transaction.atomic
def opportunity_update(
    *,
    actor: Actor,
    opportunity_id: int,
    expected_version: int | None,
    name: str | Unset = UNSET,
    amount: Decimal | Unset = UNSET,
    currency: str | Unset = UNSET,
    expected_close_date: dt.date | Unset | None = UNSET,
    next_step: str | Unset = UNSET,
    owner: User | Unset | None = UNSET,
    lines: Sequence[Mapping[str, Any]] | Unset = UNSET,
    campaign_id: int | Unset | None = UNSET,
) -> Opportunity:
    """Change the fields given (the others stay); `lines` replace all lines. The stage
    changes through `opportunity_move` (or the edit page's `opportunity_edit`)."""
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    new_lines = _apply_fields(
        opp,
        given_fields(
            name=name,
            amount=amount,
            currency=currency,
            expected_close_date=expected_close_date,
            next_step=next_step,
            owner=owner,
            lines=lines,
            campaign_id=campaign_id,
        ),
        creating=False,
    )
    bump_version(opp)
    opp.save()
    if new_lines is not None:
        _replace_lines(opp, new_lines, existing=True)
    return opp


@transaction.atomic
def opportunity_edit(
    *,
    actor: Actor,
    opportunity_id: int,
    expected_version: int | None,
    stage: int | Stage | None = None,
    name: str | Unset = UNSET,
    amount: Decimal | Unset = UNSET,
    currency: str | Unset = UNSET,
    expected_close_date: dt.date | Unset | None = UNSET,
    next_step: str | Unset = UNSET,
    owner: User | Unset | None = UNSET,
    lines: Sequence[Mapping[str, Any]] | Unset = UNSET,
) -> Opportunity:
    """The edit page's save: the fields `opportunity_update` takes and, in the same
    transaction and under the same version check, a move to another open or won stage
    of the opportunity's pipeline (losing needs a reason: `opportunity_lose`). Every
    problem is reported at once, keyed by field; nothing is written then."""
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    errors: dict[str, list[str]] = {}
    target = None
    if stage is not None:
        target = _stage_for(errors, opp.pipeline_id, stage)
        if target is not None and target.kind == StageKind.LOST and target.pk != opp.stage_id:
            errors["stage"] = ["To mark it lost, use “Mark as lost” on the opportunity page and say why."]
            target = None
    new_lines = None
    try:
        new_lines = _apply_fields(
            opp,
            given_fields(
                name=name,
                amount=amount,
                currency=currency,
                expected_close_date=expected_close_date,
                next_step=next_step,
                owner=owner,
                lines=lines,
            ),
            creating=False,
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if target is not None and target.pk != opp.stage_id:
        _set_stage(actor, opp, target)  # bumps the version, saves, records the move
    else:
        bump_version(opp)
        opp.save()
    if new_lines is not None:
        _replace_lines(opp, new_lines, existing=True)
    return opp


# --- stages ------------------------------------------------------------------------------


def _set_stage(actor: Actor, opp: Opportunity, stage: Stage, reason: str = "") -> Opportunity:
    old = opp.stage
    old_status = opp.status
    opp.stage = stage
    if stage.kind == StageKind.WON:
        opp.status, opp.lost_reason = OpportunityStatus.WON, ""
        opp.closed_at = timezone.now()
    elif stage.kind == StageKind.LOST:
        opp.status, opp.lost_reason = OpportunityStatus.LOST, reason
        opp.closed_at = timezone.now()
    else:
        opp.status, opp.lost_reason, opp.closed_at = OpportunityStatus.OPEN, "", None
    bump_version(opp)
    opp.save()
    payload = {"from_stage": old.name, "to_stage": stage.name, "probability": stage.probability}
    if opp.status == OpportunityStatus.WON:
        _record(
            actor,
            opp,
            ActivityKinds.WON,
            f"Opportunity won: {opp.name} ({opp.amount} {opp.currency})",
            **payload,
        )
    elif opp.status == OpportunityStatus.LOST:
        _record(actor, opp, ActivityKinds.LOST, f"Opportunity lost: {opp.name}", reason=reason, **payload)
    elif old_status != OpportunityStatus.OPEN:
        _record(
            actor, opp, ActivityKinds.REOPENED, f"Opportunity reopened in {stage.name}: {opp.name}", **payload
        )
    else:
        _record(actor, opp, ActivityKinds.STAGE_CHANGED, f"{opp.name}: {old.name} → {stage.name}", **payload)
    return opp


@transaction.atomic
def opportunity_move(
    *,
    actor: Actor,
    opportunity_id: int,
    stage: int | Stage | None,
    reason: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Move to another stage of the same pipeline; a won/lost stage closes it (lost
    needs a reason), an open stage reopens a closed one."""
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    errors: dict[str, list[str]] = {}
    target = _stage_for(errors, opp.pipeline_id, stage) if stage is not None else None
    if stage is None:
        errors["stage"] = ["Choose a stage."]
    reason = clean_text(errors, "reason", reason, 300)
    if target is not None and target.kind == StageKind.LOST and not reason and "reason" not in errors:
        errors["reason"] = ["Say why the opportunity was lost."]
    if errors or target is None:
        raise ValidationError(errors)
    if target.pk == opp.stage_id:
        return opp
    return _set_stage(actor, opp, target, reason)


def _closing_stage(opp: Opportunity, kind: str) -> Stage:
    stage = Stage.objects.filter(pipeline_id=opp.pipeline_id, kind=kind).order_by("order").first()
    if stage is None:
        raise Conflict(f"This pipeline has no {kind} stage.")
    return stage


@transaction.atomic
def opportunity_win(*, actor: Actor, opportunity_id: int, expected_version: int | None = None) -> Opportunity:
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    if opp.status == OpportunityStatus.WON:
        raise Conflict("This opportunity is already won.")
    return _set_stage(actor, opp, _closing_stage(opp, StageKind.WON))


@transaction.atomic
def opportunity_win_by_quote(*, actor: Actor, opportunity_id: int, amount: Decimal) -> Opportunity:
    """The customer accepted a quote of the opportunity: it is won, and worth what the
    quote sold (its net subtotal: what the forecast counts, tax is not revenue), whether
    it was open or already marked won by hand."""
    opp = _locked_for_change(actor, opportunity_id, None)
    opp.amount = amount
    if opp.status != OpportunityStatus.WON:
        return _set_stage(actor, opp, _closing_stage(opp, StageKind.WON))
    bump_version(opp)
    opp.save()
    return opp


@transaction.atomic
def opportunity_lose(
    *, actor: Actor, opportunity_id: int, reason: str, expected_version: int | None = None
) -> Opportunity:
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    errors: dict[str, list[str]] = {}
    reason = clean_text(errors, "reason", reason, 300)
    if not reason and not errors:
        errors["reason"] = ["Say why the opportunity was lost."]
    if errors:
        raise ValidationError(errors)
    if opp.status == OpportunityStatus.LOST:
        raise Conflict("This opportunity is already lost.")
    return _set_stage(actor, opp, _closing_stage(opp, StageKind.LOST), reason)
