from __future__ import annotations

from django.urls import path

from backoffice_sync import views

app_name = "backoffice_sync"

urlpatterns = [
    path("", views.monitor, name="monitor"),
    path("availability/", views.availability, name="availability"),
    path("outbox/<int:message_id>/replay/", views.replay, name="replay"),
    path("outbox/<int:message_id>/skip/", views.skip, name="skip"),
]
