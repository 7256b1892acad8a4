"""Two reps accepting the same quote at once make exactly one order and one outbox
message: the quote row is locked (select_for_update) and the order has a OneToOne to
its quote. Two quotes for the same last units accepted at once: one order promises
them, the other is refused (its accept waits on the products' rows, then sees the stock
held). Each rep runs in its own thread with its own database connection; on PostgreSQL
the two really overlap, on SQLite the writers serialise and the assertions hold all the
same."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from backoffice_sync import outbox
from backoffice_sync.models import OutboxMessage
from frontoffice.errors import Conflict
from sales.models import QuoteStatus, SalesOrder
from sales.orders import services as order_services
from sales.tests.order_setup import a_sent_quote
from tests.fixtures import Role, make_user

pytestmark = pytest.mark.django_db(transaction=True)

BOUND_SECONDS = 30


def accept_at_once(*attempts: tuple[Any, int]) -> list[str]:
    """Each (actor, quote id) accepted in its own thread with its own connection, all
    released together: the outcomes, sorted ("order", or the refusal's code)."""
    start = threading.Barrier(len(attempts), timeout=BOUND_SECONDS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def accept(actor: Any, quote_id: int) -> None:
        try:
            start.wait()
            order_services.quote_accept(actor=actor, quote_id=quote_id, expected_version=None)
            outcomes.append("order")
        except Conflict as exc:
            outcomes.append(exc.code)
        except BaseException as exc:  # handed to the test thread, which fails on it
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=accept, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND_SECONDS)
    assert not errors, errors
    return sorted(outcomes)


def test_two_reps_accepting_at_once_make_exactly_one_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a sent quote the rep and a teammate (same team) may both accept
    from frontoffice.models import Team

    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    team = Team.objects.create(name="North")
    rep = make_user("rep", Role.SALES, team=team)
    mate = make_user("mate", Role.SALES, team=team)
    quote = a_sent_quote(rep)
    # when
    outcomes = accept_at_once((rep, quote.pk), (mate, quote.pk))
    # then
    assert outcomes == ["order", "order_conflict"]
    assert SalesOrder.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED


def test_two_quotes_for_the_last_units_accepted_at_once_make_one_promise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: all 100 units in stock quoted twice, to two customers, both for today
    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    rep = make_user("rep", Role.SALES)
    mate = make_user("mate", Role.SALES)
    first = a_sent_quote(rep, lines=[{"sku": "SKU-1", "quantity": 100}])
    second = a_sent_quote(mate, catalogue=False, lines=[{"sku": "SKU-1", "quantity": 100}])
    assert first.promised_delivery_on == second.promised_delivery_on
    # when
    outcomes = accept_at_once((rep, first.pk), (mate, second.pk))
    # then: one order promises the units; the other could only promise after the lead time
    assert outcomes == ["delivery_date_not_met", "order"]
    assert SalesOrder.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
