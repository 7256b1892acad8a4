"""The back office of the demo's history, played as beat and the relay would: the ERP
simulator's clock, the outbox relay, the inbox pull, quote expiry, the weekly forecast,
the affinities and the reconciliation. And whether the history can be played at all."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils import timezone

from backoffice_sync import inbox
from backoffice_sync.erp import ErpError
from backoffice_sync.models import InboxEvent, OutboxMessage
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator import engine as erp_simulator
from backoffice_sync.sync_status import reconcile
from frontoffice.actors import DEMO_SEED
from sales.forecast.services import affinities_recompute, forecast_publish
from sales.leads.models import Lead
from sales.orders.models import SalesOrder
from sales.pipeline.models import Opportunity
from sales.quotes.models import Quote
from sales.quotes.services_expiry import quotes_expire


def fresh_erp_problem() -> str | None:
    """Why the history cannot be replayed on this database, or None when it can."""
    if settings.ERP_ADAPTER != "stub":
        return "it replays the in-process ERP simulator (ERP_ADAPTER=stub), not an ERP over HTTP"
    if OutboxMessage.objects.exists() or InboxEvent.objects.exists():
        return (
            "the front office has already exchanged messages with the ERP simulator, whose clock "
            "cannot go back; seed an empty database"
        )
    return None


def sales_data_exists() -> bool:
    return any(model.objects.exists() for model in (Lead, Opportunity, Quote, SalesOrder))


@contextlib.contextmanager
def quiet(name: str) -> Iterator[None]:
    """The relay logs every batch at INFO: a line per day of history is noise here."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(level)


class BackOffice:
    """The ERP simulator (`adapter`, reset to the history's start) and what beat does
    around it; `end` is the history's last midnight."""

    def __init__(self, adapter: Any, *, end: dt.datetime) -> None:
        self.adapter = adapter
        self.end = end

    def tick_to(self, moment: dt.datetime) -> None:
        behind = moment - self.adapter.clock()
        if behind > dt.timedelta(0):
            self.adapter.tick(behind.total_seconds() / 3600)

    def relay(self) -> None:
        more = True
        while more:
            _, more = relay_due(adapter=self.adapter)

    def kick(self) -> None:
        """What the relay kicked on commit does live: the order reaches the ERP within
        seconds (its clock moved to this moment first), not at the next catch-up (a
        cancel a day late could find the order shipped)."""
        self.tick_to(timezone.now())
        self.relay()

    def catch_up(self) -> None:
        """What beat's tasks do between two working days, in one go: the simulator works
        through each night up to last midnight (`tick_simulator`), the outbox relay
        delivers what is still due (`relay_outbox`), sent quotes past their validity
        expire (`expire_quotes`), and the inbox pulls what the ERP did (`poll_erp`)."""
        now = timezone.now()
        midnight = dt.datetime.combine(timezone.localdate(), dt.time.min, tzinfo=self.end.tzinfo)
        self.tick_to(midnight if now < self.end else now)
        self.relay()
        while quotes_expire(actor=DEMO_SEED).more:  # beat's hourly `expire_quotes`
            pass
        try:
            while inbox.pull_changes_once().has_more:
                pass
        except ErpError:
            return  # fault knobs set: the next catch-up tries again, as the poll would
        inbox.inbox_apply_pending()

    def credit_control(self, customer_refs: list[str]) -> None:
        for ref in customer_refs:
            erp_simulator.customer_update(customer_ref=ref, payment_terms_days=14, pays_late=True)

    def publish_forecast(self) -> None:
        forecast_publish(actor=DEMO_SEED)

    def finish(self) -> int:
        """At the real time: the last catch-up, this week's forecast, the affinities
        (returns how many) and the reconciliation."""
        self.catch_up()
        forecast_publish(actor=DEMO_SEED)
        self.kick()  # this week's forecast, and upserts the last pull queued
        affinities = affinities_recompute(actor=DEMO_SEED)
        with contextlib.suppress(ErpError):  # fault knobs set: beat reconciles every 10 minutes
            reconcile(adapter=self.adapter)
        return affinities
