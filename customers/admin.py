"""Admin: configuration (tags, custom fields) is edited here; customer data is read
here and written through the pages and the API, whose services keep the invariants
(normalised contact points, versions, timeline)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    CustomerImport,
    CustomFieldDefinition,
    Tag,
)
from frontoffice.admin_bases import HistoryAdmin, ReadOnlyAdmin


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0
    fields = ("kind", "label", "value", "is_primary")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(HistoryAdmin, ReadOnlyAdmin):
    list_display = ("display_name", "kind", "lifecycle_stage", "owner", "erp_customer_number", "merged_into")
    list_filter = ("kind", "lifecycle_stage")
    search_fields = ("display_name", "erp_customer_number", "contact_points__value")
    list_select_related = ("owner", "merged_into")
    inlines = [ContactPointInline]
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "label", "field_type", "required", "applies_to")
    list_filter = ("field_type", "applies_to", "required")


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    """The ledger is append-only: nothing here edits or deletes it."""

    list_display = ("customer", "channel", "purpose", "granted", "source", "occurred_at", "actor")
    list_filter = ("channel", "purpose", "granted")
    list_select_related = ("customer", "actor")
    raw_id_fields = ("customer",)


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "customer", "kind", "source_app", "subject", "actor")
    list_filter = ("kind", "source_app")
    list_select_related = ("customer", "actor")
    show_full_result_count = False


@admin.register(CustomerImport)
class CustomerImportAdmin(ReadOnlyAdmin):
    """Who imported which file, when, and what came of it (the report is on the job)."""

    list_display = ("created_at", "filename", "created_by", "dry_run", "status", "rows", "created_count")
    list_filter = ("status", "dry_run")
    list_select_related = ("created_by",)
