"""Fixtures of the service desk's tests: a business calendar (Mon-Fri 09:00-17:00 in
Berlin, with a holiday), SLA policies, queues and goodwill limits, set up through the
admin services as an admin would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from customers.tests.factories import PersonFactory
from frontoffice.roles import Role
from service import services, settings_services
from service.models import BusinessCalendar, Case, Queue, SlaPolicy
from tests.fixtures import make_user

BERLIN = dt.timezone(dt.timedelta(hours=1))  # Berlin in winter (CET), for readable instants
HOLIDAY = dt.date(2026, 12, 25)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    """An instant in December 2026, Berlin time (Mon 7th, Fri 11th, Fri 25th = holiday)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def calendar(admin_user: Any) -> BusinessCalendar:
    return settings_services.calendar_create(
        actor=admin_user,
        name="Berlin desk",
        timezone="Europe/Berlin",
        work_days="12345",
        opens_at=dt.time(9),
        closes_at=dt.time(17),
        holidays=[(HOLIDAY, "Christmas Day")],
    )


@pytest.fixture
def policies(admin_user: Any, calendar: BusinessCalendar) -> dict[str, SlaPolicy]:
    """Normal: first response in 2 business hours, resolution in 2 business days (16 h);
    gold customers get a normal case answered within 1 h; warnings 30 minutes before."""
    make = settings_services.sla_policy_create
    return {
        "normal": make(
            actor=admin_user,
            name="Normal",
            priority="normal",
            tier="",
            calendar=calendar.pk,
            first_response_minutes=120,
            resolution_minutes=16 * 60,
            warn_before_minutes=30,
        ),
        "gold": make(
            actor=admin_user,
            name="Normal, gold",
            priority="normal",
            tier="gold",
            calendar=calendar.pk,
            first_response_minutes=60,
            resolution_minutes=8 * 60,
            warn_before_minutes=30,
        ),
    }


@pytest.fixture
def agent2(db: Any) -> Any:
    return make_user("agent2", Role.SERVICE_AGENT)


@pytest.fixture
def queues(admin_user: Any, agent: Any, agent2: Any, supervisor: Any) -> dict[str, Queue]:
    supervisors = settings_services.queue_create(
        actor=admin_user, name="Supervisors", is_supervisor=True, members=[supervisor.pk]
    )
    front = settings_services.queue_create(
        actor=admin_user,
        name="Front line",
        is_default=True,
        strategy="round_robin",
        members=[agent.pk, agent2.pk],
        escalation_queue=supervisors.pk,
    )
    return {"front": front, "supervisors": supervisors}


@pytest.fixture
def limits(admin_user: Any) -> None:
    settings_services.goodwill_limit_set(actor=admin_user, role=Role.SERVICE_AGENT, amount=Decimal("50"))
    settings_services.goodwill_limit_set(
        actor=admin_user, role=Role.SERVICE_SUPERVISOR, amount=Decimal("500")
    )


@pytest.fixture
def open_case(agent: Any) -> Callable[..., Case]:
    def make(customer: Any = None, **overrides: Any) -> Case:
        fields = {"kind": "complaint", "channel": "email", "subject": "Parcel arrived damaged"}
        fields.update(overrides)
        actor = fields.pop("actor", agent)
        return services.case_open(actor=actor, customer_id=(customer or PersonFactory()).pk, **fields)

    return make
