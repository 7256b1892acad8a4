"""Every write of leads, pipelines and opportunities. One function per business action,
one transaction each, keyword-only arguments; timeline entries commit with the change.

(Quotes and price lists live in `sales/quotes.py`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Model
from django.http import Http404
from django.utils import timezone

from backoffice_sync.models import Product
from customers.choices import ContactKind, CustomerKind
from customers.consent import consent_record
from customers.models import Customer
from customers.normalise import normalise_email, normalise_phone
from customers.services import customer_create
from customers.timeline import activity_record
from frontoffice.errors import Conflict, StaleVersion
from frontoffice.permissions import can_edit_owned
from sales.models import (
    Lead,
    LeadSource,
    LeadStatus,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageKind,
)

DEFAULT_CURRENCY = "EUR"
ANY_OPPORTUNITY = "sales.change_any_opportunity"
ANY_LEAD = "sales.change_any_lead"
MAX_AMOUNT = Decimal("999999999999.99")
MAX_LINES = 100
SOURCE_APP = "sales"
_currency = re.compile(r"[A-Z]{3}")


class ActivityKinds:
    """Timeline kinds sales writes (customers' ActivityKind leaves room for other apps)."""

    LEAD_CONVERTED = "lead_converted"
    OPPORTUNITY_CREATED = "opportunity_created"
    STAGE_CHANGED = "opportunity_stage"
    WON = "opportunity_won"
    LOST = "opportunity_lost"
    REOPENED = "opportunity_reopened"


class LeadConverted(Conflict):
    code = "lead_converted"
    title = "This lead was already converted."


@dataclass(frozen=True)
class Candidate:
    customer: Customer
    reasons: list[str]


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


# --- helpers ---------------------------------------------------------------------


def _clean_text(errors: dict[str, list[str]], field: str, value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Expected text.")
        return ""
    if "\x00" in value:
        errors.setdefault(field, []).append("Null characters are not allowed.")
    if len(value) > max_length:
        errors.setdefault(field, []).append(f"At most {max_length} characters.")
    return value.strip()


def _as_id(value: Any) -> int | None:
    if isinstance(value, Model):
        return value.pk
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _lock(model: type[Model], pk: Any, what: str) -> Any:
    try:
        return model.objects.select_for_update().get(pk=int(pk))
    except (model.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404(f"No such {what}.") from None


def _check_version(obj: Any, expected_version: int | None) -> None:
    if expected_version is not None and obj.version != expected_version:
        raise StaleVersion(current=obj.version)


def _money(errors: dict[str, list[str]], field: str, value: Any) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append("Enter an amount, e.g. 1200.50.")
        return Decimal("0")
    if not amount.is_finite():
        errors.setdefault(field, []).append("Enter an amount, e.g. 1200.50.")
        return Decimal("0")
    if amount < 0:
        errors.setdefault(field, []).append("An amount cannot be negative.")
    elif amount > MAX_AMOUNT:
        errors.setdefault(field, []).append("The amount is too large.")
    elif amount != amount.quantize(Decimal("0.01")):
        errors.setdefault(field, []).append("At most 2 decimal places.")
    return amount


def _currency_code(errors: dict[str, list[str]], value: Any) -> str:
    if not isinstance(value, str) or not _currency.fullmatch(value):
        errors.setdefault("currency", []).append("Use a 3-letter ISO currency code in capitals, e.g. EUR.")
        return ""
    return value


def _campaign(errors: dict[str, list[str]], value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        errors.setdefault("campaign_id", []).append("Expected a campaign id (a positive whole number).")
        return None
    return value


# --- permissions ---------------------------------------------------------------------


def can_edit_opportunity(actor: Any, opportunity: Opportunity) -> bool:
    return actor.has_perm("sales.change_opportunity") and can_edit_owned(
        actor, opportunity, any_permission=ANY_OPPORTUNITY
    )


def can_edit_lead(actor: Any, lead: Lead) -> bool:
    """Reps work their own and their team's leads, and unassigned ones (marketing forms
    and imports arrive without an owner: any rep may pick them up)."""
    if not actor.has_perm("sales.change_lead"):
        return False
    return lead.owner_id is None or can_edit_owned(actor, lead, any_permission=ANY_LEAD)


def _require_opportunity_edit(actor: Any, opportunity: Opportunity) -> None:
    if actor is not None and not can_edit_opportunity(actor, opportunity):
        raise PermissionDenied("You may only edit opportunities you or your team own.")


def _require_lead_edit(actor: Any, lead: Lead) -> None:
    if actor is not None and not can_edit_lead(actor, lead):
        raise PermissionDenied("You may only work leads you or your team own, or unassigned ones.")


# --- pipelines (admin configuration) ---------------------------------------------------


DEFAULT_STAGES = (
    ("Prospecting", 10, StageKind.OPEN),
    ("Qualification", 25, StageKind.OPEN),
    ("Proposal", 50, StageKind.OPEN),
    ("Negotiation", 75, StageKind.OPEN),
    ("Won", 100, StageKind.WON),
    ("Lost", 0, StageKind.LOST),
)


def ensure_default_pipeline(*, using: str = "default", **_: Any) -> None:
    """A `post_migrate` receiver: the data migration creates the default pipeline, but a
    flush (transactional tests, `manage.py flush`) empties the table and only re-runs
    post_migrate. Creates it only when there is no pipeline at all: admins' changes stay."""
    with transaction.atomic(using=using):
        if Pipeline.objects.using(using).exists():
            return
        pipeline = Pipeline.objects.using(using).create(name="Sales", is_default=True)
        Stage.objects.using(using).bulk_create(
            Stage(pipeline=pipeline, name=name, order=(i + 1) * 10, probability=probability, kind=kind)
            for i, (name, probability, kind) in enumerate(DEFAULT_STAGES)
        )


def default_pipeline() -> Pipeline:
    pipeline = (
        Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.filter(active=True).first()
    )
    if pipeline is None:
        raise Conflict("No pipeline is configured; an admin must create one.")
    return pipeline


def _clean_stages(items: Any) -> list[dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(items, list | tuple) or not items:
        raise ValidationError({"stages": ["A pipeline needs at least one stage."]})
    cleaned = []
    for index, item in enumerate(items):
        prefix = f"stages.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["Expected an object."]
            continue
        row_errors: dict[str, list[str]] = {}
        name = _clean_text(row_errors, "name", item.get("name"), 100)
        if not name:
            row_errors.setdefault("name", []).append("A stage needs a name.")
        probability = item.get("probability")
        if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
            row_errors["probability"] = ["A probability is a whole number from 0 to 100."]
        kind = item.get("kind", StageKind.OPEN)
        if kind not in StageKind.values:
            row_errors["kind"] = [f"Choose one of: {', '.join(StageKind.values)}."]
        order = item.get("order", (index + 1) * 10)
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 30000:
            row_errors["order"] = ["An order is a whole number from 0 to 30000."]
        for key, messages in row_errors.items():
            errors[f"{prefix}.{key}"] = messages
        cleaned.append(
            {
                "id": _as_id(item.get("id")),
                "name": name,
                "probability": probability,
                "kind": kind,
                "order": order,
            }
        )
    if not errors:
        orders = [s["order"] for s in cleaned]
        names = [s["name"].lower() for s in cleaned]
        if len(set(orders)) != len(orders):
            errors["stages"] = ["Two stages have the same order."]
        elif len(set(names)) != len(names):
            errors["stages"] = ["Two stages have the same name."]
        elif not any(s["kind"] == StageKind.OPEN for s in cleaned):
            errors["stages"] = ["A pipeline needs at least one open stage."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _require_config(actor: Any, permission: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied("Only admins configure pipelines.")


def pipeline_demote_other_default(*, pipeline: Pipeline) -> None:
    """One default pipeline (a DB constraint): making `pipeline` default demotes the other,
    whose version moves on too (its ETag no longer describes it)."""
    if pipeline.is_default:
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(
            is_default=False, version=F("version") + 1, updated_at=timezone.now()
        )


def _save_pipeline(pipeline: Pipeline) -> None:
    pipeline_demote_other_default(pipeline=pipeline)
    try:
        with transaction.atomic():
            pipeline.save()
    except IntegrityError:
        raise ValidationError({"name": ["Another pipeline has this name."]}) from None


@transaction.atomic
def pipeline_create(
    *,
    actor: Any,
    name: str,
    stages: Iterable[Mapping[str, Any]],
    is_default: bool = False,
    active: bool = True,
) -> Pipeline:
    _require_config(actor, "sales.add_pipeline")
    errors: dict[str, list[str]] = {}
    name = _clean_text(errors, "name", name, 100)
    if not name:
        errors.setdefault("name", []).append("A pipeline needs a name.")
    try:
        cleaned = _clean_stages(list(stages))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    pipeline = Pipeline(name=name, is_default=bool(is_default), active=bool(active))
    _save_pipeline(pipeline)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, **{k: v for k, v in stage.items() if k != "id"}) for stage in cleaned
    )
    return pipeline


@transaction.atomic
def pipeline_update(
    *, actor: Any, pipeline_id: Any, expected_version: int | None, **changes: Any
) -> Pipeline:
    """Rename, (de)activate, make default, and replace the stages: a stage with an `id`
    is updated, one without is created, a missing one is deleted unless opportunities
    are in it (409). The pipeline's version moves on whatever changed, stages included."""
    _require_config(actor, "sales.change_pipeline")
    pipeline = _lock(Pipeline, pipeline_id, "pipeline")
    _check_version(pipeline, expected_version)
    errors: dict[str, list[str]] = {}
    if "name" in changes:
        pipeline.name = _clean_text(errors, "name", changes["name"], 100)
        if not pipeline.name:
            errors.setdefault("name", []).append("A pipeline needs a name.")
    for flag in ("is_default", "active"):
        if flag in changes:
            setattr(pipeline, flag, bool(changes[flag]))
    cleaned = None
    if "stages" in changes:
        try:
            cleaned = _clean_stages(changes["stages"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    existing = {s.pk: s for s in pipeline.stages.all()}
    if cleaned is not None:
        for index, stage in enumerate(cleaned):
            if stage["id"] is not None and stage["id"] not in existing:
                errors[f"stages.{index}.id"] = ["No such stage in this pipeline."]
    if errors:
        raise ValidationError(errors)
    pipeline.version += 1
    _save_pipeline(pipeline)
    if cleaned is not None:
        kept = {s["id"] for s in cleaned if s["id"] is not None}
        removed = [pk for pk in existing if pk not in kept]
        if removed and Opportunity.objects.filter(stage_id__in=removed).exists():
            raise Conflict(
                "A stage you removed still has opportunities; move them first.",
                errors={"stages": ["A removed stage still has opportunities."]},
            )
        Stage.objects.filter(pk__in=removed).delete()
        # Orders are unique per pipeline: park the kept stages out of the way first, so
        # that swapping two stages' orders does not collide half-way.
        for index, pk in enumerate(sorted(kept)):
            Stage.objects.filter(pk=pk).update(order=32767 - index)
        for stage in cleaned:
            fields = {k: v for k, v in stage.items() if k != "id"}
            if stage["id"] is None:
                Stage.objects.create(pipeline=pipeline, **fields)
            else:
                Stage.objects.filter(pk=stage["id"]).update(**fields, updated_at=timezone.now())
    return pipeline


# --- leads ---------------------------------------------------------------------------

LEAD_FIELDS = (
    "first_name",
    "last_name",
    "organisation_name",
    "email",
    "phone",
    "title",
    "notes",
    "source",
    "campaign_id",
    "owner",
)


def _apply_lead_fields(lead: Lead, changes: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for field in sorted(set(changes) - set(LEAD_FIELDS)):
        errors[field] = ["Unknown field."]
    for field, length in (
        ("first_name", 100),
        ("last_name", 100),
        ("organisation_name", 200),
        ("title", 200),
        ("notes", 5000),
    ):
        if field in changes:
            setattr(lead, field, _clean_text(errors, field, changes[field], length))
    if "email" in changes:
        raw = _clean_text(errors, "email", changes["email"], 254)
        try:
            lead.email = normalise_email(raw) if raw else ""
        except ValidationError as exc:
            errors["email"] = exc.messages
    if "phone" in changes:
        raw = _clean_text(errors, "phone", changes["phone"], 40)
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
        lead.campaign_id = _campaign(errors, changes["campaign_id"])
    if "owner" in changes:
        lead.owner = changes["owner"]
    if not (lead.first_name or lead.last_name or lead.organisation_name):
        errors.setdefault("last_name", []).append("A lead needs a person's name or an organisation.")
    if not lead.title:
        errors.setdefault("title", []).append("Say what the lead is interested in.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def lead_create(*, actor: Any, **fields: Any) -> Lead:
    if actor is not None and not actor.has_perm("sales.add_lead"):
        raise PermissionDenied("You may not create leads.")
    lead = Lead()
    if "owner" not in fields and actor is not None and actor.has_perm("sales.change_lead"):
        # A rep's own lead; marketing's leads go to the unassigned pool.
        fields["owner"] = actor
    _apply_lead_fields(lead, fields)
    lead.save()
    return lead


@transaction.atomic
def lead_update(*, actor: Any, lead_id: Any, expected_version: int | None, **changes: Any) -> Lead:
    lead = _lock(Lead, lead_id, "lead")
    _require_lead_edit(actor, lead)
    _check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted("A converted lead cannot change; edit the customer or the opportunity.")
    _apply_lead_fields(lead, changes)
    lead.version += 1
    lead.save()
    return lead


@transaction.atomic
def lead_qualify(*, actor: Any, lead_id: Any, expected_version: int | None = None) -> Lead:
    lead = _lock(Lead, lead_id, "lead")
    _require_lead_edit(actor, lead)
    _check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted("A converted lead cannot be qualified again.")
    lead.status = LeadStatus.QUALIFIED
    lead.disqualified_reason = ""
    if lead.owner_id is None and actor is not None:
        lead.owner = actor
    lead.version += 1
    lead.save()
    return lead


@transaction.atomic
def lead_disqualify(*, actor: Any, lead_id: Any, reason: Any, expected_version: int | None = None) -> Lead:
    lead = _lock(Lead, lead_id, "lead")
    _require_lead_edit(actor, lead)
    _check_version(lead, expected_version)
    if lead.status == LeadStatus.CONVERTED:
        raise LeadConverted("A converted lead cannot be disqualified.")
    errors: dict[str, list[str]] = {}
    reason = _clean_text(errors, "reason", reason, 300)
    if not reason and not errors:
        errors["reason"] = ["Say why the lead is disqualified."]
    if errors:
        raise ValidationError(errors)
    lead.status = LeadStatus.DISQUALIFIED
    lead.disqualified_reason = reason
    lead.version += 1
    lead.save()
    return lead


def _new_customer_for(actor: Any, lead: Lead) -> Customer:
    contact_points = []
    if lead.email:
        contact_points.append({"kind": ContactKind.EMAIL, "value": lead.email})
    if lead.phone:
        contact_points.append({"kind": ContactKind.PHONE, "value": lead.phone})
    # B2B first: a lead from a company becomes that organisation; otherwise the person.
    fields: dict[str, Any]
    if lead.organisation_name:
        fields = {"kind": CustomerKind.ORGANISATION, "organisation_name": lead.organisation_name}
    else:
        fields = {"kind": CustomerKind.PERSON, "first_name": lead.first_name, "last_name": lead.last_name}
    try:
        return customer_create(actor=actor, contact_points=contact_points, **fields)
    except ValidationError as exc:
        # The profile refuses a second customer with the same primary e-mail: that
        # customer is the one to pick.
        raise Conflict(
            "The customer profile refused a new customer for this lead; pick the existing one.",
            errors={
                ("customer" if k.startswith("contact_points") else k): v for k, v in exc.message_dict.items()
            },
        ) from None


@transaction.atomic
def lead_convert(
    *,
    actor: Any,
    lead_id: Any,
    customer: Any = None,
    create_customer: bool = False,
    expected_version: int | None = None,
    opportunity: Mapping[str, Any] | None = None,
) -> Opportunity:
    """Turn a lead into an opportunity for an existing customer (`customer`) or a new
    one (`create_customer=True`). With neither, duplicate candidates (same e-mail or
    phone, similar name: the customer profile's rules) stop the conversion with a 409
    listing them; without candidates the customer is created."""
    from sales.selectors import lead_duplicate_candidates

    lead = _lock(Lead, lead_id, "lead")
    _require_lead_edit(actor, lead)
    _check_version(lead, expected_version)
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
    if actor is not None and not actor.has_perm("sales.add_opportunity"):
        raise PermissionDenied("You may not create opportunities.")
    if customer is not None and create_customer:
        raise ValidationError(
            {"customer": ["Give either an existing customer or create_customer, not both."]}
        )
    if customer is not None:
        target = _live_customer(customer)
    elif create_customer:
        target = _new_customer_for(actor, lead)
    else:
        candidates = lead_duplicate_candidates(lead=lead)
        if candidates:
            raise DuplicateCandidates(candidates)
        target = _new_customer_for(actor, lead)
    fields = dict(opportunity or {})
    fields.setdefault("name", lead.title)
    fields.setdefault("owner", lead.owner or actor)
    opp = _opportunity_create(
        actor=actor, customer=target, source_lead=lead, campaign_id=lead.campaign_id, **fields
    )
    lead.status = LeadStatus.CONVERTED
    lead.customer = target
    lead.converted_at = timezone.now()
    lead.owner = lead.owner or actor
    lead.version += 1
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
    _record_captured_consents(actor, lead, target)
    return opp


def _record_captured_consents(actor: Any, lead: Lead, customer: Customer) -> None:
    """The consents ticked on a marketing form (`sales.lead_capture`) join the customer's
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


def _live_customer(value: Any) -> Customer:
    customer_id = _as_id(value)
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        raise ValidationError({"customer": ["No such customer."]})
    if customer.merged_into_id is not None:
        raise ValidationError(
            {"customer": [f"That customer was merged into customer {customer.merged_into_id}."]}
        )
    return customer


# --- opportunities -------------------------------------------------------------------


def _clean_lines(errors: dict[str, list[str]], items: Any, currency: str) -> list[OpportunityLine]:
    if not isinstance(items, list | tuple):
        errors["lines"] = ["Expected a list of lines."]
        return []
    if len(items) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
        return []
    skus = {
        item.get("sku") for item in items if isinstance(item, Mapping) and isinstance(item.get("sku"), str)
    }
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
    lines = []
    for index, item in enumerate(items):
        prefix = f"lines.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["Expected an object."]
            continue
        row: dict[str, list[str]] = {}
        sku = _clean_text(row, "sku", item.get("sku"), 64)
        product = products.get(sku)
        if product is None and "sku" not in row:
            row["sku"] = ["No product with this SKU in the catalogue."]
        quantity = _money(row, "quantity", item.get("quantity", 1))
        if "quantity" not in row and quantity <= 0:
            row["quantity"] = ["The quantity must be more than 0."]
        elif "quantity" in row:
            row["quantity"] = ["The quantity must be a number more than 0."]
        if item.get("unit_price") is None:
            if product is not None and product.currency != currency:
                row["unit_price"] = [
                    f"The catalogue price is in {product.currency}: give a price in {currency}."
                ]
            unit_price = product.unit_price if product is not None else Decimal("0")
        else:
            unit_price = _money(row, "unit_price", item.get("unit_price"))
        description = _clean_text(row, "description", item.get("description"), 200)
        for key, messages in row.items():
            errors[f"{prefix}.{key}"] = messages
        if not row:
            lines.append(
                OpportunityLine(
                    sku=sku,
                    description=description or (product.name[:200] if product else ""),
                    quantity=quantity,
                    unit_price=unit_price,
                )
            )
    return lines


def _stage_for(errors: dict[str, list[str]], pipeline: Pipeline, stage: Any) -> Stage | None:
    if stage is None:
        first = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order").first()
        if first is None:
            errors["stage"] = ["This pipeline has no open stage."]
        return first
    stage_id = _as_id(stage)
    found = Stage.objects.filter(pk=stage_id).first() if stage_id else None
    if found is None:
        errors["stage"] = ["No such stage."]
        return None
    if found.pipeline_id != pipeline.pk:
        errors["stage"] = ["This stage belongs to another pipeline."]
        return None
    return found


OPPORTUNITY_FIELDS = (
    "name",
    "amount",
    "currency",
    "pipeline",
    "stage",
    "expected_close_date",
    "next_step",
    "owner",
    "lines",
    "campaign_id",
)


def _apply_opportunity_fields(
    opp: Opportunity, changes: Mapping[str, Any], *, creating: bool
) -> list[OpportunityLine] | None:
    errors: dict[str, list[str]] = {}
    for field in sorted(set(changes) - set(OPPORTUNITY_FIELDS)):
        errors[field] = ["Unknown field."]
    if not creating:
        for field in ("pipeline", "stage"):
            if field in changes:
                errors[field] = ["Move the opportunity to change its stage (POST .../move/)."]
    if "name" in changes or creating:
        opp.name = _clean_text(errors, "name", changes.get("name"), 200)
        if not opp.name and "name" not in errors:
            errors["name"] = ["An opportunity needs a name."]
    if "currency" in changes or creating:
        opp.currency = _currency_code(errors, changes.get("currency", DEFAULT_CURRENCY))
    if "amount" in changes:
        opp.amount = _money(errors, "amount", changes["amount"])
    if "next_step" in changes:
        opp.next_step = _clean_text(errors, "next_step", changes["next_step"], 300)
    if "expected_close_date" in changes:
        opp.expected_close_date = changes["expected_close_date"]
    if "owner" in changes:
        opp.owner = changes["owner"]
    if "campaign_id" in changes:
        opp.campaign_id = _campaign(errors, changes["campaign_id"])
    if creating:
        pipeline = changes.get("pipeline")
        if pipeline is None:
            try:
                pipeline = default_pipeline()
            except Conflict as exc:
                errors["pipeline"] = [exc.detail]
        else:
            pipeline_id = _as_id(pipeline)
            pipeline = Pipeline.objects.filter(pk=pipeline_id).first() if pipeline_id else None
            if pipeline is None:
                errors["pipeline"] = ["No such pipeline."]
        if pipeline is not None:
            opp.pipeline = pipeline
            stage = _stage_for(errors, pipeline, changes.get("stage"))
            if stage is not None:
                if stage.kind != StageKind.OPEN:
                    errors["stage"] = [
                        "A new opportunity starts in an open stage; win or lose it afterwards."
                    ]
                opp.stage = stage
    lines = None
    if "lines" in changes:
        lines = _clean_lines(errors, changes["lines"], opp.currency or DEFAULT_CURRENCY)
        if lines and "amount" not in changes and not errors:
            opp.amount = sum((line.total for line in lines), Decimal("0"))
            if opp.amount > MAX_AMOUNT:
                errors["amount"] = ["The amount is too large."]
    if errors:
        raise ValidationError(errors)
    return lines


def _opportunity_create(
    *, actor: Any, customer: Customer, source_lead: Lead | None = None, **fields: Any
) -> Opportunity:
    opp = Opportunity(customer=customer, source_lead=source_lead)
    if "owner" not in fields:
        fields["owner"] = actor
    lines = _apply_opportunity_fields(opp, fields, creating=True)
    opp.save()
    if lines:
        for line in lines:
            line.opportunity = opp
        OpportunityLine.objects.bulk_create(lines)
    activity_record(
        customer_id=customer.pk,
        kind=ActivityKinds.OPPORTUNITY_CREATED,
        actor=actor,
        source_app=SOURCE_APP,
        subject=f"Opportunity opened: {opp.name}"[:200],
        ref=opp,
        payload={"stage": opp.stage.name, "amount": str(opp.amount), "currency": opp.currency},
    )
    return opp


@transaction.atomic
def opportunity_create(*, actor: Any, customer: Any, **fields: Any) -> Opportunity:
    if actor is not None and not actor.has_perm("sales.add_opportunity"):
        raise PermissionDenied("You may not create opportunities.")
    target = _live_customer(customer)
    return _opportunity_create(actor=actor, customer=target, **fields)


@transaction.atomic
def opportunity_update(
    *, actor: Any, opportunity_id: Any, expected_version: int | None, **changes: Any
) -> Opportunity:
    opp = _lock(Opportunity, opportunity_id, "opportunity")
    _require_opportunity_edit(actor, opp)
    _check_version(opp, expected_version)
    lines = _apply_opportunity_fields(opp, changes, creating=False)
    opp.version += 1
    opp.save()
    if lines is not None:
        opp.lines.all().delete()
        for line in lines:
            line.opportunity = opp
        OpportunityLine.objects.bulk_create(lines)
    return opp


@transaction.atomic
def opportunity_edit(
    *, actor: Any, opportunity_id: Any, expected_version: int | None, stage: Any = None, **changes: Any
) -> Opportunity:
    """The edit page's save: the fields `opportunity_update` takes and, in the same
    transaction and under the same version check, a move to another open or won stage
    of the opportunity's pipeline (losing needs a reason: `opportunity_lose`). Every
    problem is reported at once, keyed by field; nothing is written then."""
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    errors: dict[str, list[str]] = {}
    target = None
    if stage is not None:
        target = _stage_for(errors, Pipeline(pk=opp.pipeline_id), stage)
        if target is not None and target.kind == StageKind.LOST and target.pk != opp.stage_id:
            errors["stage"] = ["To mark it lost, use “Mark as lost” on the opportunity page and say why."]
            target = None
    try:
        lines = _apply_opportunity_fields(opp, changes, creating=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if target is not None and target.pk != opp.stage_id:
        _set_stage(actor, opp, target)  # bumps the version, saves, records the move
    else:
        opp.version += 1
        opp.save()
    if lines is not None:
        opp.lines.all().delete()
        for line in lines:
            line.opportunity = opp
        OpportunityLine.objects.bulk_create(lines)
    return opp


def _record(actor: Any, opp: Opportunity, kind: str, subject: str, **payload: Any) -> None:
    activity_record(
        customer_id=opp.customer_id,
        kind=kind,
        actor=actor,
        source_app=SOURCE_APP,
        subject=subject[:200],
        ref=opp,
        payload={"opportunity_id": opp.pk, **payload},
    )


def _set_stage(actor: Any, opp: Opportunity, stage: Stage, reason: str = "") -> Opportunity:
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
    opp.version += 1
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


def _locked_for_change(actor: Any, opportunity_id: Any, expected_version: int | None) -> Opportunity:
    opp = _lock(Opportunity, opportunity_id, "opportunity")
    _require_opportunity_edit(actor, opp)
    _check_version(opp, expected_version)
    return opp


@transaction.atomic
def opportunity_move(
    *, actor: Any, opportunity_id: Any, stage: Any, reason: Any = "", expected_version: int | None = None
) -> Opportunity:
    """Move to another stage of the same pipeline; a won/lost stage closes it (lost
    needs a reason), an open stage reopens a closed one."""
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    errors: dict[str, list[str]] = {}
    pipeline = Pipeline.objects.get(pk=opp.pipeline_id)
    target = _stage_for(errors, pipeline, stage) if stage is not None else None
    if stage is None:
        errors["stage"] = ["Choose a stage."]
    reason = _clean_text(errors, "reason", reason, 300)
    if target is not None and target.kind == StageKind.LOST and not reason and "reason" not in errors:
        errors["reason"] = ["Say why the opportunity was lost."]
    if errors:
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
def opportunity_win(*, actor: Any, opportunity_id: Any, expected_version: int | None = None) -> Opportunity:
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    if opp.status == OpportunityStatus.WON:
        raise Conflict("This opportunity is already won.")
    return _set_stage(actor, opp, _closing_stage(opp, StageKind.WON))


@transaction.atomic
def opportunity_lose(
    *, actor: Any, opportunity_id: Any, reason: Any, expected_version: int | None = None
) -> Opportunity:
    opp = _locked_for_change(actor, opportunity_id, expected_version)
    errors: dict[str, list[str]] = {}
    reason = _clean_text(errors, "reason", reason, 300)
    if not reason and not errors:
        errors["reason"] = ["Say why the opportunity was lost."]
    if errors:
        raise ValidationError(errors)
    if opp.status == OpportunityStatus.LOST:
        raise Conflict("This opportunity is already lost.")
    return _set_stage(actor, opp, _closing_stage(opp, StageKind.LOST), reason)
