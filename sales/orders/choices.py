"""What an order page shows of an order's life: its state (the ERP's status, or ours
before and beside it) and whether its delivery promise was kept."""

from __future__ import annotations

from django.db import models

from backoffice_sync.models import ErpOrderStatus

SHIPPED = (ErpOrderStatus.SHIPPED, ErpOrderStatus.DELIVERED)
CLOSED = (ErpOrderStatus.CANCELLED, ErpOrderStatus.REJECTED)


class OrderState(models.TextChoices):
    """What an order page shows: the ERP's status, or ours before / beside it."""

    SUBMITTED = "submitted", "Submitted"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCEL_REQUESTED = "cancel_requested", "Cancel requested"
    CANCELLED = "cancelled", "Cancelled"


class PromiseState(models.TextChoices):
    KEPT = "kept", "Promise kept"
    MISSED = "missed", "Promise missed"
    OPEN = "open", "On track"
