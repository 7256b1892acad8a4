"""SLA clocks on real cases, with time frozen: due times from the policy of the case's
priority and the customer's tier, the pause while waiting on the customer, attainment,
and the sweep's warning and escalation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from customers.models import Activity
from customers.tests.factories import PersonFactory
from service import services
from service.escalation import sla_sweep
from service.models import AgentNotification, Case
from service.tests.conftest import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies", "queues")]


def travel(moment: Any) -> Any:
    return time_machine.travel(moment, tick=False)


def transition(case: Case, actor: Any, status: str, **extra: Any) -> Case:
    return services.case_transition(actor=actor, case_id=case.pk, status=status, **extra)


def test_due_times_follow_the_policy_in_business_hours(open_case: Callable[..., Case]) -> None:
    # given a normal case opened on Friday at 16:00 by e-mail
    with travel(at(11, 16)):
        case = open_case()
    # then: first response 2 business hours later (Monday 10:00), resolution 16 (Tuesday 16:00)
    assert (case.first_response_due_at, case.resolution_due_at) == (at(14, 10), at(15, 16))
    assert case.first_response_at is None


def test_a_gold_customer_gets_the_gold_policy_and_a_holiday_does_not_count(
    open_case: Callable[..., Case],
) -> None:
    gold = PersonFactory(attributes={"tier": "gold"})
    with travel(at(24, 16, 30)):
        case = open_case(gold)
    assert case.sla_policy is not None
    assert case.sla_policy.tier == "gold"
    # Thursday 16:30 + 1 h: 30 min on Thursday, Friday 25th is a holiday, then the weekend
    assert case.first_response_due_at == at(28, 9, 30)


def test_a_phone_case_has_its_first_response_when_it_is_opened(open_case: Callable[..., Case]) -> None:
    with travel(at(7, 10)):
        case = open_case(channel="phone")
    assert case.first_response_at == at(7, 10)
    assert case.first_response_met is True


def test_waiting_on_the_customer_pauses_the_clock_and_resuming_moves_the_due_time(
    open_case: Callable[..., Case], agent: Any
) -> None:
    # given a case due on Tuesday 16:00, answered at once
    with travel(at(14, 16)):
        case = open_case()
        case = services.case_note_add(actor=agent, case_id=case.pk, body="Send a photo?", visibility="public")
    assert case.resolution_due_at == at(16, 16)
    # when it waits on the customer from Monday 16:30 to Tuesday 10:30 (2 business hours)
    with travel(at(14, 16, 30)):
        case = transition(case, agent, "waiting_customer")
    assert case.sla_paused_at == at(14, 16, 30)
    with travel(at(15, 10, 30)):
        case = transition(case, agent, "open")
    # then the resolution is due 2 business hours later, and the pause is on record
    assert case.resolution_due_at == at(17, 10)  # Wed 16:00 + 2 business hours
    assert case.sla_paused_seconds == 2 * 3600
    assert case.sla_paused_at is None


def test_attainment_is_recorded_when_the_case_is_resolved(open_case: Callable[..., Case], agent: Any) -> None:
    with travel(at(7, 9)):
        kept, late = open_case(), open_case()
    with travel(at(7, 10)):
        kept = transition(kept, agent, "resolved", resolution="Replaced the item.")
    with travel(at(10, 9)):  # Thursday: past Tuesday 17:00
        late = transition(late, agent, "resolved", resolution="Refunded.")
    assert (kept.resolution_met, kept.first_response_met, kept.sla_breached) == (True, True, False)
    assert (late.resolution_met, late.first_response_met, late.sla_breached) == (False, False, True)


def test_the_sweep_warns_the_assignee_before_the_due_time_once(
    open_case: Callable[..., Case], agent: Any
) -> None:
    with travel(at(7, 9)):
        case = open_case()
    assignee = case.assignee_id
    with travel(at(7, 10, 45)):  # first response due 11:00, warning window 30 min
        first = sla_sweep()
        second = sla_sweep()
    assert (first.warned, second.warned, first.escalated) == (1, 0, 0)
    note = AgentNotification.objects.get()
    assert note.recipient_id == assignee
    assert note.kind == "sla_warning"
    assert case.reference in note.message


def test_a_breach_escalates_to_the_supervisor_queue_and_notifies(
    open_case: Callable[..., Case], supervisor: Any, queues: Any
) -> None:
    # given a case nobody answered in time
    with travel(at(7, 9)):
        case = open_case()
    agent_id = case.assignee_id
    # when the sweep runs after the first-response due time (and again)
    with travel(at(7, 11, 1)):
        report = sla_sweep()
        again = sla_sweep()
    # then it moved to the supervisors, once, with a note, a timeline entry and notifications
    case.refresh_from_db()
    assert (report.escalated, again.escalated) == (1, 0)
    assert (case.queue_id, case.assignee_id, case.sla_breached) == (
        queues["supervisors"].pk,
        supervisor.pk,
        True,
    )
    assert case.escalated_at == at(7, 11, 1)
    assert case.notes.filter(body__contains="breached its first response SLA").exists()
    assert Activity.objects.filter(customer=case.customer, kind="case_escalated").count() == 1
    recipients = set(
        AgentNotification.objects.filter(kind="sla_breached").values_list("recipient_id", flat=True)
    )
    assert recipients == {supervisor.pk, agent_id}


def test_a_paused_or_resolved_case_is_not_escalated(open_case: Callable[..., Case], agent: Any) -> None:
    with travel(at(7, 9)):
        waiting, done = open_case(), open_case()
        transition(waiting, agent, "waiting_customer")
        transition(done, agent, "resolved", resolution="Answered.")
    with travel(at(21, 9)):
        report = sla_sweep()
    assert report.escalated == 0
    assert not Case.objects.filter(escalated_at__isnull=False).exists()
