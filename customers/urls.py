from __future__ import annotations

from django.urls import path

from customers import views, views_import
from customers.outbound.urls import urlpatterns as outbound_urlpatterns

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("import/", views_import.import_page, name="import"),
    path("import/template.csv", views_import.import_template, name="import-template"),
    path("import/<int:pk>/", views_import.import_job, name="import-job"),
    path("import/<int:pk>/confirm/", views_import.import_confirm, name="import-confirm"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/timeline/", views.timeline_more, name="timeline"),
    path("<int:pk>/panels/<slug:key>/", views.customer_panel, name="panel"),
    path("<int:pk>/activities/new/", views.activity_create, name="activity-create"),
    path("<int:pk>/contact-points/new/", views.contact_point_create, name="contact-point-create"),
    path("<int:pk>/consents/new/", views.consent_create, name="consent-create"),
    path("<int:pk>/merge/", views.merge, name="merge"),
    *outbound_urlpatterns,
]
