"""Pages of the service loop, mounted under service/ (service/urls.py)."""

from __future__ import annotations

from django.urls import path

from service.loop import views

urlpatterns = [
    path("follow-ups/", views.follow_up_list, name="follow_ups"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow_up_done"),
]

from service.loop import views_problems  # noqa: E402

urlpatterns += [
    path("problems/", views_problems.problem_queue, name="problem_queue"),
    path("problems/team/<slug:team>/", views_problems.problem_queue, name="problem_team_queue"),
    path("problems/<int:pk>/", views_problems.problem_detail, name="problem_detail"),
    path("cases/<int:pk>/systemic/", views_problems.case_systemic, name="case_systemic"),
    path(
        "cases/<int:pk>/systemic/link/<int:problem_pk>/",
        views_problems.case_link_suggestion,
        name="case_link_problem",
    ),
    path("voice-of-the-customer/", views_problems.voice_of_customer, name="voice_of_customer"),
]

from service.loop import views_public  # noqa: E402

urlpatterns += [path("csat/<str:token>/", views_public.csat_page, name="csat_page")]
