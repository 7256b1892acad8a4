"""The kinds of entries sales writes on a customer's timeline (declared, with their label,
icon and link, in `sales/hooks.py`), and the `source_app` they carry."""

from __future__ import annotations

SOURCE_APP = "sales"


class ActivityKinds:
    """Timeline kinds sales writes (customers' ActivityKind leaves room for other apps)."""

    LEAD_CONVERTED = "lead_converted"
    OPPORTUNITY_CREATED = "opportunity_created"
    STAGE_CHANGED = "opportunity_stage"
    WON = "opportunity_won"
    LOST = "opportunity_lost"
    REOPENED = "opportunity_reopened"
    QUOTE_CREATED = "quote_created"
    QUOTE_APPROVAL_REQUESTED = "quote_approval_requested"
    QUOTE_APPROVED = "quote_approved"
    QUOTE_SENT = "quote_sent"
    QUOTE_EMAILED = "quote_emailed"
    QUOTE_EMAIL_FAILED = "quote_email_failed"
    QUOTE_REVISED = "quote_revised"
    QUOTE_EXPIRED = "quote_expired"
    ORDER_PLACED = "order_placed"
    ORDER_CANCEL_REQUESTED = "order_cancel_requested"
