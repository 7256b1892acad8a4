"""Page forms of the service desk: they parse input and hand it to the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from frontoffice.forms import ServiceForm
from service.choices import (
    CallDirection,
    CallOutcome,
    CaseCategory,
    CaseChannel,
    CaseKind,
    CasePriority,
    CaseStatus,
    NoteVisibility,
)


class CaseOpenForm(ServiceForm):
    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    kind = forms.ChoiceField(label="Type", choices=CaseKind.choices, initial=CaseKind.ENQUIRY)
    channel = forms.ChoiceField(label="Channel", choices=CaseChannel.choices, initial=CaseChannel.PHONE)
    priority = forms.ChoiceField(label="Priority", choices=CasePriority.choices, initial=CasePriority.NORMAL)
    category = forms.ChoiceField(
        label="Category", choices=CaseCategory.choices, initial=CaseCategory.OTHER, required=False
    )
    subject = forms.CharField(label="Subject", max_length=200, required=False)
    description = forms.CharField(
        label="Description", widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    error_aliases = {"customer_id": "customer"}
    one_time = True  # a double click opens one case

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["customer_id"] = data.pop("customer")
        data["category"] = data.get("category") or CaseCategory.OTHER
        return data


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *CaseStatus.choices], required=False
    )
    priority = forms.ChoiceField(
        label="Priority", choices=[("", "Any priority"), *CasePriority.choices], required=False
    )
    kind = forms.ChoiceField(label="Type", choices=[("", "Any type"), *CaseKind.choices], required=False)
    sla_breached = forms.ChoiceField(
        label="SLA", choices=[("", "Any"), ("true", "Breached"), ("false", "Kept so far")], required=False
    )


class VersionedForm(ServiceForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class TransitionForm(VersionedForm):
    status = forms.ChoiceField(label="New status", choices=CaseStatus.choices)

    def allow_only(self, statuses: frozenset[str]) -> None:
        field = cast(forms.ChoiceField, self.fields["status"])
        field.choices = [(value, label) for value, label in CaseStatus.choices if value in statuses]

    @property
    def has_choices(self) -> bool:
        return bool(cast(forms.ChoiceField, self.fields["status"]).choices)

    resolution = forms.CharField(
        label="Resolution",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Needed to resolve.",
    )


class NoteForm(VersionedForm):
    visibility = forms.ChoiceField(
        label="Kind",
        choices=NoteVisibility.choices,
        initial=NoteVisibility.INTERNAL,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 3}), required=False)


class GoodwillForm(ServiceForm):
    amount = forms.DecimalField(label="Amount", max_digits=12, decimal_places=2, required=False)
    reason = forms.CharField(label="Reason", max_length=500, required=False)
    invoice_number = forms.CharField(label="Against invoice (optional)", max_length=40, required=False)


class DecisionForm(VersionedForm):
    reason = forms.CharField(label="Reason", max_length=500, required=False)


class CallLogForm(ServiceForm):
    """ "Log a call": one form, one submit (the third action after finding the caller)."""

    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    direction = forms.ChoiceField(
        label="Direction",
        choices=CallDirection.choices,
        initial=CallDirection.INBOUND,
        widget=forms.RadioSelect,
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        min_value=0,
        max_value=24 * 60,
        initial=1,
        widget=forms.NumberInput(attrs={"accesskey": "l"}),  # Alt+L: log a call
    )
    outcome = forms.ChoiceField(label="Outcome", choices=CallOutcome.choices, initial=CallOutcome.RESOLVED)
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    case = forms.ChoiceField(label="Case", required=False)
    kind = forms.ChoiceField(label="New case type", choices=CaseKind.choices, initial=CaseKind.ENQUIRY)
    category = forms.ChoiceField(label="Category", choices=CaseCategory.choices, initial=CaseCategory.OTHER)
    priority = forms.ChoiceField(label="Priority", choices=CasePriority.choices, initial=CasePriority.NORMAL)
    subject = forms.CharField(label="New case subject", max_length=200, required=False)
    resolved_on_first_contact = forms.BooleanField(
        label="Resolved on first contact (closes the case)", required=False
    )
    error_aliases = {
        "customer_id": "customer",
        "duration_seconds": "duration_minutes",
        "case_id": "case",
        "new_case": "subject",
    }

    NO_CASE = "none"
    NEW_CASE = "new"

    def __init__(self, *args: Any, open_cases: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["case"]).choices = [
            (self.NEW_CASE, "Open a new case"),
            *[(str(pk), label) for pk, label in open_cases],
            (self.NO_CASE, "No case (just log the call)"),
        ]

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields: dict[str, Any] = {
            "customer_id": data["customer"],
            "direction": data["direction"],
            "duration_seconds": data["duration_minutes"] * 60,
            "outcome": data["outcome"],
            "notes": data["notes"],
            "resolved_on_first_contact": data["resolved_on_first_contact"],
        }
        choice = data.get("case") or self.NEW_CASE
        if choice == self.NEW_CASE:
            fields["new_case"] = {
                "kind": data["kind"],
                "category": data["category"],
                "priority": data["priority"],
                "subject": data["subject"] or (data["notes"] or "").split("\n")[0][:200],
            }
        elif choice != self.NO_CASE:
            fields["case_id"] = int(choice)
        return fields
