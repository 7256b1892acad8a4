"""Writes of campaigns: configure (draft or scheduled), schedule, unschedule, cancel,
complete. The
launch (the audience snapshot) is launch.py; the states' transitions are
marketing.choices.TRANSITIONS, and every move is checked against them."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import CustomFieldDefinition
from frontoffice.actors import Actor, user_of
from frontoffice.errors import Conflict, DomainError
from frontoffice.models import User
from frontoffice.write_path import as_id, authorize, bump_version, check_version, clean_text, lock
from marketing.campaigns.content import unknown_placeholders
from marketing.choices import TRANSITIONS, CampaignChannel, CampaignStatus
from marketing.models import Campaign, Segment

NOT_GIVEN: Any = object()
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
MAX_BUDGET = Decimal("1e12")
LAUNCH = "marketing.launch_campaign"
log = logging.getLogger(__name__)


class BadTransition(Conflict):
    code = "campaign_state"
    title = "The campaign cannot make that move from its current state."


def check_transition(campaign: Campaign, target: str) -> None:
    if target not in TRANSITIONS[campaign.status]:
        raise BadTransition(
            f"A {campaign.get_status_display().lower()} campaign cannot become {CampaignStatus(target).label.lower()}."
        )


def _money(errors: dict[str, list[str]], value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if isinstance(value, bool) or not amount.is_finite() or not 0 <= amount < MAX_BUDGET:
        errors["budget"] = ["Expected an amount of 0 or more."]
        return Decimal("0")
    return amount.quantize(Decimal("0.01"))


def _when(errors: dict[str, list[str]], field: str, value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        errors[field] = ["Expected a date and time with its time zone."]
        return None
    return value


def _cap(errors: dict[str, list[str]], field: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 365:
        errors[field] = [f"Expected a whole number from {low} to 365."]
        return low
    return int(value)


def _apply(campaign: Campaign, changes: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "name" in changes:
        campaign.name = clean_text(errors, "name", changes["name"], 200)
        if not campaign.name and "name" not in errors:
            errors["name"] = ["Name the campaign."]
    if "channel" in changes:
        if changes["channel"] not in CampaignChannel.values:
            errors["channel"] = [f"Choose one of: {', '.join(CampaignChannel.values)}."]
        else:
            campaign.channel = changes["channel"]
    if "owner" in changes:
        owner_id = changes["owner"]
        owner_pk = as_id(owner_id)
        owner = User.objects.filter(pk=owner_pk, is_active=True).first() if owner_pk is not None else None
        if owner_id and owner is None:
            errors["owner"] = ["No such active user."]
        campaign.owner = owner
    if "budget" in changes:
        campaign.budget = _money(errors, changes["budget"])
    if "currency" in changes:
        currency = changes["currency"]
        if (
            not isinstance(currency, str)
            or len(currency) != 3
            or not currency.isascii()
            or not currency.isupper()
        ):
            errors["currency"] = ["Use a 3-letter ISO currency code in capitals, e.g. EUR."]
        else:
            campaign.currency = currency
    for field in ("starts_at", "ends_at"):
        if field in changes:
            setattr(campaign, field, _when(errors, field, changes[field]))
    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        errors.setdefault("ends_at", []).append("The end comes after the start.")
    if "segment" in changes:
        segment_id = changes["segment"]
        segment_pk = as_id(segment_id)
        segment = Segment.objects.filter(pk=segment_pk).first() if segment_pk is not None else None
        if segment_id and segment is None:
            errors["segment"] = ["No such segment."]
        campaign.segment = segment
    keys = None
    for field, limit in (("subject_template", 200), ("body_template", 20000)):
        if field in changes:
            text = clean_text(errors, field, changes[field], limit)
            if keys is None:
                keys = set(CustomFieldDefinition.objects.values_list("key", flat=True))
            unknown = unknown_placeholders(text, keys)
            if unknown:
                errors.setdefault(field, []).append(f"Unknown placeholders: {', '.join(unknown)}.")
            setattr(campaign, field, text)
    if "cap_messages" in changes:
        campaign.cap_messages = _cap(errors, "cap_messages", changes["cap_messages"], 0)
    if "cap_days" in changes:
        campaign.cap_days = _cap(errors, "cap_days", changes["cap_days"], 1)
    if errors:
        raise ValidationError(errors)


def ready_to_send(campaign: Campaign) -> None:
    """What a launch (or a schedule) needs: an audience and, for e-mail, content."""
    errors: dict[str, list[str]] = {}
    if campaign.segment_id is None:
        errors["segment"] = ["Choose the segment the campaign talks to."]
    if campaign.sends_email:
        if not campaign.subject_template:
            errors["subject_template"] = ["An e-mail campaign needs a subject."]
        if not campaign.body_template:
            errors["body_template"] = ["An e-mail campaign needs a body."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_create(*, actor: Actor, name: str, **fields: Any) -> Campaign:
    """A draft campaign; the actor owns it unless `owner` says otherwise."""
    authorize(actor, "marketing.add_campaign", message="You may not create campaigns.")
    campaign = Campaign(owner=user_of(actor))
    _apply(campaign, {"name": name, **fields})
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(
    *, actor: Actor, campaign_id: int, expected_version: int | None, **fields: Any
) -> Campaign:
    """Change a draft or scheduled campaign (a running one keeps what it was launched with)."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, "marketing.change_campaign", message="You may not change campaigns.")
    check_version(campaign, expected_version)
    if campaign.status not in EDITABLE:
        raise Conflict(f"A {campaign.get_status_display().lower()} campaign cannot be changed.")
    _apply(campaign, fields)
    if campaign.status == CampaignStatus.SCHEDULED:
        # Beat launches it at its start: it must stay launchable until then.
        still_launchable(campaign)
    campaign.launch_problem = ""
    bump_version(campaign)
    campaign.save()
    return campaign


def still_launchable(campaign: Campaign) -> None:
    """What a scheduled campaign keeps until beat launches it: a start, an end (if any)
    still to come, and what a launch needs (`ready_to_send`)."""
    errors: dict[str, list[str]] = {}
    if campaign.starts_at is None:
        errors["starts_at"] = ["A scheduled campaign needs its start: unschedule it first."]
    if campaign.ends_at is not None and campaign.ends_at <= timezone.now():
        errors["ends_at"] = ["The end of a scheduled campaign must still be to come."]
    try:
        ready_to_send(campaign)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_schedule(
    *,
    actor: Actor,
    campaign_id: int,
    expected_version: int | None = None,
    starts_at: dt.datetime | None = None,
) -> Campaign:
    """Schedule a draft: beat launches it at `starts_at` (given here or already set)."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, LAUNCH, message="You may not schedule campaigns.")
    check_version(campaign, expected_version)
    check_transition(campaign, CampaignStatus.SCHEDULED)
    if starts_at is not None:
        _apply(campaign, {"starts_at": starts_at})
    if campaign.starts_at is None or campaign.starts_at <= timezone.now():
        raise ValidationError({"starts_at": ["Schedule the campaign for a time still to come."]})
    ready_to_send(campaign)
    campaign.status = CampaignStatus.SCHEDULED
    campaign.launch_problem = ""
    bump_version(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_unschedule(
    *, actor: Actor, campaign_id: int, expected_version: int | None = None, problem: str = ""
) -> Campaign:
    """Take a scheduled campaign back to draft (beat will not launch it).

    `problem`: why, when beat could no longer launch it at its start; shown on the
    campaign until it is changed or scheduled again."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, LAUNCH, message="You may not unschedule campaigns.")
    check_version(campaign, expected_version)
    check_transition(campaign, CampaignStatus.DRAFT)
    campaign.status = CampaignStatus.DRAFT
    campaign.launch_problem = problem[:500]
    bump_version(campaign)
    campaign.save()
    return campaign


def _problem(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, ValidationError):
        texts = [
            f"{field.replace('_', ' ').capitalize()}: {text}"
            for field, messages in exc.message_dict.items()
            for text in messages
        ]
        return "Not launched at its start. " + " ".join(texts)
    return f"Not launched at its start. {exc.detail}"


def campaign_launch_due(*, actor: Actor, campaign_id: int) -> bool:
    """Beat's launch of a scheduled campaign whose start has come; True when launched.
    One that can no longer be launched (emptied since, its end passed, a conflict) goes
    back to draft with the reason on it (`launch_problem`) instead of failing beat's
    run; one no longer scheduled (launched or cancelled meanwhile) is left as it is."""
    from marketing.campaigns.launch import campaign_launch  # launch imports this module

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
        return False
    try:
        if campaign.ends_at is not None and campaign.ends_at <= timezone.now():
            raise ValidationError({"ends_at": ["The campaign's end passed before it could be launched."]})
        campaign_launch(actor=actor, campaign_id=campaign_id)
    except (ValidationError, DomainError) as exc:
        problem = _problem(exc)
        log.warning("Scheduled campaign %s could not be launched: %s", campaign_id, problem)
        try:
            campaign_unschedule(actor=actor, campaign_id=campaign_id, problem=problem)
        except DomainError:
            log.info("Campaign %s is no longer scheduled; left as it is.", campaign_id)
        return False
    return True


@transaction.atomic
def campaign_cancel(*, actor: Actor, campaign_id: int, expected_version: int | None = None) -> Campaign:
    """Cancel a campaign not yet over; members not yet sent to are sent nothing."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, LAUNCH, message="You may not cancel campaigns.")
    check_version(campaign, expected_version)
    check_transition(campaign, CampaignStatus.CANCELLED)
    campaign.status = CampaignStatus.CANCELLED
    campaign.cancelled_at = timezone.now()
    bump_version(campaign)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_complete(*, actor: Actor, campaign_id: int, expected_version: int | None = None) -> Campaign:
    """Close a running campaign (its end came, or a person ends it): responses still count."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, LAUNCH, message="You may not complete campaigns.")
    check_version(campaign, expected_version)
    check_transition(campaign, CampaignStatus.COMPLETED)
    campaign.status = CampaignStatus.COMPLETED
    campaign.completed_at = timezone.now()
    bump_version(campaign)
    campaign.save()
    return campaign
