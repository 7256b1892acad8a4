from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from frontoffice.models import Team, User

# Django's admin classes are generic only to the type checker (no __class_getitem__).
if TYPE_CHECKING:
    UserAdminBase = DjangoUserAdmin[User]
    TeamAdminBase = admin.ModelAdmin[Team]
else:
    UserAdminBase = DjangoUserAdmin
    TeamAdminBase = admin.ModelAdmin


@admin.register(User)
class UserAdmin(UserAdminBase):
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Team", {"fields": ("team",)}))
    list_display = ("username", "first_name", "last_name", "email", "team", "is_active", "is_staff")
    list_filter = ("team", "groups", "is_active", "is_staff")
    list_select_related = ("team",)


@admin.register(Team)
class TeamAdmin(TeamAdminBase):
    list_display = ("name", "created_at")
    search_fields = ("name",)
