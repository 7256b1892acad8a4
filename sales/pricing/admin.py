"""Admin screens for price lists and discount limits, configured by admins (saves check
and move on the version, like the API's If-Match)."""

from __future__ import annotations

from django.contrib import admin

from frontoffice.admin_bases import VersionedModelAdmin
from sales.pricing.models import DiscountLimit, PriceList, PriceListItem


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 1
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
