"""The project's URLs: the kernel's pages (health, login, dashboard, search, API docs)
and every app's pages and API routes, from its hooks."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import views
from config.api_router import router
from frontoffice import health, plugin
from frontoffice.schema_view import RedocView, SchemaView, SwaggerView

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("frontoffice.urls")),  # password change and reset, API tokens
    path("", views.dashboard, name="dashboard"),
    path("search/", views.search, name="search"),
    *(path(h.hooks.url_prefix, include(h.hooks.urls)) for h in plugin.load() if h.hooks.urls),
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

# Django's own error answers (before or outside any view): problem JSON under /api/.
handler400 = "frontoffice.errors.bad_request"
handler403 = "frontoffice.errors.permission_denied"
handler404 = "frontoffice.errors.page_not_found"
handler500 = "frontoffice.errors.server_error"
