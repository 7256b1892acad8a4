"""Choices of the back-office sync that other modules share."""

from __future__ import annotations

from django.db import models


class ErpActivityKind(models.TextChoices):
    """The timeline kinds the sync writes from the ERP's events (labels: hooks.py)."""

    ERP_ORDER = "erp_order", "Order update"
    SHIPMENT = "shipment", "Shipment"
    INVOICE = "invoice", "Invoice"
    PAYMENT = "payment", "Payment"
