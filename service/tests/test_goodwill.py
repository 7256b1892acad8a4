"""Goodwill within each role's authority: applied at once within the limit (a credit
note through the outbox reaches the ERP simulator), otherwise an approval request a
supervisor approves or refuses; negative amounts and approvals above one's own limit
are refused, in the service and over the API."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.models import OutboxMessage
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator.models import SimCreditNote
from customers.models import Activity
from service.goodwill import GoodwillNotPending, goodwill_approve, goodwill_grant, goodwill_refuse
from service.models import AgentNotification, Case, GoodwillCredit
from tests.api_contract import snapshot
from tests.fixtures import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limits")]


def test_a_credit_within_the_limit_goes_to_the_erp_and_shows_on_the_case_and_timeline(
    open_case: Callable[..., Case], agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    case = open_case()
    erp = StubAdapter()
    erp.reset(seed=1, start=timezone.now())
    # when
    credit = goodwill_grant(actor=agent, case_id=case.pk, amount="40.00", reason="Late delivery")
    relay_due(adapter=erp)
    # then
    assert (credit.status, credit.credit_ref) == ("applied", f"GW-{credit.pk:06d}")
    message = OutboxMessage.objects.get(kind="credit_note.issue")
    assert message.aggregate == f"credit:{credit.credit_ref}"
    assert message.payload["customer_ref"] == str(case.customer_id)
    assert message.payload["amount"] == "40.00"
    note = SimCreditNote.objects.get(credit_ref=credit.credit_ref)
    assert note.amount == Decimal("40.00")
    assert case.notes.filter(body__contains=credit.credit_ref).exists()
    assert Activity.objects.filter(customer=case.customer, kind="goodwill_credited").count() == 1
    assert credit.history.first().history_user == agent


def test_above_the_limit_it_waits_for_a_supervisor_who_approves_it(
    open_case: Callable[..., Case], agent: Any, supervisor: Any
) -> None:
    case = open_case()
    credit = goodwill_grant(actor=agent, case_id=case.pk, amount=Decimal("120"), reason="Broken twice")
    assert credit.status == "pending"
    assert not OutboxMessage.objects.exists()
    notified = set(
        AgentNotification.objects.filter(kind="goodwill_request").values_list("recipient_id", flat=True)
    )
    assert supervisor.pk in notified
    assert agent.pk not in notified
    approved = goodwill_approve(actor=supervisor, goodwill_id=credit.pk, reason="Loyal customer")
    assert (approved.status, approved.decided_by, approved.decision_reason) == (
        "applied",
        supervisor,
        "Loyal customer",
    )
    assert OutboxMessage.objects.filter(kind="credit_note.issue").count() == 1
    assert AgentNotification.objects.filter(kind="goodwill_approved", recipient=agent).exists()
    assert [h.history_change_reason for h in approved.history.order_by("history_id")] == [
        "Requested approval",
        "Approved",
    ]
    with pytest.raises(GoodwillNotPending):
        goodwill_refuse(actor=supervisor, goodwill_id=credit.pk, reason="Changed my mind")


def test_a_refusal_needs_a_reason_and_sends_nothing(
    open_case: Callable[..., Case], agent: Any, supervisor: Any
) -> None:
    credit = goodwill_grant(actor=agent, case_id=open_case().pk, amount="90", reason="Upset")
    with pytest.raises(ValidationError):
        goodwill_refuse(actor=supervisor, goodwill_id=credit.pk, reason=" ")
    refused = goodwill_refuse(actor=supervisor, goodwill_id=credit.pk, reason="Already compensated")
    assert (refused.status, refused.decision_reason) == ("refused", "Already compensated")
    assert not OutboxMessage.objects.exists()


def test_nobody_approves_above_their_own_limit_or_their_own_request(
    open_case: Callable[..., Case], agent: Any, supervisor: Any
) -> None:
    case = open_case()
    huge = goodwill_grant(actor=agent, case_id=case.pk, amount="800", reason="Total loss")
    with pytest.raises(PermissionDenied, match="above your goodwill limit"):
        goodwill_approve(actor=supervisor, goodwill_id=huge.pk)
    own = goodwill_grant(actor=supervisor, case_id=case.pk, amount="600", reason="Big one")
    with pytest.raises(PermissionDenied):
        goodwill_approve(actor=supervisor, goodwill_id=own.pk)
    with pytest.raises(PermissionDenied):
        goodwill_approve(actor=agent, goodwill_id=huge.pk)
    assert set(GoodwillCredit.objects.values_list("status", flat=True)) == {"pending"}


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "12.345", "NaN"])
def test_a_bad_amount_is_refused_and_nothing_is_written(
    open_case: Callable[..., Case], agent: Any, amount: str
) -> None:
    case = open_case()
    before = snapshot(GoodwillCredit, OutboxMessage)
    with pytest.raises(ValidationError) as caught:
        goodwill_grant(actor=agent, case_id=case.pk, amount=amount, reason="x")
    assert "amount" in caught.value.message_dict
    assert snapshot(GoodwillCredit, OutboxMessage) == before


def test_the_api_enforces_the_limits_and_the_approval_rights(
    open_case: Callable[..., Case], agent: Any, supervisor: Any
) -> None:
    case = open_case()
    api = client_for(agent)
    negative = api.post(
        "/api/v1/service/goodwill/", {"case": case.pk, "amount": "-1", "reason": "x"}, format="json"
    )
    assert negative.status_code == 400
    assert "amount" in negative.json()["errors"]
    within = api.post(
        "/api/v1/service/goodwill/", {"case": case.pk, "amount": "50", "reason": "Sorry"}, format="json"
    )
    above = api.post(
        "/api/v1/service/goodwill/", {"case": case.pk, "amount": "51", "reason": "Sorry"}, format="json"
    )
    assert (within.status_code, within.json()["status"]) == (201, "applied")
    assert (above.status_code, above.json()["status"]) == (201, "pending")
    pending = above.json()["id"]
    assert api.post(f"/api/v1/service/goodwill/{pending}/approve/", {}, format="json").status_code == 403
    boss = client_for(supervisor)
    no_reason = boss.post(f"/api/v1/service/goodwill/{pending}/refuse/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["errors"]
    stale = boss.post(f"/api/v1/service/goodwill/{pending}/approve/", {}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    done = boss.post(f"/api/v1/service/goodwill/{pending}/approve/", {"reason": "ok"}, format="json")
    assert (done.status_code, done.json()["status"], done["ETag"]) == (200, "applied", '"2"')
    listed = boss.get("/api/v1/service/goodwill/", {"status": "applied"}).json()
    assert len(listed["results"]) == 2
