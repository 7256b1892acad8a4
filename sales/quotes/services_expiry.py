"""The expiry sweep: sent quotes whose validity date has passed become `expired`.

A quote is valid through its `valid_until` date (the business's local date, as sending
and accepting read it). Nothing waits for this sweep to refuse an out-of-date quote:
`quote_send` and `quote_accept` check the date themselves, so between midnight and the
sweep a quote that still says `sent` is refused all the same (409). The sweep makes the
status, the lists and the customer's timeline say so.

Concurrency: the batch's rows are locked `FOR UPDATE SKIP LOCKED` (PostgreSQL), so a
quote being accepted or revised right now is left to the next run rather than waited
for, and the rows stay locked until the status and the timeline commit together. On
SQLite writers are serialised (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.timeline import activity_record_many
from frontoffice.actors import Actor
from frontoffice.write_path import authorize
from sales.quotes.models import Quote, QuoteStatus
from sales.timeline import SOURCE_APP, ActivityKinds

EXPIRE_BATCH = 500


@dataclass(frozen=True)
class ExpiryBatch:
    expired: int
    more: bool  # the batch was full: more may remain


@transaction.atomic
def quotes_expire(
    *, actor: Actor, today: dt.date | None = None, batch_size: int = EXPIRE_BATCH
) -> ExpiryBatch:
    """Mark up to `batch_size` sent quotes whose `valid_until` is before `today` expired
    (the version moves on: an ETag held by a client becomes stale) and write one
    `quote_expired` entry per quote on its customer's timeline, in the same transaction.

    Idempotent: an expired quote is no longer `sent`, so a second run finds nothing.
    Cost: 3 queries (the batch with its customers, one UPDATE, one INSERT of the
    entries) whatever the batch size; the (status, valid_until) index finds the batch.
    `actor`: who sweeps (beat's task passes `frontoffice.actors.SCHEDULER`).
    """
    authorize(actor, "sales.change_quote", message="You may not expire quotes.")
    today = today or timezone.localdate()
    now = timezone.now()
    batch = list(
        Quote.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("opportunity")
        .only("reference", "revision", "valid_until", "opportunity__customer")
        .filter(status=QuoteStatus.SENT, valid_until__lt=today)
        .order_by("valid_until", "id")[:batch_size]
    )
    if not batch:
        return ExpiryBatch(expired=0, more=False)
    Quote.objects.filter(pk__in=[quote.pk for quote in batch]).update(
        status=QuoteStatus.EXPIRED, version=F("version") + 1, updated_at=now
    )
    activity_record_many(
        entries=[
            {
                "customer_id": quote.opportunity.customer_id,
                "kind": ActivityKinds.QUOTE_EXPIRED,
                "subject": f"Quote {quote.reference} rev. {quote.revision} expired",
                "body": f"It was valid until {quote.valid_until.isoformat()} and was not accepted.",
                "source_app": SOURCE_APP,
                "actor": actor,
                "occurred_at": now,
                "ref": quote,
                "payload": {"quote_id": quote.pk, "valid_until": quote.valid_until.isoformat()},
            }
            for quote in batch
        ]
    )
    return ExpiryBatch(expired=len(batch), more=len(batch) == batch_size)
