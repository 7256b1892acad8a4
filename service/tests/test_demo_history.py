"""The service demo: months of history through the services, every channel and state,
SLAs kept and breached, escalations, goodwill within and above the limits, and nothing
dated after now."""

from __future__ import annotations

import pytest
from django.utils import timezone

from customers.models import Activity
from customers.tests.factories import PersonFactory
from service.choices import CaseChannel, CaseStatus
from service.demo.history import seed_service_history
from service.models import Call, Case, GoodwillCredit

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_history_covers_every_channel_state_and_sla_outcome() -> None:
    # given
    for _ in range(30):
        PersonFactory()
    # when
    summary = seed_service_history({"seed": 3, "cases": 120})
    again = seed_service_history({"seed": 3, "if_empty": True})
    # then
    now = timezone.now()
    assert summary.startswith(f"{Case.objects.count()} cases")
    assert again == "service history already there"
    assert set(Case.objects.values_list("channel", flat=True)) == set(CaseChannel.values)
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {CaseStatus.CLOSED, CaseStatus.RESOLVED} <= statuses
    assert statuses & {
        CaseStatus.NEW,
        CaseStatus.OPEN,
        CaseStatus.WAITING_CUSTOMER,
        CaseStatus.WAITING_BACK_OFFICE,
    }
    assert Case.objects.filter(resolution_met=True).exists()
    assert (
        Case.objects.filter(resolution_met=False).exists() or Case.objects.filter(sla_breached=True).exists()
    )
    assert Case.objects.filter(escalated_at__isnull=False).exists()
    assert Case.objects.filter(first_contact_resolved=True).exists()
    assert Call.objects.exists()
    assert {"applied", "pending"} & set(GoodwillCredit.objects.values_list("status", flat=True))
    assert GoodwillCredit.objects.filter(
        requested_by__username__startswith="agent", decided_by__isnull=False
    ).exists()
    assert not Case.objects.filter(created_at__gt=now).exists()
    assert not Activity.objects.filter(source_app="service", occurred_at__gt=now).exists()
    assert not GoodwillCredit.objects.filter(created_at__gt=now).exists()
