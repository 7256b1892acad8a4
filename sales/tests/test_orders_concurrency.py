"""Two reps accepting the same quote at once make exactly one order and one outbox
message: the quote row is locked (select_for_update) and the order has a OneToOne to
its quote. Each rep runs in its own thread with its own database connection; on
PostgreSQL the two really overlap, on SQLite the writers serialise and the assertions
hold all the same."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from backoffice_sync import outbox
from backoffice_sync.models import OutboxMessage
from frontoffice.errors import Conflict
from sales import orders
from sales.models import QuoteStatus, SalesOrder
from sales.tests.order_setup import a_sent_quote
from tests.fixtures import Role, make_user

pytestmark = pytest.mark.django_db(transaction=True)

BOUND_SECONDS = 30


def test_two_reps_accepting_at_once_make_exactly_one_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a sent quote the rep and a teammate (same team) may both accept
    from frontoffice.models import Team

    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    team = Team.objects.create(name="North")
    rep = make_user("rep", Role.SALES, team=team)
    mate = make_user("mate", Role.SALES, team=team)
    quote = a_sent_quote(rep)
    start = threading.Barrier(2, timeout=BOUND_SECONDS)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def accept(actor) -> None:
        try:
            start.wait()
            orders.quote_accept(actor=actor, quote_id=quote.pk, expected_version=None)
            outcomes.append("order")
        except Conflict:
            outcomes.append("conflict")
        except BaseException as exc:  # handed to the test thread, which fails on it
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=accept, args=(user,)) for user in (rep, mate)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND_SECONDS)
    # then
    assert not errors, errors
    assert sorted(outcomes) == ["conflict", "order"]
    assert SalesOrder.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
