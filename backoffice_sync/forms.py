"""Forms of the back-office sync pages."""

from __future__ import annotations

from django import forms

from backoffice_sync.atp import MAX_QUANTITY
from frontoffice.forms import ServiceForm


class AvailabilityForm(ServiceForm):
    sku = forms.CharField(label="SKU", max_length=64, help_text="As in the ERP's catalogue, e.g. FO-1001.")
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_QUANTITY, initial=1)
    requested_date = forms.DateField(
        label="Requested delivery date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional: we say whether the back office can make it.",
    )


class ReconcileForm(ServiceForm):
    """The monitor's "Reconcile now": the window's length."""

    one_time = True
    days = forms.IntegerField(min_value=1, max_value=366, required=False, initial=14, label="Days")
