"""Page forms for leads and opportunities; writes go through `sales.services`."""

from __future__ import annotations

from typing import Any

from django import forms

from customers.forms import ServiceForm
from frontoffice.models import User
from sales.filters import MONTH
from sales.models import LeadSource
from sales.selectors import close_months


class LeadForm(ServiceForm):
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    organisation_name = forms.CharField(label="Organisation", max_length=200, required=False)
    email = forms.CharField(label="E-mail", max_length=254, required=False)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    title = forms.CharField(label="Interested in", max_length=200, required=False)
    source = forms.ChoiceField(label="Source", choices=LeadSource.choices, initial=LeadSource.MANUAL)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(ServiceForm):
    reason = forms.CharField(label="Reason", max_length=300, required=False)


class ConvertForm(ServiceForm):
    """Pick a candidate customer or explicitly create a new one."""

    NEW = "new"
    target = forms.ChoiceField(
        label="Customer",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose one of the customers, or to create a new one."},
    )

    def __init__(self, *args: Any, candidates: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (str(c.customer.pk), f"{c.customer.display_name} (#{c.customer.pk}) — {', '.join(c.reasons)}")
            for c in candidates
        ]
        choices.append((self.NEW, "Create a new customer from this lead"))
        self.fields["target"].choices = choices
        if not candidates:
            self.fields["target"].initial = self.NEW

    def service_kwargs(self) -> dict[str, Any]:
        target = self.cleaned_data["target"]
        if target == self.NEW:
            return {"create_customer": True}
        return {"customer": int(target)}


class MoveForm(ServiceForm):
    stage = forms.IntegerField(min_value=1)
    version = forms.IntegerField(min_value=1, required=False)


class BoardFilterForm(forms.Form):
    owner = forms.ModelChoiceField(
        label="Owner",
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label="Anyone",
    )
    close_month = forms.ChoiceField(label="Closing in", required=False)

    def __init__(self, *args: Any, today: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        months = close_months(today=today)
        asked = str((self.data or {}).get("close_month") or "")
        if MONTH.fullmatch(asked) and asked not in months:
            months = sorted([*months, asked])  # a bookmarked month outside the window
        self.fields["close_month"].choices = [("", "Any month")] + [(m, m) for m in months]
