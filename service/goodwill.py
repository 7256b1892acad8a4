"""Goodwill credits within each role's authority.

An agent grants a credit on a case: within the largest limit of their roles it is
applied at once (a `credit_note.issue` message for the ERP goes into the outbox in the
same transaction, with a note on the case and an entry on the customer's timeline);
above it, it waits for someone whose limit covers it (a supervisor), who approves it
(then it is applied the same way) or refuses it with a reason. Every step is audited
(the credit's history) and the limits hold here, whatever the caller (page or API).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backoffice_sync.contracts import CreditNoteIssue
from backoffice_sync.erp import MessageKind
from backoffice_sync.outbox import outbox_enqueue
from frontoffice.actors import Actor, SystemActor, user_of
from frontoffice.errors import Conflict
from frontoffice.models import User
from frontoffice.roles import user_roles
from frontoffice.write_path import audit, authorize, bump_version, check_version, clean_text, lock
from service.choices import GoodwillStatus
from service.models import GoodwillCredit, GoodwillLimit
from service.notifications import notify
from service.services import CaseActivity, lock_case, lock_case_named, record, system_note

COMPANY_CURRENCY = "EUR"
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000")


class GoodwillNotPending(Conflict):
    code = "goodwill_not_pending"
    title = "This goodwill credit was already decided."


def company_currency() -> str:
    row = GoodwillLimit.objects.order_by("id").values_list("currency", flat=True).first()
    return row or COMPANY_CURRENCY


def goodwill_limit_for(actor: Actor) -> Decimal:
    """The largest credit `actor` grants on their own authority: the largest limit over
    their roles (0 without one). The system grants any (demo, imports)."""
    if isinstance(actor, SystemActor):
        return MAX_AMOUNT
    roles = user_roles(actor)
    limits = GoodwillLimit.objects.filter(role__in=roles).values_list("amount", flat=True)
    return max(limits, default=Decimal("0"))


def parse_amount(errors: dict[str, list[str]], value: object) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        errors["amount"] = ["Enter an amount, e.g. 25.00."]
        return Decimal("0")
    if amount <= 0:
        errors["amount"] = ["A goodwill credit is a positive amount."]
    elif amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        errors["amount"] = [f"At most {MAX_AMOUNT} with two decimals."]
    return amount


def _apply(credit: GoodwillCredit, actor: Actor) -> None:
    """Send the credit note to the ERP (outbox), note it on the case and the timeline."""
    now = timezone.now()
    credit.status = GoodwillStatus.APPLIED
    credit.applied_at = now
    credit.credit_ref = f"GW-{credit.pk:06d}"
    payload: CreditNoteIssue = {
        "credit_ref": credit.credit_ref,
        "customer_ref": str(credit.customer_id),
        "invoice_number": credit.invoice_number or None,
        "amount": str(credit.amount),
        "currency": credit.currency,
        "reason": f"Goodwill on case C-{credit.case_id:06d}: {credit.reason}"[:500],
    }
    outbox_enqueue(
        kind=MessageKind.CREDIT_NOTE_ISSUE, aggregate=f"credit:{credit.credit_ref}", payload=payload
    )
    case = credit.case
    system_note(
        case,
        actor,
        f"Goodwill credit {credit.credit_ref} of {credit.amount} {credit.currency} applied: {credit.reason}",
    )
    record(
        case,
        actor,
        CaseActivity.GOODWILL_CREDITED,
        f"Goodwill credit of {credit.amount} {credit.currency} on {case.reference}",
        body=credit.reason,
        credit_ref=credit.credit_ref,
        amount=str(credit.amount),
        currency=credit.currency,
    )


def approvers_for(amount: Decimal) -> list[int]:
    """Active staff who may approve a credit of `amount` (1-2 queries)."""
    roles = list(GoodwillLimit.objects.filter(amount__gte=amount).values_list("role", flat=True))
    users = User.objects.filter(is_active=True).filter(
        Q(groups__permissions__codename="approve_goodwill", groups__name__in=roles) | Q(is_superuser=True)
    )
    return sorted(set(users.values_list("pk", flat=True)))


@transaction.atomic
def goodwill_grant(
    *, actor: Actor, case_id: int, amount: object, reason: str, invoice_number: str = ""
) -> GoodwillCredit:
    """Grant a goodwill credit on a case: applied at once within the actor's limit,
    otherwise a request for approval (supervisors are notified)."""
    authorize(actor, "service.add_goodwillcredit", message="You may not grant goodwill.")
    case = lock_case_named(case_id)
    errors: dict[str, list[str]] = {}
    value = parse_amount(errors, amount)
    text = clean_text(errors, "reason", reason, 500)
    if not text and "reason" not in errors:
        errors["reason"] = ["Say why the customer gets a credit."]
    invoice = clean_text(errors, "invoice_number", invoice_number, 40)
    if errors:
        raise ValidationError(errors)
    credit = GoodwillCredit(
        case=case,
        customer_id=case.customer_id,
        amount=value,
        currency=company_currency(),
        reason=text,
        invoice_number=invoice,
        requested_by=user_of(actor),
        status=GoodwillStatus.PENDING,
    )
    within = value <= goodwill_limit_for(actor)
    audit(credit, actor, reason="Granted within limit" if within else "Requested approval")
    credit.save()
    if within:
        _apply(credit, actor)
        credit.save()
    else:
        system_note(
            case, actor, f"Goodwill credit of {value} {credit.currency} requested (above the limit): {text}"
        )
        notify(
            recipient_ids=approvers_for(value),
            kind="goodwill_request",
            message=f"Goodwill of {value} {credit.currency} on {case.reference} waits for your approval.",
            case=case,
        )
    return credit


def _decide(actor: Actor, goodwill_id: int, expected_version: int | None) -> GoodwillCredit:
    credit = lock(
        GoodwillCredit,
        goodwill_id,
        what="goodwill credit",
        queryset=GoodwillCredit.objects.select_related("case"),
    )
    authorize(actor, "service.approve_goodwill", message="You may not decide on goodwill.")
    check_version(credit, expected_version)
    if credit.status != GoodwillStatus.PENDING:
        raise GoodwillNotPending(f"This credit is {credit.get_status_display().lower()} already.")
    if user_of(actor) is not None and credit.requested_by_id == actor.pk:
        raise PermissionDenied("Someone else must decide on a credit you requested.")
    return credit


@transaction.atomic
def goodwill_approve(
    *, actor: Actor, goodwill_id: int, expected_version: int | None = None, reason: str = ""
) -> GoodwillCredit:
    """Approve a pending credit (within the approver's own limit): it is applied."""
    credit = _decide(actor, goodwill_id, expected_version)
    if credit.amount > goodwill_limit_for(actor):
        raise PermissionDenied(f"{credit.amount} {credit.currency} is above your goodwill limit.")
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "reason", reason, 500)
    if errors:
        raise ValidationError(errors)
    lock_case(credit.case_id)
    credit.decided_by, credit.decided_at, credit.decision_reason = user_of(actor), timezone.now(), text
    _apply(credit, actor)
    bump_version(credit)
    audit(credit, actor, reason="Approved")
    credit.save()
    notify(
        recipient_ids=[credit.requested_by_id],
        kind="goodwill_approved",
        message=f"Goodwill {credit.credit_ref} on C-{credit.case_id:06d} was approved.",
        case=credit.case,
    )
    return credit


@transaction.atomic
def goodwill_refuse(
    *, actor: Actor, goodwill_id: int, reason: str, expected_version: int | None = None
) -> GoodwillCredit:
    """Refuse a pending credit, saying why (the requester is notified)."""
    credit = _decide(actor, goodwill_id, expected_version)
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "reason", reason, 500)
    if not text and "reason" not in errors:
        errors["reason"] = ["Say why the credit is refused."]
    if errors:
        raise ValidationError(errors)
    credit.status = GoodwillStatus.REFUSED
    credit.decided_by, credit.decided_at, credit.decision_reason = user_of(actor), timezone.now(), text
    bump_version(credit)
    audit(credit, actor, reason="Refused")
    credit.save()
    system_note(credit.case, actor, f"Goodwill credit of {credit.amount} {credit.currency} refused: {text}")
    notify(
        recipient_ids=[credit.requested_by_id],
        kind="goodwill_refused",
        message=f"Goodwill on C-{credit.case_id:06d} was refused: {text}",
        case=credit.case,
    )
    return credit
