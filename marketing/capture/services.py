"""A public lead form's submission: match or create the customer through the hub's
duplicate rules (`customers.selectors_duplicates.customer_matching`: same e-mail, else
same phone; a customer merged away resolves to its survivor), record the consent ticked
with its source, hand sales a lead with the campaign as its source and that customer on
it (`sales.lead_capture`, idempotent per capture key), mark the campaign's member as
responded, and recompute the score.

One submission per form token (issued with the form): a re-posted form writes nothing
twice. A bad submission raises ValidationError and writes nothing. The forms themselves
are made and changed here too (`lead_form_create`, `lead_form_update`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers import services as customer_services
from customers.choices import ConsentChannel, ConsentPurpose
from customers.consent import consent_record
from customers.normalise import normalise_email, normalise_phone
from customers.selectors_duplicates import customer_matching
from customers.timeline import activity_record
from frontoffice.actors import Actor, SystemActor
from frontoffice.write_path import as_id, authorize, bump_version, check_version, clean_text, lock
from marketing.campaigns.responses import SOURCE_APP, MemberActivity, member_respond
from marketing.choices import CampaignStatus, MemberStatus
from marketing.models import CampaignMember, FormSubmission, LeadForm
from sales.leads.services_capture import lead_capture

FORM_SALT = "marketing.form"
TOKEN_MAX_AGE = 60 * 60 * 24  # a form left open for a day is still accepted
# Who submits public forms: the part of the system that may make a customer, record the
# consent ticked, add a lead and mark the campaign's member.
LEAD_FORMS = SystemActor(
    "lead forms",
    frozenset(
        {
            "customers.add_customer",
            "customers.add_contactpoint",
            "customers.add_consentevent",
            "sales.add_lead",
            "marketing.change_campaignmember",
            "marketing.add_formsubmission",
        }
    ),
)
OPEN_CAMPAIGN = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING)


def form_token() -> str:
    """A fresh token for one rendering of a form (signed: a forged one is refused)."""
    return signing.dumps(secrets.token_hex(16), salt=FORM_SALT)


def _read_token(errors: dict[str, list[str]], token: Any) -> str:
    if not isinstance(token, str) or len(token) > 200:
        errors["token"] = ["This form has expired: reload the page and send it again."]
        return ""
    try:
        signing.loads(token, salt=FORM_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        errors["token"] = ["This form has expired: reload the page and send it again."]
        return ""
    return token[:64]


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    fields = {
        "first_name": clean_text(errors, "first_name", data.get("first_name"), 100),
        "last_name": clean_text(errors, "last_name", data.get("last_name"), 100),
        "company": clean_text(errors, "company", data.get("company"), 200),
        "message": clean_text(errors, "message", data.get("message"), 2000),
        "email": "",
        "phone": "",
        "consent": bool(data.get("consent")),
    }
    if not (fields["first_name"] or fields["last_name"]) and "first_name" not in errors:
        errors["first_name"] = ["Tell us your name."]
    raw_email = clean_text(errors, "email", data.get("email"), 254)
    raw_phone = clean_text(errors, "phone", data.get("phone"), 40)
    try:
        fields["email"] = normalise_email(raw_email) if raw_email else ""
    except ValidationError as exc:
        errors["email"] = exc.messages
    try:
        fields["phone"] = normalise_phone(raw_phone) if raw_phone else ""
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if not (raw_email or raw_phone):
        errors.setdefault("email", []).append("Give an e-mail address or a phone number.")
    if errors:
        raise ValidationError(errors)
    return fields


@transaction.atomic
def form_submit(
    *, actor: Actor, form_key: str, token: str, data: Mapping[str, Any], now: dt.datetime | None = None
) -> FormSubmission:
    """Take one submission of the form `form_key` (see the module's docstring)."""
    authorize(actor, "sales.add_lead", "customers.add_customer", message="You may not submit lead forms.")
    form = (
        LeadForm.objects.select_related("campaign").filter(public_key=str(form_key)[:32], active=True).first()
    )
    if form is None or form.campaign.status not in OPEN_CAMPAIGN:
        raise ValidationError({"form": ["This form is closed."]})
    errors: dict[str, list[str]] = {}
    key = _read_token(errors, token)
    if key:
        earlier = FormSubmission.objects.filter(token=key).first()
        if earlier is not None:
            return earlier
    try:
        fields = _clean(data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    when = now or timezone.now()
    # The hub's duplicate rules (same e-mail, else same phone; a tombstone resolves to
    # its survivor): the form's sender is the customer they already are.
    customer = customer_matching(email=fields["email"], phone=fields["phone"])
    created = customer is None
    if customer is None:
        customer = customer_services.customer_create(
            actor=actor,
            kind="person",
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            owner=None,
            contact_points=[
                {"kind": kind, "value": fields[kind]} for kind in ("email", "phone") if fields[kind]
            ],
        )
    source = f"Lead form “{form.name}” (campaign {form.campaign_id})"[:100]
    consents = []
    if fields["consent"]:
        consent_record(
            actor=actor,
            customer_id=customer.pk,
            channel=ConsentChannel.EMAIL,
            purpose=ConsentPurpose.MARKETING,
            granted=True,
            source=source,
            occurred_at=when,
            note=form.consent_text,
        )
        consents = [{"channel": ConsentChannel.EMAIL, "purpose": ConsentPurpose.MARKETING, "granted": True}]
    payload = {
        "capture_key": f"marketing-form:{form.pk}:{key}",
        "form_id": form.pk,
        "occurred_at": when,
        "first_name": fields["first_name"],
        "last_name": fields["last_name"] or "",
        "company": fields["company"],
        "email": fields["email"],
        "phone": fields["phone"],
        "message": fields["message"],
        "campaign_id": form.campaign_id,
        "consents": consents,
    }
    result = lead_capture(
        actor=actor, payload={k: v for k, v in payload.items() if v not in ("", None)}, customer=customer
    )
    try:
        with transaction.atomic():
            submission = FormSubmission.objects.create(
                form=form,
                token=key,
                customer=customer,
                lead_id=result.lead.pk,
                created_customer=created,
                occurred_at=when,
            )
    except IntegrityError:
        # The same form, posted twice at once: the first one's submission is the one.
        return FormSubmission.objects.get(token=key)
    member = CampaignMember.objects.filter(campaign_id=form.campaign_id, customer=customer).first()
    if member is not None:
        member_respond(actor=actor, member_id=member.pk, status=MemberStatus.RESPONDED, occurred_at=when)
    else:
        activity_record(
            customer_id=customer.pk,
            kind=MemberActivity.RESPONDED,
            actor=actor,
            source_app=SOURCE_APP,
            subject=f"Sent the lead form “{form.name}”"[:200],
            body=fields["message"],
            ref=form.campaign,
            payload={"campaign_id": form.campaign_id, "form_id": form.pk, "lead_id": result.lead.pk},
            occurred_at=when,
        )
    from marketing.capture.scoring import score_on_commit

    score_on_commit(customer.pk)
    return submission


@transaction.atomic
def lead_form_create(
    *, actor: Actor, campaign_id: int, name: str, consent_text: str = "", thank_you: str = ""
) -> LeadForm:
    """A public lead form for a campaign (embeddable by its public key)."""
    authorize(actor, "marketing.add_leadform", message="You may not create lead forms.")
    from marketing.models import Campaign

    errors: dict[str, list[str]] = {}
    campaign_pk = as_id(campaign_id)
    campaign = Campaign.objects.filter(pk=campaign_pk).first() if campaign_pk is not None else None
    if campaign is None:
        errors["campaign"] = ["No such campaign."]
    form = LeadForm(name=clean_text(errors, "name", name, 100))
    if not form.name and "name" not in errors:
        errors["name"] = ["Name the form."]
    if consent_text:
        form.consent_text = clean_text(errors, "consent_text", consent_text, 300)
    if thank_you:
        form.thank_you = clean_text(errors, "thank_you", thank_you, 300)
    if errors or campaign is None:
        raise ValidationError(errors)
    form.campaign = campaign
    form.save()
    return form


@transaction.atomic
def lead_form_update(
    *, actor: Actor, lead_form_id: int, expected_version: int | None, **fields: Any
) -> LeadForm:
    """Rename a lead form, change its consent or thank-you text, or deactivate it
    (`active` false: the public form takes nothing more) or activate it again."""
    form = lock(LeadForm, lead_form_id, what="lead form")
    authorize(actor, "marketing.change_leadform", message="You may not change lead forms.")
    check_version(form, expected_version)
    errors: dict[str, list[str]] = {}
    unknown = set(fields) - {"name", "consent_text", "thank_you", "active"}
    if unknown:
        errors["non_field_errors"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
    if "name" in fields:
        form.name = clean_text(errors, "name", fields["name"], 100)
        if not form.name and "name" not in errors:
            errors["name"] = ["Name the form."]
    for field in ("consent_text", "thank_you"):
        if field in fields:
            text = clean_text(errors, field, fields[field], 300)
            if not text and field not in errors:
                errors[field] = ["Write the text the form shows."]
            setattr(form, field, text)
    if "active" in fields:
        if not isinstance(fields["active"], bool):
            errors["active"] = ["Expected true or false."]
        else:
            form.active = fields["active"]
    if errors:
        raise ValidationError(errors)
    bump_version(form)
    form.save()
    return form
