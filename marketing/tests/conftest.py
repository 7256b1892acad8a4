"""Marketing's shared builders: customers made through the hub's services."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction

from customers import services as customer_services
from customers.consent import consent_record
from customers.models import Customer
from frontoffice.actors import MAINTENANCE


def a_person(
    first: str,
    last: str = "Test",
    *,
    email: str | None = "",
    consent: bool | None = True,
    **fields: Any,
) -> Customer:
    """A person with an e-mail (first@example.com unless told; None: none) and, unless
    `consent` is None, an e-mail marketing consent granted (True) or withdrawn (False)."""
    address = email if email else f"{first.lower()}.{last.lower()}@example.com"
    customer = customer_services.customer_create(
        actor=MAINTENANCE,
        kind="person",
        first_name=first,
        last_name=last,
        contact_points=[] if email is None else [{"kind": "email", "value": address}],
        **fields,
    )
    if consent is not None:
        consent_record(
            actor=MAINTENANCE,
            customer_id=customer.pk,
            channel="email",
            purpose="marketing",
            granted=consent,
            source="test",
        )
    return customer


def written(campaign: Any) -> Any:
    """The launch's snapshot written as pending members, as the sending's batches write
    them (before sending); returns the campaign."""
    from marketing.campaigns.sending import write_members

    with transaction.atomic():
        write_members(campaign, limit=1_000_000)
    return campaign


@pytest.fixture
def person() -> Any:
    return a_person


@pytest.fixture
def throttle_limit(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Callable[[str, int], None]]:
    """Sets a scope's allowance per minute (`marketing.throttle.RATES`), with the clock
    held in the middle of the current minute (the limiter counts per fixed window, so
    requests that straddled a window's end were counted apart) and a cache of the
    test's own (in CI two test processes share one Redis database, and the other one's
    clearing between its tests emptied the counters mid-test: both were flaky)."""
    from marketing import throttle

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-tests"}
    }
    cache.clear()  # nothing counted by an earlier test of this process

    middle = (time.time() // 60) * 60 + 30
    with time_machine.travel(dt.datetime.fromtimestamp(middle, tz=dt.UTC), tick=False):

        def limit(scope: str, requests: int) -> None:
            monkeypatch.setitem(throttle.RATES, scope, (requests, 60))

        yield limit
