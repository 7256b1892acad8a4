"""Page forms for leads: they parse what a person typed and hand it to the services,
which own every rule (`frontoffice.forms.ServiceForm`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from frontoffice.csv_upload import csv_file_field
from frontoffice.forms import ServiceForm
from sales.leads.models import LeadSource
from sales.leads.selectors import Candidate
from sales.leads.services_import import MAX_FILE_BYTES, MAX_ROWS


class LeadForm(ServiceForm):
    first_name = forms.CharField(label="First name", required=False)
    last_name = forms.CharField(label="Last name", required=False)
    organisation_name = forms.CharField(label="Organisation", required=False)
    email = forms.CharField(label="E-mail", required=False)
    phone = forms.CharField(label="Phone", required=False)
    title = forms.CharField(label="Interested in", required=False)
    source = forms.ChoiceField(label="Source", choices=LeadSource.choices, initial=LeadSource.MANUAL)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ConvertForm(ServiceForm):
    """Pick a candidate customer or explicitly create a new one."""

    NEW = "new"
    error_aliases = {"customer": "target"}
    target = forms.ChoiceField(
        label="Customer",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose one of the customers, or to create a new one."},
    )

    def __init__(self, *args: Any, candidates: Sequence[Candidate] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (str(c.customer.pk), f"{c.customer.display_name} (#{c.customer.pk}) — {', '.join(c.reasons)}")
            for c in candidates
        ]
        choices.append((self.NEW, "Create a new customer from this lead"))
        target: Any = self.fields["target"]
        target.choices = choices
        if not candidates:
            target.initial = self.NEW

    def service_kwargs(self) -> dict[str, Any]:
        target = self.cleaned_data["target"]
        if target == self.NEW:
            return {"create_customer": True}
        return {"customer": int(target)}


class LeadImportForm(ServiceForm):
    file = csv_file_field(max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS, noun="leads")


class LeadImportConfirmForm(forms.Form):
    content = forms.CharField(widget=forms.HiddenInput, strip=False, max_length=MAX_FILE_BYTES)
    filename = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)
