from __future__ import annotations

from django.urls import path

from marketing import public, views
from marketing.bulk import views as bulk_views

app_name = "marketing"

urlpatterns = [
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_edit, name="segment_new"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
    path("segments/<int:pk>/", views.segment_edit, name="segment_edit"),
    path("scoring/", views.scoring, name="scoring"),
    path("bulk/", bulk_views.bulk_actions, name="bulk"),
    path("bulk/export.csv", bulk_views.bulk_export, name="bulk_export"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_edit, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/forms/", views.lead_form_new, name="lead_form_new"),
    path("campaigns/<int:pk>/<slug:action>/", views.campaign_action, name="campaign_action"),
    # public: no login, rate limited
    path("t/o/<str:token>.gif", public.open_pixel, name="open"),
    path("t/c/<str:token>/", public.click, name="click"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("f/<str:key>/", public.public_form, name="public_form"),
]
