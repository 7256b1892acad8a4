"""Every write of leads typed in by people or sent through the API: create, update,
qualify, disqualify and convert (into a customer and an opportunity). One function per
business action, one transaction each, keyword-only arguments.

`lead_fields_apply` holds the rules of a lead's fields, shared by the CSV import
(`services_import`) and marketing's captures (`services_capture`), which check each
row or payload exactly like a lead created here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.choices import ContactKind, CustomerKind
from customers.consent import consent_record
from customers.models import Customer
from customers.normalise import normalise_email, normalise_phone
from customers.services import customer_create, relationship_set
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.errors import Conflict
from frontoffice.models import User
from frontoffice.permissions import can_edit_owned
from frontoffice.write_path import authorize, bump_version, check_version, clean_text, lock
from sales.leads.models import Lead, LeadSource, LeadStatus
from sales.leads.selectors import Candidate, lead_duplicate_candidates
from sales.pipeline.models import Opportunity
from sales.pipeline.services import OpportunityDraft, live_customer, opportunity_create
from sales.pipeline.values import campaign_reference
from sales.timeline import SOURCE_APP, ActivityKinds
from sales.unset import UNSET, Unset, given_fields

ANY_LEAD = "sales.change_any_lead"
CHANGE_LEAD = "sales.change_lead"
ADD_LEAD = "sales.add_lead"
NOT_YOURS = "You may only work leads you or your team own, or unassigned ones."


class LeadConverted(Conflict):
    code = "lead_converted"
    title = "This lead was already converted."


class DuplicateCandidates(Conflict):
    """Converting a lead that looks like existing customers needs an explicit choice."""

    code = "duplicate_candidates"
    title = "This lead looks like existing customers."

    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        super().__init__(
            "Choose one of the candidate customers (customer) or explicitly create a new one "
            "(create_customer: true).",
            errors={
                "customer": [
                    f"#{c.customer.pk} {c.customer.display_name}: {', '.join(c.reasons)}" for c in candidates
                ]
            },
        )


# --- who may -----------------------------------------------------------------------------


def can_edit_lead(actor: Any, lead: Lead) -> bool:
    """Reps work their own and their team's leads, and unassigned ones (marketing forms
    and imports arrive without an owner: any rep may pick them up)."""
    if not actor.has_perm(CHANGE_LEAD):
        return False
    return lead.owner_id is None or can_edit_owned(actor, lead, any_permission=ANY_LEAD)


def _authorize_work(actor: Actor, lead: Lead) -> None:
    # An unassigned lead is anyone's to pick up: the owner rule applies to owned ones only.
    authorize(
        actor,
        CHANGE_LEAD,
        obj=lead if lead.owner_id is not None else None,
        owner_bypass=ANY_LEAD,
        message=NOT_YOURS,
    )


# --- the fields' rules ----------------------------------------------------------------


def lead_fields_apply(lead: Lead, changes: Mapping[str, Any]) -> None:
    """Set `changes` on the unsaved `lead`, normalised (e-mail, phone), or raise one
    ValidationError naming every field that is wrong; the lead then needs a name (a
    person's or an organisation's) and a title."""
    errors: dict[str, list[str]] = {}
    for field, length in (
        ("first_name", 100),
        ("last_name", 100),
        ("organisation_name", 200),
        ("title", 200),
        ("notes", 5000),
    ):
        if field in changes:
            setattr(lead, field, clean_text(errors, field, changes[field], length))
    if "email" in changes:
        raw = clean_text(errors, "email", changes["email"], 254)
        try:
            lead.email = normalise_email(raw) if raw else ""
        except ValidationError as exc:
            errors["email"] = exc.messages
    if "phone" in changes:
        raw = clean_text(errors, "phone", changes["phone"], 40)
        try:
            lead.phone = normalise_phone(raw) if raw else ""
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if "source" in changes:
        if changes["source"] not in LeadSource.values:
            errors["source"] = [f"Choose one of: {', '.join(LeadSource.values)}."]
        else:
            lead.source = changes["source"]
    if "campaign_id" in changes:
        lead.campaign_id = campaign_reference(errors, changes["campaign_id"])
    if "owner" in changes:
        lead.owner = changes["owner"]
    if not (lead.first_name or lead.last_name or lead.organisation_name):
        errors.setdefault("last_name", []).append("A lead needs a person's name or an organisation.")
    if not lead.title:
        errors.setdefault("title", []).append("Say what the lead is interested in.")
    if errors:
        raise ValidationError(errors)


# --- leads ---------------------------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: Actor,
    title: str = "",
    first_name: str = "",
    last_name: str = "",
    organisation_name: str = "",
    email: str = "",
    phone: str = "",
    notes: str = "",
    source: str = LeadSource.MANUAL,
    campaign_id: int | None = None,
    owner: User | Unset | None = UNSET,
) -> Lead:
    """A new lead. Without `owner` it is the rep's own; someone who may not work leads
    (marketing) puts it in the unassigned pool."""
    authorize(actor, ADD_LEAD, message="You may not create leads.")
    if isinstance(owner, Unset):
        owner = user_of(actor) if actor.has_perm(CHANGE_LEAD) else None
    lead = Lead()
    lead_fields_apply(
        lead,
        {
            "title": title,
            "first_name": first_name,
            "last_name": last_name,
            "organisation_name": organisation_name,
            "email": email,
            "phone": phone,
            "notes": notes,
            "source": source,
            "campaign_id": campaign_id,
            "owner": owner,
        },
    )
    lead.save()
    return lead


@transaction.atomic
def lead_update(
    *,
    actor: Actor,
    lead_id: int,
    expected_version: int | None,
    title: str | Unset = UNSET,
    first_name: str | Unset = UNSET,
    last_name: str | Unset = UNSET,
    organisation_name: str | Unset = UNSET,
    email: str | Unset = UNSET,
    phone: str | Unset = UNSET,
    notes: str | Unset = UNSET,
    source: str | Unset = UNSET,
    campaign_id: int | Unset | None = UNSET,
    owner: User | Unset | None = UNSET,
) -> Lead:
    """Change the fields given (the others stay); a converted lead no longer changes."""
    lead = lock(Lead, lead_id, what="lead")
    _authorize_work(actor, lead)
    check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted("A converted lead cannot change; edit the customer or the opportunity.")
    changes = given_fields(
        title=title,
        first_name=first_name,
        last_name=last_name,
        organisation_name=organisation_name,
        email=email,
        phone=phone,
        notes=notes,
        source=source,
        campaign_id=campaign_id,
        owner=owner,
    )
    lead_fields_apply(lead, changes)
    bump_version(lead)
    lead.save()
    return lead


@transaction.atomic
def lead_qualify(*, actor: Actor, lead_id: int, expected_version: int | None = None) -> Lead:
    """Qualified: worth a sales conversation. An unassigned lead becomes the actor's."""
    lead = lock(Lead, lead_id, what="lead")
    _authorize_work(actor, lead)
    check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted("A converted lead cannot be qualified again.")
    lead.status = LeadStatus.QUALIFIED
    lead.disqualified_reason = ""
    if lead.owner_id is None:
        lead.owner = user_of(actor)
    bump_version(lead)
    lead.save()
    return lead


@transaction.atomic
def lead_disqualify(*, actor: Actor, lead_id: int, reason: str, expected_version: int | None = None) -> Lead:
    lead = lock(Lead, lead_id, what="lead")
    _authorize_work(actor, lead)
    check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted("A converted lead cannot be disqualified.")
    errors: dict[str, list[str]] = {}
    reason = clean_text(errors, "reason", reason, 300)
    if not reason and not errors:
        errors["reason"] = ["Say why the lead is disqualified."]
    if errors:
        raise ValidationError(errors)
    lead.status = LeadStatus.DISQUALIFIED
    lead.disqualified_reason = reason
    bump_version(lead)
    lead.save()
    return lead


# --- conversion ------------------------------------------------------------------------------


def _new_customer_for(actor: Actor, lead: Lead) -> tuple[Customer, Customer | None]:
    """The customer the lead's opportunity is for, and the person who asked when that
    customer is their organisation (else None).

    B2B first: a lead from a company becomes that organisation, and the person who
    asked joins it as its primary contact (with the lead's e-mail and phone: they are
    the person's, not the company's); a lead with no company becomes the person."""
    contact_points = []
    if lead.email:
        contact_points.append({"kind": ContactKind.EMAIL, "value": lead.email})
    if lead.phone:
        contact_points.append({"kind": ContactKind.PHONE, "value": lead.phone})
    person_fields: dict[str, Any] = {
        "kind": CustomerKind.PERSON,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
    }
    has_person = bool(lead.last_name.strip())  # a person needs a last name (the profile's rule)
    try:
        if not lead.organisation_name:
            return customer_create(actor=actor, contact_points=contact_points, **person_fields), None
        organisation = customer_create(
            actor=actor,
            kind=CustomerKind.ORGANISATION,
            organisation_name=lead.organisation_name,
            contact_points=[] if has_person else contact_points,
        )
        if not has_person:
            return organisation, None
        person = customer_create(actor=actor, contact_points=contact_points, **person_fields)
    except ValidationError as exc:
        # The profile refuses a second customer with the same primary e-mail: that
        # customer is the one to pick.
        raise Conflict(
            "The customer profile refused a new customer for this lead; pick the existing one.",
            errors={
                ("customer" if k.startswith("contact_points") else k): v for k, v in exc.message_dict.items()
            },
        ) from None
    relationship_set(
        actor=actor, person_id=person.pk, organisation_id=organisation.pk, is_primary_contact=True
    )
    return organisation, person


def _record_captured_consents(actor: Actor, lead: Lead, customer: Customer) -> None:
    """The consents ticked on a marketing form (`services_capture`) join the customer's
    consent ledger, dated when the form was sent: a later change on the ledger still wins."""
    for consent in lead.consents or ():
        consent_record(
            actor=actor,
            customer_id=customer.pk,
            channel=consent["channel"],
            purpose=consent["purpose"],
            granted=consent["granted"],
            source=f"Marketing form #{lead.form_id}" if lead.form_id else "Marketing form",
            occurred_at=lead.captured_at,
            note=f"Given on the form that made lead #{lead.pk}.",
        )


@transaction.atomic
def lead_convert(
    *,
    actor: Actor,
    lead_id: int,
    customer: int | None = None,
    create_customer: bool = False,
    expected_version: int | None = None,
    opportunity: OpportunityDraft | None = None,
) -> Opportunity:
    """Turn a lead into an opportunity for an existing customer (`customer`) or a new
    one (`create_customer=True`). With neither, duplicate candidates (same e-mail or
    phone, similar name: the customer profile's rules) stop the conversion with a 409
    listing them; without candidates the customer is created. `opportunity`: the new
    opportunity's fields (default name: the lead's title)."""
    lead = lock(Lead, lead_id, what="lead")
    _authorize_work(actor, lead)
    check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted(
            f"This lead was already converted (customer {lead.customer_id}).",
            errors={"non_field_errors": ["Already converted."]},
        )
    if lead.status == LeadStatus.DISQUALIFIED:
        raise Conflict(
            "A disqualified lead cannot be converted; qualify it first.",
            errors={"non_field_errors": ["The lead is disqualified."]},
        )
    authorize(actor, "sales.add_opportunity", message="You may not create opportunities.")
    if customer is not None and create_customer:
        raise ValidationError(
            {"customer": ["Give either an existing customer or create_customer, not both."]}
        )
    contact_person: Customer | None = None
    if customer is not None:
        target = live_customer(customer)
    elif create_customer:
        target, contact_person = _new_customer_for(actor, lead)
    else:
        candidates = lead_duplicate_candidates(lead=lead)
        if candidates:
            raise DuplicateCandidates(candidates)
        target, contact_person = _new_customer_for(actor, lead)
    draft = OpportunityDraft(**opportunity) if opportunity else OpportunityDraft()
    draft.setdefault("name", lead.title)
    draft.setdefault("owner", lead.owner or user_of(actor))
    opp = opportunity_create(
        actor=actor, customer=target, source_lead=lead, campaign_id=lead.campaign_id, **draft
    )
    lead.status = LeadStatus.CONVERTED
    lead.customer = target
    lead.converted_at = timezone.now()
    lead.owner = lead.owner or user_of(actor)
    bump_version(lead)
    lead.save()
    activity_record(
        customer_id=target.pk,
        kind=ActivityKinds.LEAD_CONVERTED,
        actor=actor,
        source_app=SOURCE_APP,
        subject=f"Lead converted: {lead.title}"[:200],
        ref=lead,
        payload={"lead_id": lead.pk, "opportunity_id": opp.pk, "source": lead.source},
    )
    # Consent is the person's: recorded on them when the conversion created them.
    _record_captured_consents(actor, lead, contact_person or target)
    return opp
