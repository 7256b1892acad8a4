"""Admin: the back-office sync's tables are read here; writes go through the services
(a replay resets the attempts and kicks the relay after commit)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox_replay import REPLAY_PERMISSION, outbox_replay
from frontoffice.admin_bases import ReadOnlyAdmin
from frontoffice.errors import DomainError


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "aggregate",
        "sequence",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_until",
        "delivered_at",
        "last_error",
    )
    list_filter = ("status", "kind")
    search_fields = ("=aggregate", "=idempotency_key")
    list_select_related = ("replayed_by",)
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["replay"]
    show_full_result_count = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_replay_permission(self, request: Any) -> bool:
        return request.user.has_perm(REPLAY_PERMISSION)

    @admin.action(description="Replay the selected dead messages", permissions=["replay"])
    def replay(self, request: Any, queryset: QuerySet[OutboxMessage]) -> None:
        selected = list(queryset.values_list("pk", "status"))
        replayed = 0
        for message_id, status in selected:
            if status != OutboxStatus.DEAD:
                continue
            try:
                outbox_replay(actor=request.user, message_id=message_id)
            except (DomainError, PermissionDenied, Http404):
                continue  # replayed or delivered meanwhile, or the right was withdrawn
            replayed += 1
        self.message_user(
            request,
            f"Replayed {replayed} of {len(selected)} selected message(s); only dead ones can be replayed.",
            messages.INFO,
        )


# --- inbox and mirrors (read-only; a rejected event can be applied again) -----------------

from backoffice_sync import models as sync_models  # noqa: E402 (kept apart from the outbox block)
from backoffice_sync.inbox import RETRY_PERMISSION as RETRY_INBOX_PERMISSION  # noqa: E402
from backoffice_sync.inbox import inbox_retry  # noqa: E402


@admin.register(sync_models.InboxEvent)
class InboxEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "external_id",
        "type",
        "aggregate",
        "version",
        "via",
        "status",
        "applied_at",
        "error",
    )
    list_filter = ("status", "via", "type")
    search_fields = ("=external_id", "=aggregate")
    actions = ["retry"]

    def has_retry_permission(self, request: Any) -> bool:
        return request.user.has_perm(RETRY_INBOX_PERMISSION)

    @admin.action(description="Apply the selected rejected events again", permissions=["retry"])
    def retry(self, request: Any, queryset: QuerySet[sync_models.InboxEvent]) -> None:
        selected = list(queryset.filter(status=sync_models.InboxStatus.REJECTED).values_list("pk", flat=True))
        applied = 0
        for pk in selected:
            row = inbox_retry(actor=request.user, inbox_event_id=pk)
            applied += row is not None and row.status == sync_models.InboxStatus.APPLIED
        self.message_user(request, f"Applied {applied} of {len(selected)} rejected event(s).", messages.INFO)


@admin.register(sync_models.InboxAggregate)
class InboxAggregateAdmin(ReadOnlyAdmin):
    list_display = ("aggregate", "version", "updated_at")
    search_fields = ("=aggregate",)


@admin.register(sync_models.SyncCursor)
class SyncCursorAdmin(ReadOnlyAdmin):
    list_display = ("name", "cursor", "last_pulled_at", "last_success_at", "last_error")


@admin.register(sync_models.Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("sku", "name", "unit_price", "currency", "lead_time_days", "active", "erp_version")
    list_filter = ("active",)
    search_fields = ("=sku", "name")


@admin.register(sync_models.StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ("product", "warehouse", "on_hand", "reserved", "erp_version")
    list_select_related = ("product",)
    search_fields = ("=product__sku",)


@admin.register(sync_models.ErpOrder)
class ErpOrderAdmin(ReadOnlyAdmin):
    list_display = ("order_ref", "erp_order_number", "customer", "status", "status_changed_at", "erp_version")
    list_filter = ("status",)
    list_select_related = ("customer",)
    search_fields = ("=order_ref", "=erp_order_number")


@admin.register(sync_models.Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ("number", "order", "carrier", "tracking_number", "shipped_on", "delivered_on")
    list_select_related = ("order",)
    search_fields = ("=number", "=tracking_number", "=order__order_ref")


@admin.register(sync_models.Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "customer",
        "amount",
        "amount_paid",
        "currency",
        "status",
        "issued_on",
        "due_on",
    )
    list_filter = ("status", "currency")
    list_select_related = ("customer",)
    search_fields = ("=number", "=order_ref")


@admin.register(sync_models.Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "invoice_number", "customer", "amount", "currency", "received_on")
    list_select_related = ("customer",)
    search_fields = ("=reference", "=invoice_number")


@admin.register(sync_models.CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "invoice_number", "customer", "amount", "currency", "issued_on")
    list_select_related = ("customer",)
    search_fields = ("=number", "=credit_ref", "=invoice_number")


@admin.register(sync_models.CustomerBalance)
class CustomerBalanceAdmin(ReadOnlyAdmin):
    list_display = ("customer", "currency", "open_amount", "overdue_amount", "open_invoices", "updated_at")
    list_select_related = ("customer",)
