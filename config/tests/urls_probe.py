"""A URLconf for the request-id tests: a page that starts a Celery task."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path

from frontoffice.request_context import current_request_id
from frontoffice.tasks import echo_request_id


@login_not_required
def start_task(request: HttpRequest) -> JsonResponse:
    result = echo_request_id.delay("from-a-request")
    return JsonResponse(
        {"task": result.get(timeout=5), "request_id_after_task": current_request_id()},
    )


urlpatterns = [path("probe/start-task", start_task)]
