"""Admin of the ERP simulator: the fault knobs are edited here (and its clock read);
the ERP's own tables are read-only, since the engine keeps their invariants and their
change log together."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from backoffice_sync.simulator.models import (
    SimCreditNote,
    SimCustomer,
    SimDelivery,
    SimEvent,
    SimFaults,
    SimIncoming,
    SimInvoice,
    SimOrder,
    SimOrderLine,
    SimPayment,
    SimProduct,
    SimShipment,
    SimState,
    SimStock,
)
from frontoffice.admin_bases import ReadOnlyAdmin


@admin.register(SimFaults)
class SimFaultsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "outage", "latency_ms", "error_rate", "duplicate_rate", "reorder_rate")
    fields = ("outage", "latency_ms", "error_rate", "duplicate_rate", "reorder_rate", "draws", "updated_at")
    readonly_fields = ("draws", "updated_at")

    def has_add_permission(self, request: Any) -> bool:
        return False  # one row, created by the simulator from the ERP_FAULT_* settings

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SimState)
class SimStateAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "seed", "now")


@admin.register(SimEvent)
class SimEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "type", "aggregate", "version", "occurred_at")
    list_filter = ("type",)
    search_fields = ("aggregate", "event_id")


@admin.register(SimDelivery)
class SimDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("idempotency_key", "kind", "aggregate", "status", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("idempotency_key", "aggregate")


@admin.register(SimProduct)
class SimProductAdmin(ReadOnlyAdmin):
    list_display = ("sku", "name", "unit_price", "currency", "lead_time_days", "active")
    list_filter = ("active",)
    search_fields = ("sku", "name")


@admin.register(SimStock)
class SimStockAdmin(ReadOnlyAdmin):
    list_display = ("product", "warehouse", "on_hand", "reserved", "version")
    list_filter = ("warehouse",)
    list_select_related = ("product",)
    search_fields = ("product__sku",)


@admin.register(SimIncoming)
class SimIncomingAdmin(ReadOnlyAdmin):
    list_display = ("stock", "quantity", "expected_on")


@admin.register(SimCustomer)
class SimCustomerAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer_ref", "name", "payment_terms_days", "pays_late")
    search_fields = ("customer_ref", "number", "name")


class SimOrderLineInline(admin.TabularInline):
    model = SimOrderLine
    extra = 0
    can_delete = False
    fields = ("line_no", "product", "warehouse", "quantity", "unit_price", "reserved", "shipped")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SimOrder)
class SimOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "order_ref", "customer", "status", "received_at", "ship_after")
    list_filter = ("status",)
    list_select_related = ("customer",)
    search_fields = ("number", "order_ref")
    inlines = (SimOrderLineInline,)


@admin.register(SimShipment)
class SimShipmentAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "carrier", "tracking_number", "shipped_at")
    list_select_related = ("order",)


@admin.register(SimInvoice)
class SimInvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "customer", "amount", "currency", "issued_on", "due_on", "status")
    list_filter = ("status",)
    list_select_related = ("order", "customer")


@admin.register(SimPayment)
class SimPaymentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "invoice", "amount", "currency", "received_on")
    list_select_related = ("invoice",)


@admin.register(SimCreditNote)
class SimCreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "credit_ref", "customer", "invoice", "amount", "currency", "issued_on")
    list_select_related = ("customer", "invoice")
