"""The first start of the demo (`make run` runs `manage.py demo`, then the worker and
beat): the sync monitor shows no backlog. Each step replays its months on a moved clock;
what they left in the outbox (the service history's goodwill credit notes...) is relayed
to the ERP simulator at the end of the seed, as the worker's first sweep would, so no
message waits for the worker, dated months ago; and nothing is dated after now."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from backoffice_sync.models import OutboxMessage, OutboxStatus
from bench.first_run import DEMO_STEP
from customers.models import Activity
from customers.outbound.models import OutboundMessage

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A Wednesday, as the other demo tests (the sales replay is the same for the same day).
TODAY = dt.datetime(2026, 3, 18, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    settings.DEBUG = True  # the demo seeds refuse to run without it


def test_after_the_demo_no_outbox_message_waits_for_the_worker() -> None:
    # when: the whole demo, every app's step in order, as `make run` seeds it (the relay
    # kicks that commits send are left for a worker that has not started)
    out = StringIO()
    with time_machine.travel(TODAY, tick=False):
        call_command("demo", customers=80, stdout=out)
        now = timezone.now()
    # then: the last step relayed the outbox (its timing in the first-run bench's table)...
    relayed = [
        m for m in map(DEMO_STEP.match, out.getvalue().splitlines()) if m and m["name"] == "outbox-relay"
    ]
    assert len(relayed) == 1, out.getvalue()
    # ... the story's credit notes reached the ERP simulator...
    credit_notes = OutboxMessage.objects.filter(kind="credit_note.issue")
    assert credit_notes.exists(), out.getvalue()
    assert credit_notes.filter(status=OutboxStatus.DELIVERED).exists()
    # ... and no message queued by the story waits for the worker
    waiting = OutboxMessage.objects.filter(
        status=OutboxStatus.PENDING, created_at__lt=now - dt.timedelta(minutes=5)
    )
    assert list(waiting.values_list("kind", "created_at")) == []
    # ... and nothing is dated after now
    assert not OutboxMessage.objects.filter(created_at__gt=now).exists()
    assert not OutboxMessage.objects.filter(delivered_at__gt=now).exists()
    assert not OutboundMessage.objects.filter(created_at__gt=now).exists()
    assert not Activity.objects.filter(occurred_at__gt=now).exists()
