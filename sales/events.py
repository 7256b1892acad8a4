"""What sales listens to on the event bus (`frontoffice.events`); subscribed from
`SalesConfig.ready()`.

- `marketing.lead_captured`: a marketing web form was filled in; one lead per capture
  (`sales.lead_capture`). The payload's contract is in docs/sales_leads.md.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError

from frontoffice import events
from sales.lead_capture import LEAD_CAPTURED, lead_capture

log = logging.getLogger(__name__)


def on_lead_captured(*, event: str, **payload: Any) -> None:
    """Runs inside the publisher's transaction. A bad payload is logged (the keys and
    messages, never the person's data) and refused: nothing is written and the
    publisher's own work stands. Any other error (the database) propagates."""
    try:
        result = lead_capture(payload=payload)
    except ValidationError as exc:
        problems = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in exc.message_dict.items())
        log.warning(
            "%s refused (capture_key %r): %s",
            event,
            str(payload.get("capture_key", ""))[:200],
            problems[:2000],
        )
        return
    if result.created:
        log.info("%s: lead %s created (capture_key %r)", event, result.lead.pk, result.lead.capture_key)
    else:
        log.info("%s: capture_key %r already made lead %s", event, result.lead.capture_key, result.lead.pk)


def register_event_handlers() -> None:
    events.subscribe(LEAD_CAPTURED, on_lead_captured)
