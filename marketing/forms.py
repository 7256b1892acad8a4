"""Page forms of marketing: they parse input and hand it to the services."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from frontoffice.forms import ServiceForm
from marketing.choices import CampaignChannel, RoutingMethod, ScoringEvent, ScoringKind
from marketing.models import Segment


class RulesField(forms.CharField):
    """The rules as JSON text; the service says what is wrong with them."""

    widget = forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"})

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value) or ""
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None


class SegmentForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=100, required=False)
    description = forms.CharField(label="Description", max_length=500, required=False)
    rules = RulesField(
        label="Rules",
        required=False,
        help_text='JSON: {"all": [...]}, {"any": [...]}, {"not": {...}} around conditions {"field", "op", "value"}.',
    )

    def field_for_error(self, key: str) -> str | None:
        # "rules.all.0.op": the rule the message names is in the rules box.
        return "rules" if key.startswith("rules") else super().field_for_error(key)

    def apply_errors(self, error: Any) -> None:
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                field = self.field_for_error(key)
                for message in messages:
                    self.add_error(field, f"{key}: {message}" if field == "rules" else message)
            return
        super().apply_errors(error)


class CampaignForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=200, required=False)
    channel = forms.ChoiceField(label="Channel", choices=CampaignChannel.choices)
    segment = forms.ModelChoiceField(label="Segment", queryset=Segment.objects.all(), required=False)
    budget = forms.DecimalField(label="Budget", min_value=0, max_digits=14, decimal_places=2, required=False)
    currency = forms.CharField(label="Currency", max_length=3, initial="EUR")
    starts_at = forms.DateTimeField(
        label="Starts", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    subject_template = forms.CharField(
        label="E-mail subject", max_length=200, required=False, help_text="Placeholders: {{ first_name }}…"
    )
    body_template = forms.CharField(
        label="E-mail body",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Placeholders: {{ first_name }}, {{ last_name }}, {{ display_name }}, {{ email }}, "
        "{{ attr.<key> }}, {{ unsubscribe_url }}. Links (http…) are tracked.",
    )
    cap_messages = forms.IntegerField(
        label="At most … marketing e-mails", min_value=0, max_value=365, initial=3
    )
    cap_days = forms.IntegerField(label="… per days", min_value=1, max_value=365, initial=7)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["segment"] = data["segment"].pk if data["segment"] else None
        if data["budget"] is None:
            data.pop("budget")
        return data


class LeadFormForm(ServiceForm):
    name = forms.CharField(label="Form name", max_length=100, required=False)


class PublicLeadForm(forms.Form):
    """What a visitor fills in; `website` is the honeypot (people do not see it)."""

    use_required_attribute = False
    first_name = forms.CharField(label="First name", max_length=100, required=False)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    company = forms.CharField(label="Company", max_length=200, required=False)
    email = forms.CharField(label="E-mail", max_length=254, required=False)
    phone = forms.CharField(label="Phone", max_length=40, required=False)
    message = forms.CharField(
        label="Message", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    consent = forms.BooleanField(label="Consent", required=False)
    website = forms.CharField(label="Leave this empty", required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)


class ScoringRuleForm(ServiceForm):
    one_time = True
    name = forms.CharField(label="Name", max_length=100, required=False)
    kind = forms.ChoiceField(label="Kind", choices=ScoringKind.choices)
    event = forms.ChoiceField(
        label="Behaviour",
        choices=[("", "—"), *ScoringEvent.choices],
        required=False,
        help_text="Behaviour rules: the event that earns the points.",
    )
    criteria = RulesField(
        label="Profile rule",
        required=False,
        help_text='Profile rules: a segment rule, e.g. {"field": "lifecycle_stage", "op": "eq", "value": "customer"}.',
    )
    points = forms.IntegerField(label="Points", min_value=-1000, max_value=1000)
    half_life_days = forms.IntegerField(
        label="Half-life (days)",
        min_value=1,
        max_value=3650,
        initial=30,
        help_text="Behaviour points halve every N days.",
    )

    def field_for_error(self, key: str) -> str | None:
        return "criteria" if key.startswith("criteria") else super().field_for_error(key)


class RoutingForm(ServiceForm):
    threshold = forms.IntegerField(label="Route leads from a score of", min_value=0, max_value=100000)
    method = forms.ChoiceField(label="Routing", choices=RoutingMethod.choices)
    territory_attribute = forms.CharField(
        label="Territory attribute",
        max_length=50,
        required=False,
        help_text="The custom attribute's key (territory routing).",
    )
    territories = forms.JSONField(
        label="Territories",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "code"}),
        help_text='{"north": <user id of a sales rep>, ...}; a value nobody covers goes round robin.',
    )

    def field_for_error(self, key: str) -> str | None:
        return "territories" if key.startswith("territories") else super().field_for_error(key)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["territories"] = data.get("territories") or {}
        return data
