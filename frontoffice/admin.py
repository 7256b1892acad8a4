from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from frontoffice.models import Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Team", {"fields": ("team",)}))
    list_display = ("username", "first_name", "last_name", "email", "team", "is_active", "is_staff")
    list_filter = ("team", "groups", "is_active", "is_staff")
    list_select_related = ("team",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
