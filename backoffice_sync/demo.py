"""The demo's last step (`make run`): what the other steps left in the outbox reaches the
ERP simulator before the web, the worker and beat start.

The steps replay months on a moved clock; a message they queue whose relay kick did not
run it (the service history's goodwill credit notes, kicked into a broker no worker
reads yet) would wait, dated months ago, for the worker's first sweep: on first start
the sync monitor would show a backlog as old as the story, which looks like an outage.
So the seed ends as that sweep would: `relay_due`, the relay beat's `relay_outbox`
runs, until nothing is due, at the real time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from backoffice_sync.erp import get_adapter
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import RelayReport, relay_due


def relay_demo_outbox(options: Mapping[str, Any]) -> str:
    """Relay every due outbox message to the in-process ERP simulator (nothing with an ERP
    over HTTP, which may not be up yet: the worker relays then)."""
    if settings.ERP_ADAPTER != "stub":
        return "outbox left to the worker (ERP_ADAPTER is not stub)"
    adapter = get_adapter()
    total = RelayReport()
    more = True
    while more:
        report, more = relay_due(adapter=adapter)
        total += report
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
    return f"{total.delivered} outbox messages relayed, {total.dead} dead, {pending} pending"
