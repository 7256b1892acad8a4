from __future__ import annotations

from django.urls import path

from service import views, views_console
from service.loop.urls import urlpatterns as loop_urlpatterns

app_name = "service"

urlpatterns = [
    path("console/", views_console.console, name="console"),
    path("console/lookup/", views_console.console_lookup_results, name="console_lookup"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/mine/", views.my_cases, name="my_cases"),
    path("cases/new/", views.case_open, name="case_open"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/status/", views.case_transition, name="case_transition"),
    path("cases/<int:pk>/notes/", views.case_note, name="case_note"),
    path("cases/<int:pk>/take/", views.case_take, name="case_take"),
    path("cases/<int:pk>/goodwill/", views.goodwill_grant, name="goodwill_grant"),
    path("goodwill/", views.goodwill_list, name="goodwill_list"),
    path(
        "goodwill/<int:pk>/approve/", views.goodwill_decide, {"decision": "approve"}, name="goodwill_approve"
    ),
    path("goodwill/<int:pk>/refuse/", views.goodwill_decide, {"decision": "refuse"}, name="goodwill_refuse"),
    path("queues/", views.queue_list, name="queue_list"),
    path("queues/<int:pk>/", views.queue_detail, name="queue_detail"),
    path("metrics/", views.metrics, name="metrics"),
    *loop_urlpatterns,
]
