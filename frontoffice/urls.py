"""Pages of one's own account under /accounts/: password change and reset (Django's views,
our templates) and API tokens. Names are global: Django's views reverse them unprefixed."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from frontoffice import views

urlpatterns = [
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("tokens/", views.token_list, name="api_tokens"),
    path("tokens/<str:token_id>/revoke/", views.token_revoke, name="api_token_revoke"),
]
