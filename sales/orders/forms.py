"""Forms of the order pages; the service owns the rules (a reason, at most 500 characters)."""

from __future__ import annotations

from django import forms


class CancelForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label="Why cancel?", required=False)
