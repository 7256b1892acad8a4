"""Pages of the outbound room, mounted under the profile's URLs (customers/urls.py)."""

from __future__ import annotations

from django.urls import path

from customers.outbound import views

urlpatterns = [
    path("messages/", views.message_list, name="outbound-messages"),
    path("messages/<int:pk>/", views.message_detail, name="outbound-message"),
    path("messages/templates/", views.template_list, name="outbound-templates"),
    path("messages/templates/new/", views.template_edit, name="outbound-template-new"),
    path("messages/templates/preview/", views.template_preview, name="outbound-template-preview"),
    path("messages/templates/<int:pk>/", views.template_edit, name="outbound-template"),
]
