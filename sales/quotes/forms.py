"""Forms of the quote pages. Writes go through `sales.quotes` services, which own every
rule; their errors (`lines.3.sku`) land on the matching field (`line_3_sku`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms

from frontoffice.forms import DateField, ServiceForm
from sales.forms_lines import LineRowsMixin, row_count
from sales.quotes.models import Quote, QuoteLine

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class QuoteCreateForm(ServiceForm):
    opportunity = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    valid_until = DateField(label="Valid until", widget=DATE)
    requested_delivery_on = DateField(label="Requested delivery date", widget=DATE, required=False)
    tax_rate = forms.DecimalField(label="Tax rate (%)", initial=Decimal("0"))


class QuoteStartForm(QuoteCreateForm):
    """The create page's form with the recommended products to start the quote with
    (one unit each; the builder sets quantities and discounts afterwards)."""

    add = forms.MultipleChoiceField(
        label="Start with these recommended products", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, offered: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add: Any = self.fields["add"]
        add.choices = [(r.sku, f"{r.sku} {r.name}".strip()) for r in offered]
        if not offered:
            del self.fields["add"]

    def field_for_error(self, key: str) -> str | None:
        if key.startswith("lines.") and "add" in self.fields:
            return "add"
        return super().field_for_error(key)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["lines"] = [{"sku": sku, "quantity": 1} for sku in data.pop("add", None) or []]
        return data


class QuoteAddLineForm(forms.Form):
    """The builder's "Add" on a recommended product."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    sku = forms.CharField()
    quantity = forms.IntegerField(initial=1, required=False)


class QuoteEditForm(LineRowsMixin, ServiceForm):
    """The quote's header fields and one row per line (plus a few empty rows to add
    lines). Clearing a row's SKU removes the line."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    valid_until = DateField(label="Valid until", widget=DATE)
    requested_delivery_on = DateField(label="Requested delivery date", widget=DATE, required=False)
    accept_later_delivery = forms.BooleanField(
        label="The customer accepts the earliest possible date when it is later", required=False
    )
    tax_rate = forms.DecimalField(label="Tax rate (%)")
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    third_column = "discount_percent"

    def __init__(self, *args: Any, rows: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._start_rows(rows)
        for i in range(rows):
            self.fields[f"line_{i}_sku"] = forms.CharField(label=f"Line {i + 1} SKU", required=False)
            self.fields[f"line_{i}_quantity"] = forms.IntegerField(
                label=f"Line {i + 1} quantity", required=False
            )
            self.fields[f"line_{i}_discount_percent"] = forms.DecimalField(
                label=f"Line {i + 1} discount (%)", required=False
            )

    @classmethod
    def for_quote(cls, quote: Quote, lines: list[QuoteLine], data: Any = None) -> QuoteEditForm:
        initial: dict[str, Any] = {
            "version": quote.version,
            "valid_until": quote.valid_until,
            "requested_delivery_on": quote.requested_delivery_on,
            "accept_later_delivery": quote.accept_later_delivery,
            "tax_rate": quote.tax_rate,
            "notes": quote.notes,
        }
        for i, line in enumerate(lines):
            initial[f"line_{i}_sku"] = line.product_id
            initial[f"line_{i}_quantity"] = line.quantity
            initial[f"line_{i}_discount_percent"] = line.discount_percent
        return cls(data, initial=initial, rows=row_count(len(lines), data, most=600))

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        lines = self.cleaned_lines(
            lambda sku, value: {
                "sku": sku,
                "quantity": value("quantity") or 0,
                "discount_percent": value("discount_percent") or Decimal("0"),
            }
        )
        return {
            "valid_until": data["valid_until"],
            "requested_delivery_on": data.get("requested_delivery_on"),
            "accept_later_delivery": data.get("accept_later_delivery", False),
            "tax_rate": data["tax_rate"],
            "notes": data.get("notes", ""),
            "lines": lines,
        }


class QuoteActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class QuoteSendForm(ServiceForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    to = forms.EmailField(label="Send to (empty: the customer's primary e-mail)", required=False)
    accept_later_delivery = forms.BooleanField(
        label="The customer accepts the earliest possible date", required=False
    )


class QuoteAcceptForm(ServiceForm):
    """The builder's Accept. When the back office can no longer keep the quote's promised
    date, the rep ticks that the customer accepts the new date; that date goes back with
    the form, so that one which slipped again since the page was shown is refused rather
    than promised."""

    one_time = True  # a double click on Accept places one order and shows it twice
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    accept_later_delivery = forms.BooleanField(label="The customer accepts the new date", required=False)
    accepted_delivery_on = DateField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, new_date: dt.date | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "accept_%s")
        super().__init__(*args, **kwargs)
        self.new_date = new_date
        if new_date is not None:
            checkbox = self.fields["accept_later_delivery"]
            checkbox.label = f"The customer accepts the new date {new_date.isoformat()}"
            checkbox.widget.attrs["aria-describedby"] = "accept-promise-note"
            self.initial.setdefault("accepted_delivery_on", new_date)

    def service_fields(self) -> dict[str, Any]:
        later = bool(self.cleaned_data.get("accept_later_delivery"))
        return {
            "expected_version": self.cleaned_data["version"],
            "accept_later_delivery": later,
            "accepted_delivery_on": self.cleaned_data.get("accepted_delivery_on") if later else None,
        }
