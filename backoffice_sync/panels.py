"""What the inbox side of the back-office sync plugs into the customer profile: the
"Invoices and balance" panel of the 360 view, and the mirrors' references to
Customer so that a merge re-points them. Registered from `BackofficeSyncConfig.ready()`."""

from __future__ import annotations

from backoffice_sync.selectors_mirrors import invoices_and_balance
from customers import merge_registry, panels
from customers.panels import Panel

CUSTOMER_REFERENCES = (
    ("backoffice_sync.ErpOrder", "customer", "ERP orders"),
    ("backoffice_sync.Invoice", "customer", "Invoices"),
    ("backoffice_sync.Payment", "customer", "Payments"),
    ("backoffice_sync.CreditNote", "customer", "Credit notes"),
    ("backoffice_sync.CustomerBalance", "customer", "Balances"),
)


INVOICES_PANEL = Panel(
    key="invoices_balance",
    title="Invoices and balance",
    loader=invoices_and_balance,
    template="backoffice_sync/_panel_invoices.html",
    permission="backoffice_sync.view_invoice",
    order=40,
)


def register_inbox_hooks() -> None:
    for model_label, field_name, title in CUSTOMER_REFERENCES:
        merge_registry.register(model_label, field_name, title)
    panels.register(INVOICES_PANEL)
