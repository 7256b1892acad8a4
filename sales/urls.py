from __future__ import annotations

from django.urls import path

from sales import views, views_forecast, views_lead_import, views_orders, views_quotes

app_name = "sales"

urlpatterns = [
    path("board/", views.board, name="board"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/lose/", views.opportunity_lose, name="opportunity_lose"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_create, name="lead_create"),
    path("leads/import/", views_lead_import.lead_import_page, name="lead_import"),
    path("leads/import/template.csv", views_lead_import.lead_import_template, name="lead_import_template"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/qualify/", views.lead_qualify, name="lead_qualify"),
    path("leads/<int:pk>/disqualify/", views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("forecast/", views_forecast.forecast_page, name="forecast"),
    path("quotes/", views_quotes.quote_list, name="quote_list"),
    path("quotes/new/", views_quotes.quote_create, name="quote_create"),
    path("quotes/<int:pk>/", views_quotes.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/send/", views_quotes.quote_send, name="quote_send"),
    path("quotes/<int:pk>/print/", views_quotes.quote_print, name="quote_print"),
    path("quotes/<int:pk>/pdf/", views_quotes.quote_pdf_download, name="quote_pdf"),
    path("quotes/<int:pk>/accept/", views_orders.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/add-line/", views_quotes.quote_add_line, name="quote_add_line"),
    path("orders/", views_orders.order_list, name="order_list"),
    path("orders/<int:pk>/", views_orders.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel/", views_orders.order_cancel, name="order_cancel"),
    path("quotes/<int:pk>/<slug:action>/", views_quotes.quote_action, name="quote_action"),
]
