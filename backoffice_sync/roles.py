"""What each role may do with the back-office sync; declared in hooks.py."""

from __future__ import annotations

from frontoffice.roles import Role

# The outbox monitor: the back office and admins watch the queue, replay or skip dead messages.
OUTBOX = [
    "backoffice_sync.view_outboxmessage",
    "backoffice_sync.replay_outboxmessage",
    "backoffice_sync.skip_outboxmessage",
]

# What the back office has and when it can deliver (the mirrors, available-to-promise):
# everyone who talks to customers, and the back office itself.
MIRRORS = [
    "backoffice_sync.view_product",
    "backoffice_sync.view_stocklevel",
    "backoffice_sync.view_erporder",
    "backoffice_sync.view_shipment",
    "backoffice_sync.view_invoice",
    "backoffice_sync.view_payment",
]

GRANTS = {
    **{role: [*MIRRORS] for role in Role.FRONT_OFFICE},
    Role.BACK_OFFICE: [*OUTBOX, *MIRRORS],
    Role.ADMIN: [*OUTBOX, *MIRRORS],
}
