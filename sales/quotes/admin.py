"""A read-only admin view of quotes (quotes change through the quote builder and the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from sales.quotes.models import Quote, QuoteLine


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    extra = 0
    can_delete = False
    readonly_fields = (
        "position",
        "product",
        "description",
        "quantity",
        "unit_price",
        "discount_percent",
        "net_amount",
    )
    fields = readonly_fields


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = ["reference", "revision", "status", "currency", "total", "valid_until", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["reference"]
    list_select_related = ["opportunity"]
    inlines = [QuoteLineInline]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
