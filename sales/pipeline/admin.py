"""Admin screens of pipelines and their stages (configured here by admins; saves check
and move on the pipeline's version, like the API's If-Match), and a read-only view of
leads and opportunities (written through the pages and the API, whose services keep
the invariants: versions, timeline)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction

from frontoffice.admin_bases import ReadOnlyAdmin, VersionedModelAdmin
from sales.leads.models import Lead
from sales.pipeline.models import Opportunity, OpportunityLine, Pipeline, Stage
from sales.pipeline.services_pipelines import pipeline_demote_other_default


class StageInline(admin.TabularInline):
    model = Stage
    extra = 1
    fields = ("order", "name", "probability", "kind")
    ordering = ("order",)


@admin.register(Pipeline)
class PipelineAdmin(VersionedModelAdmin):
    list_display = ("name", "is_default", "active", "version")
    inlines = [StageInline]

    @transaction.atomic
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        pipeline_demote_other_default(pipeline=obj)
        super().save_model(request, obj, form, change)


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "title", "source", "status", "owner", "campaign_id", "created_at")
    list_filter = ("status", "source")
    search_fields = ("first_name", "last_name", "organisation_name", "email")
    list_select_related = ("owner",)


class OpportunityLineInline(admin.TabularInline):
    model = OpportunityLine
    extra = 0
    fields = ("sku", "description", "quantity", "unit_price")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "customer",
        "stage",
        "amount",
        "currency",
        "status",
        "owner",
        "expected_close_date",
    )
    list_filter = ("status", "pipeline", "stage")
    search_fields = ("name", "customer__display_name")
    list_select_related = ("customer", "stage", "owner")
    inlines = [OpportunityLineInline]
