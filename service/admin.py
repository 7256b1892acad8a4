"""Admin screens of the service desk: what admins configure (queues, business calendars
with holidays, SLA policies, goodwill limits; saves check and move on the version, like
the API's If-Match), and read-only views of cases, calls and goodwill credits, which
change only through the services (their rules and timeline entries)."""

from __future__ import annotations

from django.contrib import admin

from frontoffice.admin_bases import ReadOnlyAdmin, VersionedModelAdmin
from service.models import (
    BusinessCalendar,
    Call,
    Case,
    GoodwillCredit,
    GoodwillLimit,
    Holiday,
    Queue,
    SlaPolicy,
)


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(VersionedModelAdmin):
    list_display = ["name", "timezone", "work_days", "opens_at", "closes_at", "version"]
    inlines = [HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(VersionedModelAdmin):
    list_display = ["name", "priority", "tier", "first_response_minutes", "resolution_minutes", "calendar"]
    list_filter = ["priority", "tier"]


@admin.register(Queue)
class QueueAdmin(VersionedModelAdmin):
    list_display = ["name", "strategy", "is_default", "is_supervisor", "escalation_queue", "version"]
    filter_horizontal = ["members"]
    exclude = ["last_assigned"]


@admin.register(GoodwillLimit)
class GoodwillLimitAdmin(VersionedModelAdmin):
    list_display = ["role", "amount", "currency", "version", "updated_at"]


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "customer",
        "status",
        "priority",
        "queue",
        "assignee",
        "sla_breached",
        "created_at",
    ]
    list_filter = ["status", "priority", "kind", "channel", "sla_breached"]
    search_fields = ["subject"]


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "customer", "agent", "direction", "outcome", "duration_seconds"]


@admin.register(GoodwillCredit)
class GoodwillCreditAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "case", "amount", "currency", "status", "requested_by", "decided_by"]
    list_filter = ["status"]
