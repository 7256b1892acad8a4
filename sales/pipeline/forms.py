"""Page forms for the board and opportunities: they parse what a person typed and hand
it to the services, which own every rule (`frontoffice.forms.ServiceForm`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms

from frontoffice.forms import DateField, ServiceForm
from frontoffice.models import User
from frontoffice.write_path import as_id
from sales.forms_lines import EMPTY_LINE_ROWS, LineRowsMixin, row_count
from sales.pipeline.filters import MONTH
from sales.pipeline.models import Opportunity, OpportunityLine, OpportunityStatus, Pipeline
from sales.pipeline.selectors import close_months
from sales.pipeline.values import MAX_LINES


class ReasonForm(ServiceForm):
    """Why: a lead is disqualified, an opportunity lost (the services require one)."""

    reason = forms.CharField(label="Reason", required=False)


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
        close_month: Any = self.fields["close_month"]
        close_month.choices = [("", "Any month")] + [(m, m) for m in months]


# --- opportunities: the list's filters, the create and edit form -----------------------

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_LINE_ROWS = MAX_LINES


def _plain(number: Decimal) -> Decimal:
    """3.000 -> 3, 2.500 -> 2.5 (and never 1E+1): a quantity as a person types it."""
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def stage_choices(pipelines: list[Pipeline], *, kinds: tuple[str, ...] | None = None) -> list[Any]:
    """Stages grouped by pipeline (`<optgroup>`s), from prefetched pipelines."""
    return [
        (
            pipeline.name,
            [
                (str(stage.pk), f"{stage.name} ({stage.probability}%)")
                for stage in pipeline.stages.all()
                if kinds is None or stage.kind in kinds
            ],
        )
        for pipeline in pipelines
    ]


def _owner_choice(empty_label: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Owner",
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"),
        required=False,
        empty_label=empty_label,
    )


class OpportunityFilterForm(forms.Form):
    """The list page's filters, rendered; `OpportunityFilter` (the API's) does the filtering."""

    use_required_attribute = False

    q = forms.CharField(label="Name or customer", required=False, max_length=200)
    pipeline = forms.ChoiceField(label="Pipeline", required=False)
    stage = forms.ChoiceField(label="Stage", required=False)
    owner = forms.IntegerField(required=False)  # replaced in __init__
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *OpportunityStatus.choices]
    )
    close_month = forms.ChoiceField(label="Closing in", required=False)
    amount_min = forms.DecimalField(
        label="Amount from", required=False, min_value=0, max_digits=14, decimal_places=2
    )
    amount_max = forms.DecimalField(
        label="Amount to", required=False, min_value=0, max_digits=14, decimal_places=2
    )
    customer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, pipelines: list[Pipeline], today: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pipeline: Any = self.fields["pipeline"]
        pipeline.choices = [("", "Any"), *((str(p.pk), p.name) for p in pipelines)]
        stage: Any = self.fields["stage"]
        stage.choices = [("", "Any"), *stage_choices(pipelines)]
        self.fields["owner"] = _owner_choice("Anyone")
        months = close_months(today=today)
        asked = str((self.data or {}).get("close_month") or "")
        if MONTH.fullmatch(asked) and asked not in months:
            months = sorted([*months, asked])  # a bookmarked month outside the window
        close_month: Any = self.fields["close_month"]
        close_month.choices = [("", "Any month")] + [(m, m) for m in months]
        for name in ("amount_min", "amount_max"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "step": "0.01"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The upper amount is below the lower one.")
        return data


def _opportunity_line(sku: str, value: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"sku": sku, "quantity": value("quantity") or Decimal("1")}
    if value("unit_price") is not None:
        line["unit_price"] = value("unit_price")
    return line


class StageChoiceField(forms.ChoiceField):
    """A stage from the offered choices or any other stage id: whether a stage fits
    (its pipeline, its kind) is the service's rule, and its message says why."""

    def valid_value(self, value: Any) -> bool:
        return as_id(str(value)) is not None


class OpportunityForm(LineRowsMixin, ServiceForm):
    """Create or edit an opportunity with its product lines (one row per line, plus a few
    empty rows to add lines; clearing a row's SKU removes the line). The service owns
    every rule; its errors (`lines.2.sku`) land on the row's field (`line_2_sku`)."""

    third_column = "unit_price"

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    customer = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    name = forms.CharField(label="Name", required=False)
    pipeline = forms.ChoiceField(label="Pipeline", required=False)
    stage = StageChoiceField(
        label="Stage", required=False, help_text="Empty: the first stage of the pipeline."
    )
    amount = forms.DecimalField(
        label="Amount", required=False, help_text="Empty: the total of the product lines."
    )
    currency = forms.CharField(label="Currency", required=False, initial="EUR")
    expected_close_date = DateField(label="Expected close date", required=False, widget=DATE)
    next_step = forms.CharField(label="Next step", required=False)
    owner = forms.IntegerField(required=False)  # replaced in __init__

    def __init__(
        self,
        *args: Any,
        pipelines: list[Pipeline],
        opportunity: Opportunity | None = None,
        rows: int = EMPTY_LINE_ROWS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.opportunity = opportunity
        self._start_rows(rows)
        self.fields["owner"] = _owner_choice("Nobody")
        if opportunity is None:
            self.fields["pipeline"].choices = [(str(p.pk), p.name) for p in pipelines]
            # A new opportunity starts in an open stage (the service says so too).
            self.fields["stage"].choices = [("", "First stage"), *stage_choices(pipelines, kinds=("open",))]
            self.fields["customer"].required = True
            self.fields["customer"].error_messages["required"] = "Choose the customer first."
        else:
            # The pipeline stays; the stage moves within it (losing: the opportunity page).
            del self.fields["pipeline"]
            own = [p for p in pipelines if p.pk == opportunity.pipeline_id]
            choices = stage_choices(own, kinds=("open", "won"))[0][1] if own else []
            current = (str(opportunity.stage_id), str(opportunity.stage))
            if current not in choices:
                choices = [*choices, current]
            self.fields["stage"].choices = choices
            self.fields["stage"].help_text = ""
            self.fields["version"].required = True
            self.fields["customer"].disabled = True
        self.fields["currency"].widget.attrs.update({"autocapitalize": "characters", "size": 4})
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "step": "0.01"})
        for i in range(rows):
            self.fields[f"line_{i}_sku"] = forms.CharField(
                label=f"Line {i + 1} product (SKU)", required=False
            )
            self.fields[f"line_{i}_sku"].widget.attrs["list"] = "product-skus"
            self.fields[f"line_{i}_quantity"] = forms.DecimalField(
                label=f"Line {i + 1} quantity", required=False
            )
            self.fields[f"line_{i}_unit_price"] = forms.DecimalField(
                label=f"Line {i + 1} unit price", required=False, help_text=""
            )
            self.fields[f"line_{i}_unit_price"].widget.attrs["placeholder"] = "catalogue price"

    @classmethod
    def build(
        cls,
        *,
        pipelines: list[Pipeline],
        opportunity: Opportunity | None = None,
        lines: Sequence[OpportunityLine] = (),
        data: Any = None,
        initial: dict[str, Any] | None = None,
    ) -> OpportunityForm:
        initial = dict(initial or {})
        if opportunity is not None:
            initial.update(
                {
                    "version": opportunity.version,
                    "customer": opportunity.customer_id,
                    "name": opportunity.name,
                    "stage": str(opportunity.stage_id),
                    # Empty while it is the lines' total, so that it follows them.
                    "amount": None
                    if lines and opportunity.amount == sum((ln.total for ln in lines), Decimal("0"))
                    else opportunity.amount,
                    "currency": opportunity.currency,
                    "expected_close_date": opportunity.expected_close_date,
                    "next_step": opportunity.next_step,
                    "owner": opportunity.owner_id,
                }
            )
            for i, line in enumerate(lines):
                initial[f"line_{i}_sku"] = line.sku
                initial[f"line_{i}_quantity"] = _plain(line.quantity)
                initial[f"line_{i}_unit_price"] = line.unit_price
        rows = row_count(len(lines), data, most=MAX_LINE_ROWS + EMPTY_LINE_ROWS)
        return cls(data, initial=initial, pipelines=pipelines, opportunity=opportunity, rows=rows)

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        lines = self.cleaned_lines(_opportunity_line)
        fields: dict[str, Any] = {
            "name": data["name"],
            "currency": data["currency"],
            "expected_close_date": data.get("expected_close_date"),
            "next_step": data.get("next_step", ""),
            "owner": data.get("owner"),
            "lines": lines,
        }
        if data.get("amount") is not None:
            fields["amount"] = data["amount"]
        elif not lines:
            fields["amount"] = Decimal("0")
        if data.get("stage"):
            fields["stage"] = int(data["stage"])
        if self.opportunity is None:
            fields["customer"] = data["customer"]
            if data.get("pipeline"):
                fields["pipeline"] = int(data["pipeline"])
        return fields
