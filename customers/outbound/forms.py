"""Page forms of the outbound room: they parse input and hand it to the services."""

from __future__ import annotations

from typing import Any

from django import forms

from customers.outbound.choices import MessageCategory, MessageStatus, OutboundChannel
from customers.outbound.models import MessageTemplate
from frontoffice.forms import ServiceForm

PLACEHOLDER_HELP = (
    "Placeholders: {{ customer.display_name }}, {{ customer.first_name }}, {{ customer.last_name }}, "
    "{{ customer.organisation_name }}, {{ customer.email }}, and what the sending app gives "
    "({{ order.reference }}, {{ order.tracking }}...)."
)


class MessageTemplateForm(ServiceForm):
    key = forms.CharField(
        label="Key", max_length=80, required=False, help_text="How apps name it: order-shipped."
    )
    name = forms.CharField(label="Name", max_length=120, required=False)
    category = forms.ChoiceField(label="Category", choices=MessageCategory.choices)
    subject = forms.CharField(label="Subject", max_length=200, required=False, help_text=PLACEHOLDER_HELP)
    body = forms.CharField(label="Body", widget=forms.Textarea(attrs={"rows": 10}), required=False)
    is_active = forms.BooleanField(label="In use", required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @classmethod
    def for_template(cls, template: MessageTemplate) -> MessageTemplateForm:
        return cls(
            initial={
                "key": template.key,
                "name": template.name,
                "category": template.category,
                "subject": template.subject,
                "body": template.body,
                "is_active": template.is_active,
                "version": template.version,
            }
        )

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class PreviewForm(forms.Form):
    preview_customer = forms.IntegerField(label="Preview for customer (id)", min_value=1, required=False)
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False)


class MessageFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *MessageStatus.choices], required=False
    )
    channel = forms.ChoiceField(
        label="Channel", choices=[("", "Any channel"), *OutboundChannel.choices], required=False
    )
    category = forms.ChoiceField(
        label="Category", choices=[("", "Any category"), *MessageCategory.choices], required=False
    )
    customer = forms.IntegerField(label="Customer (id)", min_value=1, required=False)
