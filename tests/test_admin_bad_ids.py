"""Admin URLs with an id that cannot be one (text, "²", a version that is not a number)
are a 404 or the admin's own "no such object" redirect, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client

from customers import services as customer_services
from frontoffice.actors import MAINTENANCE
from tests.fixtures import make_user

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "%C2%B2", "1.5", "99999999999999999999999"]


@pytest.fixture
def superuser_client(db: Any) -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("bad", BAD_IDS)
def test_every_admin_history_page_answers_a_bad_id_without_a_server_error(
    superuser_client: Client, bad: str
) -> None:
    # given: every model the admin shows
    urls = [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/{bad}/history/"
        for model in admin.site._registry
    ]
    # when
    answers = {url: superuser_client.get(url).status_code for url in urls}
    # then
    assert urls
    assert {url: code for url, code in answers.items() if code >= 500} == {}


def test_the_customer_history_is_a_404_for_an_id_that_cannot_be_one(superuser_client: Client) -> None:
    customer = customer_services.customer_create(
        actor=MAINTENANCE, kind="organisation", organisation_name="Acme"
    )
    # then
    assert superuser_client.get("/admin/customers/customer/abc/history/").status_code == 404
    assert superuser_client.get("/admin/customers/customer/%C2%B2/history/").status_code == 404
    assert superuser_client.get(f"/admin/customers/customer/{customer.pk}/history/abc/").status_code == 404
    assert superuser_client.get(f"/admin/customers/customer/{customer.pk}/history/").status_code == 200
