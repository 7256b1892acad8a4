from __future__ import annotations

from django.urls import path

from sales.forecast import views as forecast_views
from sales.leads import views as lead_views
from sales.orders import views as order_views
from sales.pipeline import views as pipeline_views
from sales.quotes import views as quote_views

app_name = "sales"

urlpatterns = [
    path("board/", pipeline_views.board, name="board"),
    path("opportunities/", pipeline_views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", pipeline_views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", pipeline_views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", pipeline_views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", pipeline_views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/lose/", pipeline_views.opportunity_lose, name="opportunity_lose"),
    path("leads/", lead_views.lead_list, name="lead_list"),
    path("leads/new/", lead_views.lead_create, name="lead_create"),
    path("leads/import/", lead_views.lead_import_page, name="lead_import"),
    path("leads/import/template.csv", lead_views.lead_import_template, name="lead_import_template"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/qualify/", lead_views.lead_qualify, name="lead_qualify"),
    path("leads/<int:pk>/disqualify/", lead_views.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("forecast/", forecast_views.forecast_page, name="forecast"),
    path("quotes/", quote_views.quote_list, name="quote_list"),
    path("quotes/new/", quote_views.quote_create, name="quote_create"),
    path("quotes/<int:pk>/", quote_views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/send/", quote_views.quote_send, name="quote_send"),
    path("quotes/<int:pk>/print/", quote_views.quote_print, name="quote_print"),
    path("quotes/<int:pk>/pdf/", quote_views.quote_pdf_download, name="quote_pdf"),
    path("quotes/<int:pk>/accept/", order_views.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/add-line/", quote_views.quote_add_line, name="quote_add_line"),
    path("orders/", order_views.order_list, name="order_list"),
    path("orders/<int:pk>/", order_views.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel/", order_views.order_cancel, name="order_cancel"),
    path("quotes/<int:pk>/<slug:action>/", quote_views.quote_action, name="quote_action"),
]
