"""Admin screens for price lists and discount limits (configured by admins; saves check
and move on the version, like the API's If-Match), and a read-only view of quotes
(quotes change through the quote builder and the API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from frontoffice.admin_bases import VersionedModelAdmin
from sales.models import DiscountLimit, PriceList, PriceListItem, Quote, QuoteLine


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 1
    autocomplete_fields: list[str] = []
    raw_id_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(VersionedModelAdmin):
    list_display = ["name", "currency", "tier", "active", "version", "updated_at"]
    list_filter = ["currency", "tier", "active"]
    search_fields = ["name"]
    inlines = [PriceListItemInline]


@admin.register(DiscountLimit)
class DiscountLimitAdmin(VersionedModelAdmin):
    list_display = ["role", "max_discount_percent", "version", "updated_at"]


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "position",
        "product",
        "description",
        "quantity",
        "unit_price",
        "discount_percent",
        "net_amount",
    ]
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
