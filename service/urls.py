from __future__ import annotations

from django.urls import path

from service import views
from service.loop.urls import urlpatterns as loop_urlpatterns

app_name = "service"

urlpatterns = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_open, name="case_open"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    *loop_urlpatterns,
]
