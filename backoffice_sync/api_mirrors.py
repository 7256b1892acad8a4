"""The ERP mirrors as API clients read them: the customer 360 panel "Invoices and balance"
(`selectors_mirrors.invoices_and_balance`), declared with the panel in hooks.py so that
the hub's 360 answer documents its data."""

from __future__ import annotations

from rest_framework import serializers

from backoffice_sync.models import ErpOrderStatus, InvoiceStatus


def _money(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, help_text=help_text)


class PanelBalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    open_amount = _money("Open, overdue included.")
    overdue_amount = _money("Open and past its due date.")
    overdue = serializers.BooleanField()


class PanelInvoiceSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    status_label = serializers.CharField()
    amount = _money("The invoice's total.")
    open_amount = _money("What is still to pay.")
    currency = serializers.CharField()
    issued_on = serializers.DateField()
    due_on = serializers.DateField()
    past_due = serializers.BooleanField(help_text="Not paid, and due before today.")


class PanelOrderSerializer(serializers.Serializer):
    order_ref = serializers.CharField()
    erp_order_number = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=ErpOrderStatus.choices)
    status_label = serializers.CharField()
    updated_at = serializers.DateTimeField(help_text="When the ERP last changed the status.")


class InvoicesAndBalanceSerializer(serializers.Serializer):
    """The customer's balance per currency, the last invoices and the recent orders."""

    balances = PanelBalanceSerializer(many=True)
    overdue = serializers.BooleanField(help_text="Something is overdue in some currency.")
    invoices = PanelInvoiceSerializer(many=True, help_text="The last five, newest first.")
    orders = PanelOrderSerializer(many=True, help_text="The last five, most recently changed first.")
