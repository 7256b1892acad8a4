"""The shapes of the ERP's event data, as the handlers accept them: each field checked
and converted (decimals, dates), whatever the ERP sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from backoffice_sync.apply.rules import MAX_LINES
from frontoffice.serializers import TextField

# `Shape(many=True, max_length=...)`: DRF's ListSerializer takes max_length, which its type
# stubs do not know (hence the `type: ignore[call-arg]` where a list is bounded).


def _ref(max_length: int = 40, **kwargs: Any) -> TextField:
    return TextField(max_length=max_length, trim_whitespace=True, **kwargs)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0), **kwargs)


def _quantity(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=10**9, **kwargs)


class CustomerRefField(serializers.Field):
    """The front office's Customer id, as a string of digits."""

    default_error_messages = {"invalid": "Expected a customer id (digits)."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        text = str(data).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
            raise serializers.ValidationError("Expected a customer id (digits).")
        return int(text)


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^[A-Z]{3}\Z", error_messages={"invalid": "Expected an ISO 4217 code."}, **kwargs)


class OrderLineData(serializers.Serializer):
    sku = _ref(64)
    quantity = _quantity()
    shipped = _quantity(required=False, default=0)
    unit_price = _money(required=False, allow_null=True, default=None)


class ShipmentLineData(serializers.Serializer):
    sku = _ref(64)
    quantity = _quantity()


class OrderData(serializers.Serializer):
    """order.*: the order as the ERP now sees it; shipped/partially_shipped add the shipment."""

    order_ref = _ref()
    erp_order_number = _ref(required=False, allow_null=True, allow_blank=True)
    customer_ref = CustomerRefField()
    status = _ref(30, required=False, allow_blank=True)
    currency = CurrencyField(required=False, allow_null=True)
    requested_date = serializers.DateField(required=False, allow_null=True)  # the promised date
    lines = OrderLineData(many=True, required=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    reason = _ref(500, required=False, allow_blank=True, allow_null=True)
    shipment_number = _ref(required=False, allow_null=True, allow_blank=True)
    carrier = _ref(60, required=False, allow_blank=True, allow_null=True)
    tracking_number = _ref(100, required=False, allow_blank=True, allow_null=True)
    shipped_lines = ShipmentLineData(many=True, required=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    shipment_lines = ShipmentLineData(many=True, required=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    shipped_on = serializers.DateField(required=False, allow_null=True)
    delivered_on = serializers.DateField(required=False, allow_null=True)


class InvoiceData(serializers.Serializer):
    number = _ref()
    order_ref = _ref(required=False, allow_blank=True, allow_null=True)
    customer_ref = CustomerRefField()
    amount = _money()
    currency = CurrencyField()
    issued_on = serializers.DateField()
    due_on = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["due_on"] < attrs["issued_on"]:
            raise serializers.ValidationError({"due_on": ["An invoice cannot be due before it is issued."]})
        return attrs


class PaymentData(serializers.Serializer):
    reference = _ref(60, required=False)
    payment_ref = _ref(60, required=False)  # the simulator's name for the reference
    invoice_number = _ref()
    customer_ref = CustomerRefField()
    amount = _money()
    currency = CurrencyField()
    received_on = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["reference"] = attrs.get("reference") or attrs.get("payment_ref")
        if not attrs["reference"]:
            raise serializers.ValidationError({"reference": ["A payment needs its reference."]})
        return attrs


class OverdueData(serializers.Serializer):
    invoice_number = _ref()
    customer_ref = CustomerRefField()
    amount_due = _money(required=False)


class CreditNoteData(serializers.Serializer):
    number = _ref()
    credit_ref = _ref(60, required=False, allow_blank=True, allow_null=True)
    invoice_number = _ref(required=False, allow_blank=True, allow_null=True)
    customer_ref = CustomerRefField()
    amount = _money()
    currency = CurrencyField()
    reason = _ref(500, required=False, allow_blank=True, allow_null=True)
    issued_on = serializers.DateField(required=False, allow_null=True)


class IncomingData(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10**9)
    expected_on = serializers.DateField()


class StockData(serializers.Serializer):
    sku = _ref(64)
    warehouse = _ref()
    on_hand = _quantity()
    reserved = _quantity()
    incoming = IncomingData(many=True, required=False, max_length=100)  # type: ignore[call-arg]


class ProductData(serializers.Serializer):
    sku = _ref(64)
    name = _ref(200)
    unit_price = _money()
    currency = CurrencyField()
    lead_time_days = serializers.IntegerField(min_value=0, max_value=3650)
    active = serializers.BooleanField()


class CustomerData(serializers.Serializer):
    customer_ref = CustomerRefField()
    erp_customer_number = _ref(allow_blank=True, allow_null=True)
