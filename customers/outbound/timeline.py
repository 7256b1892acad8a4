"""What the outbound room writes on the customer's timeline (kinds declared in
customers/hooks.py)."""

from __future__ import annotations

from customers.outbound.models import OutboundMessage
from customers.timeline import activity_record
from frontoffice.actors import Actor

SOURCE_APP = "customers"


class OutboundActivity:
    SENT = "message_sent"
    SUPPRESSED = "message_not_sent"
    FAILED = "message_failed"
    BOUNCED = "message_bounced"


_VERBS = {
    OutboundActivity.SENT: "sent",
    OutboundActivity.SUPPRESSED: "not sent",
    OutboundActivity.FAILED: "could not be delivered",
    OutboundActivity.BOUNCED: "bounced",
}


def record_outcome(actor: Actor, message: OutboundMessage, kind: str) -> None:
    """One timeline entry for what became of `message` (in the caller's transaction)."""
    how = message.get_channel_display() + (" (tracked only)" if message.tracked_only else "")
    reason = f"\n{message.status_reason}" if message.status_reason and kind != OutboundActivity.SENT else ""
    activity_record(
        customer_id=message.customer_id,
        kind=kind,
        actor=actor,
        source_app=SOURCE_APP,
        subject=f"{how} {_VERBS[kind]}: {message.subject}"[:200],
        body=(message.body[:2000] + reason).strip(),
        ref=message,
        payload={
            "message_id": message.pk,
            "channel": message.channel,
            "category": message.category,
            "status": message.status,
            "template": message.template.key if message.template_id and message.template else "",
        },
        # Who may not read the message may not read it here either.
        view_permission=message.view_permission,
    )
