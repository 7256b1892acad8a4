"""Every sort key an API list offers (`ordering=`) works with its keyset pagination:
the cursor carries each ordering value and refuses a nullable column (a NULL has no
place in a row comparison), so a nullable key offered would answer 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models
from rest_framework.settings import api_settings

from frontoffice import plugin
from frontoffice.api import CursorPagination


def _ordered_lists() -> list[tuple[str, Any, str]]:
    found = []
    for route in plugin.api_routes():
        viewset: Any = route.viewset
        pagination = getattr(viewset, "pagination_class", api_settings.DEFAULT_PAGINATION_CLASS)
        if not (isinstance(pagination, type) and issubclass(pagination, CursorPagination)):
            continue
        queryset = getattr(viewset, "queryset", None)
        model = getattr(queryset, "model", None) or getattr(
            getattr(viewset, "serializer_class", None), "Meta", None
        )
        model = getattr(model, "model", model)
        for term in getattr(viewset, "ordering_fields", ()) or ():
            found.append((route.prefix, model, term))
    return found


def test_some_api_lists_offer_sort_keys() -> None:
    assert any(prefix == "service/cases" for prefix, _, _ in _ordered_lists())


@pytest.mark.parametrize(("prefix", "model", "term"), _ordered_lists(), ids=lambda v: str(v))
def test_every_sort_key_offered_is_a_non_null_column(prefix: str, model: Any, term: str) -> None:
    assert isinstance(model, type), f"{prefix}: no model found"
    assert issubclass(model, models.Model), f"{prefix}: no model found"
    field = model._meta.get_field(term)
    assert isinstance(field, models.Field), f"{prefix}: ordering={term} is not a column"
    assert not field.null, f"{prefix}: ordering={term} is nullable, which the cursor cannot page"


@pytest.mark.django_db
def test_ordering_cases_by_a_nullable_due_time_is_a_400_not_a_500(admin_user: Any) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin_user)
    response = client.get("/api/v1/service/cases/", {"ordering": "resolution_due_at"})
    assert response.status_code == 400
    assert "ordering" in response.json().get("errors", response.json())
