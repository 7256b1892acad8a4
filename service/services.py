"""Every write of the service desk: one function per business action, one transaction
each, keyword-only; the timeline entry commits with the change."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction

from customers.models import Customer
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.write_path import as_id, audit, authorize, clean_text
from service.choices import CaseChannel, CaseKind, CasePriority
from service.models import Case

SOURCE_APP = "service"


class CaseActivity:
    """Timeline kinds the service desk writes (labels and links: hooks.py)."""

    OPENED = "case_opened"


def _live_customer(errors: dict[str, list[str]], customer_id: object) -> Customer | None:
    pk = as_id(customer_id)
    customer = Customer.objects.filter(pk=pk).first() if pk is not None else None
    if customer is None:
        errors["customer"] = ["No such customer."]
        return None
    if customer.merged_into_id is not None:
        errors["customer"] = [f"That customer was merged into customer {customer.merged_into_id}."]
        return None
    return customer


def _choice(
    errors: dict[str, list[str]], field: str, value: object, choices: type[models.TextChoices]
) -> str:
    if value not in choices.values:
        errors[field] = [f"Choose one of: {', '.join(choices.values)}."]
        return ""
    return str(value)


@transaction.atomic
def case_open(
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    channel: str,
    subject: str,
    description: str = "",
    priority: str = CasePriority.NORMAL,
) -> Case:
    """Open a case for a customer; it lands on the customer's timeline."""
    authorize(actor, "service.add_case", message="You may not open cases.")
    errors: dict[str, list[str]] = {}
    customer = _live_customer(errors, customer_id)
    case = Case(
        kind=_choice(errors, "kind", kind, CaseKind),
        channel=_choice(errors, "channel", channel, CaseChannel),
        priority=_choice(errors, "priority", priority, CasePriority),
        subject=clean_text(errors, "subject", subject, 200),
        description=clean_text(errors, "description", description, 20000),
        opened_by=user_of(actor),
    )
    if not case.subject and "subject" not in errors:
        errors["subject"] = ["Say what the case is about."]
    if errors or customer is None:
        raise ValidationError(errors)
    case.customer = customer
    audit(case, actor)
    case.save()
    activity_record(
        customer_id=customer.pk,
        kind=CaseActivity.OPENED,
        actor=actor,
        source_app=SOURCE_APP,
        subject=f"{case.get_kind_display()} {case.reference} opened: {case.subject}"[:200],
        body=case.description,
        ref=case,
        payload={"case_id": case.pk, "kind": case.kind, "channel": case.channel, "priority": case.priority},
    )
    return case
