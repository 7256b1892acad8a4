"""Page forms of the service desk: they parse input and hand it to the services."""

from __future__ import annotations

from typing import Any

from django import forms

from frontoffice.forms import ServiceForm
from service.choices import CaseChannel, CaseKind, CasePriority, CaseStatus


class CaseOpenForm(ServiceForm):
    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    kind = forms.ChoiceField(label="Type", choices=CaseKind.choices, initial=CaseKind.ENQUIRY)
    channel = forms.ChoiceField(label="Channel", choices=CaseChannel.choices, initial=CaseChannel.PHONE)
    priority = forms.ChoiceField(label="Priority", choices=CasePriority.choices, initial=CasePriority.NORMAL)
    subject = forms.CharField(label="Subject", max_length=200, required=False)
    description = forms.CharField(
        label="Description", widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    error_aliases = {"customer_id": "customer"}
    one_time = True  # a double click opens one case

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["customer_id"] = data.pop("customer")
        return data


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *CaseStatus.choices], required=False
    )
    priority = forms.ChoiceField(
        label="Priority", choices=[("", "Any priority"), *CasePriority.choices], required=False
    )
    kind = forms.ChoiceField(label="Type", choices=[("", "Any type"), *CaseKind.choices], required=False)
