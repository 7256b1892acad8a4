"""Pipelines and price lists are versioned like leads, opportunities and quotes: reads
return an ETag, PUT/PATCH need If-Match (428 without it, 412 when stale, nothing written,
stages and items included), the services check and move the version on, and the Django
admin, where admins also edit them, does the same."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from frontoffice.actors import MAINTENANCE
from frontoffice.admin_bases import STALE_MESSAGE
from frontoffice.api import etag_for
from frontoffice.errors import StaleVersion
from sales.models import DiscountLimit, Pipeline, PriceList, PriceListItem, Stage
from sales.pipeline import services_pipelines as pipelines
from sales.pricing import services as pricing
from sales.tests import factories as f
from sales.tests.config_contract import ConfiguredByAdmins
from sales.tests.quote_setup import a_catalogue, a_price_list
from tests.api_contract import (
    CreateContract,
    ListContract,
    RetrieveContract,
    VersionedUpdateContract,
    assert_problem,
    send_json,
    snapshot,
)

pytestmark = pytest.mark.django_db

PIPELINES = "/api/v1/sales/pipelines/"
PRICE_LISTS = "/api/v1/sales/price-lists/"
_serial = itertools.count(1)
TWO_STAGES = [{"name": "Due", "probability": 40}, {"name": "Renewed", "probability": 100, "kind": "won"}]


def a_pipeline(name: str = "") -> Pipeline:
    return pipelines.pipeline_create(
        actor=MAINTENANCE, name=name or f"Renewals {next(_serial)}", stages=[dict(s) for s in TWO_STAGES]
    )


def stages_of(pipeline: Pipeline) -> list[tuple[str, int, str]]:
    return list(pipeline.stages.order_by("order").values_list("name", "probability", "kind"))


def items_of(price_list: PriceList) -> dict[str, Decimal]:
    return dict(price_list.items.values_list("product_id", "unit_price"))


@pytest.fixture
def catalogue() -> PriceList:
    return a_catalogue()


# --- the generic contract ----------------------------------------------------------------


class TestPipelineApiContract(ConfiguredByAdmins, RetrieveContract, CreateContract, VersionedUpdateContract):
    list_url = PIPELINES
    watched_models = (Pipeline, Stage)
    # token + 2 permission lookups + the pipeline + its stages
    detail_query_budget = 6

    @pytest.fixture
    def make_row(self) -> Callable[[], Pipeline]:
        return a_pipeline

    def create_payload(self) -> dict[str, Any]:
        return {"name": "Upsell", "stages": TWO_STAGES}

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"name": "", "stages": [{"name": "A", "probability": 101}]}, ["name", "stages.0.probability"]

    # The stages are replaced: a refused update must leave them exactly as they were.
    def update_payload(self, row: Pipeline) -> dict[str, Any]:
        return {"name": f"{row.name} (new)", "stages": [{"name": "Open", "probability": 25}, *TWO_STAGES[1:]]}

    # The service checks the values and names every wrong one at once.
    def bad_update_payload(self, row: Pipeline) -> tuple[dict[str, Any], list[str]]:
        return {"name": " ", "stages": [{"name": "A", "probability": 101}]}, [
            "name",
            "stages.0.probability",
        ]


class TestPriceListApiContract(
    ConfiguredByAdmins, ListContract, RetrieveContract, CreateContract, VersionedUpdateContract
):
    list_url = PRICE_LISTS
    watched_models = (PriceList, PriceListItem)
    # token + 2 permission lookups + the page + its items
    list_query_budget = 6
    detail_query_budget = 6

    @pytest.fixture(autouse=True)
    def _products(self, catalogue: PriceList) -> None:
        pass

    @pytest.fixture
    def make_row(self) -> Callable[[], PriceList]:
        # Inactive: any number of them may share a currency and tier.
        return lambda: pricing.price_list_create(
            actor=MAINTENANCE,
            name=f"Old list {next(_serial)}",
            currency="EUR",
            active=False,
            items=[{"sku": "SKU-1", "unit_price": "9.00"}, {"sku": "SKU-2", "unit_price": "2.00"}],
        )

    def create_payload(self) -> dict[str, Any]:
        return {"name": "USD", "currency": "USD", "items": [{"sku": "SKU-1", "unit_price": "11.00"}]}

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"name": "", "currency": "usd"}, ["name", "currency"]

    # The items are replaced: a refused update must leave them exactly as they were.
    def update_payload(self, row: PriceList) -> dict[str, Any]:
        return {"name": f"{row.name} (new)", "items": [{"sku": "SKU-2", "unit_price": "3.10"}]}

    def bad_update_payload(self, row: PriceList) -> tuple[dict[str, Any], list[str]]:
        return {"tier": "platinum", "items": [{"sku": "SKU-1", "unit_price": "-1"}]}, [
            "tier",
            "items.0.unit_price",
        ]


# --- pipelines ------------------------------------------------------------------------------


def test_a_pipeline_update_with_the_etag_changes_the_stages_and_moves_the_version_on(
    api_as, admin_user
) -> None:
    # given
    pipeline = a_pipeline()
    client = api_as(admin_user)
    read = client.get(f"{PIPELINES}{pipeline.pk}/")
    assert (read["ETag"], read.json()["version"]) == ('"1"', 1)
    due, renewed = read.json()["stages"]
    # when
    response = send_json(
        client,
        "put",
        f"{PIPELINES}{pipeline.pk}/",
        {"name": "Renewals 2027", "stages": [{**due, "probability": 55}, renewed]},
        HTTP_IF_MATCH=read["ETag"],
    )
    # then
    assert response.status_code == 200, response.json()
    assert (response["ETag"], response.json()["version"]) == ('"2"', 2)
    pipeline.refresh_from_db()
    assert (pipeline.name, pipeline.version) == ("Renewals 2027", 2)
    assert stages_of(pipeline) == [("Due", 55, "open"), ("Renewed", 100, "won")]


def test_a_pipeline_update_with_an_old_etag_is_412_and_keeps_the_other_admins_stages(
    api_as, admin_user
) -> None:
    # given: two admins read version 1; the first one changes the stages
    pipeline = a_pipeline()
    first, second = api_as(admin_user), api_as(admin_user)
    etag = second.get(f"{PIPELINES}{pipeline.pk}/")["ETag"]
    body = {"stages": [{"name": "Due", "probability": 70}, TWO_STAGES[1]]}
    assert (
        send_json(first, "patch", f"{PIPELINES}{pipeline.pk}/", body, HTTP_IF_MATCH=etag).status_code == 200
    )
    before = snapshot(Pipeline, Stage)
    # when: the second one saves what they read
    response = send_json(
        second,
        "patch",
        f"{PIPELINES}{pipeline.pk}/",
        {"stages": [{"name": "Only", "probability": 5}]},
        HTTP_IF_MATCH=etag,
    )
    # then
    body = assert_problem(response, 412)
    assert "version 2" in body["detail"]
    assert snapshot(Pipeline, Stage) == before
    assert stages_of(pipeline) == [("Due", 70, "open"), ("Renewed", 100, "won")]


def test_a_pipeline_update_without_if_match_is_428_and_a_409_moves_nothing(
    api_as, admin_user, sales_rep
) -> None:
    # given: an opportunity sits in the first stage
    pipeline = a_pipeline()
    f.opportunity(sales_rep, pipeline=pipeline.pk)
    client = api_as(admin_user)
    before = snapshot(Pipeline, Stage)
    # when / then: no If-Match
    response = send_json(client, "patch", f"{PIPELINES}{pipeline.pk}/", {"name": "X"})
    assert_problem(response, 428)
    # when / then: removing the occupied stage is a conflict, and the version stays
    response = send_json(
        client,
        "patch",
        f"{PIPELINES}{pipeline.pk}/",
        {"name": "X", "stages": [{"name": "Other", "probability": 5}]},
        HTTP_IF_MATCH='"1"',
    )
    assert_problem(response, 409, "stages")
    assert snapshot(Pipeline, Stage) == before
    assert client.get(f"{PIPELINES}{pipeline.pk}/")["ETag"] == '"1"'


def test_making_a_pipeline_default_moves_the_old_defaults_version_on(api_as, admin_user) -> None:
    # given: a client read the default pipeline
    client = api_as(admin_user)
    old_default = f.default_pipeline()
    etag = client.get(f"{PIPELINES}{old_default.pk}/")["ETag"]
    pipeline = a_pipeline()
    # when: another pipeline becomes the default
    response = send_json(
        client, "patch", f"{PIPELINES}{pipeline.pk}/", {"is_default": True}, HTTP_IF_MATCH='"1"'
    )
    # then: the old default changed, so its old ETag is stale
    assert response.status_code == 200, response.json()
    old_default.refresh_from_db()
    assert (old_default.is_default, etag_for(old_default.version)) == (
        False,
        client.get(f"{PIPELINES}{old_default.pk}/")["ETag"],
    )
    assert old_default.version == int(etag.strip('"')) + 1
    stale = send_json(
        client, "patch", f"{PIPELINES}{old_default.pk}/", {"is_default": True}, HTTP_IF_MATCH=etag
    )
    assert_problem(stale, 412)


def test_the_pipeline_service_checks_the_version_before_anything_else(admin_user) -> None:
    # given
    pipeline = a_pipeline()
    before = snapshot(Pipeline, Stage)
    # when / then: even a change that is also invalid is refused as stale first
    with pytest.raises(StaleVersion) as stale:
        pipelines.pipeline_update(
            actor=admin_user, pipeline_id=pipeline.pk, expected_version=7, name="", stages=[]
        )
    assert stale.value.current == 1
    assert snapshot(Pipeline, Stage) == before
    # and each accepted change moves the version on by one; None (internal callers) skips the check
    pipelines.pipeline_update(actor=admin_user, pipeline_id=pipeline.pk, expected_version=1, active=False)
    pipelines.pipeline_update(actor=MAINTENANCE, pipeline_id=pipeline.pk, expected_version=None, active=True)
    pipeline.refresh_from_db()
    assert (pipeline.version, pipeline.active) == (3, True)


# --- price lists ----------------------------------------------------------------------------


def test_a_price_list_update_with_the_etag_replaces_the_items_and_moves_the_version_on(
    api_as, admin_user, catalogue
) -> None:
    # given
    client = api_as(admin_user)
    read = client.get(f"{PRICE_LISTS}{catalogue.pk}/")
    assert (read["ETag"], read.json()["version"]) == ('"1"', 1)
    # when
    response = send_json(
        client,
        "patch",
        f"{PRICE_LISTS}{catalogue.pk}/",
        {"items": [{"sku": "SKU-1", "unit_price": "12.00"}]},
        HTTP_IF_MATCH=read["ETag"],
    )
    # then
    assert response.status_code == 200, response.json()
    assert (response["ETag"], response.json()["version"]) == ('"2"', 2)
    assert response.json()["items"] == [{"sku": "SKU-1", "unit_price": "12.00"}]
    assert items_of(catalogue) == {"SKU-1": Decimal("12.00")}


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_price_list_update_with_an_old_etag_is_412_and_keeps_the_items(
    api_as, admin_user, catalogue, method
) -> None:
    # given: the list moved on since the client read it
    client = api_as(admin_user)
    etag = client.get(f"{PRICE_LISTS}{catalogue.pk}/")["ETag"]
    pricing.price_list_update(
        actor=admin_user,
        price_list_id=catalogue.pk,
        expected_version=1,
        items=[{"sku": "SKU-2", "unit_price": 3}],
    )
    before = snapshot(PriceList, PriceListItem)
    # when
    body = {"name": "EUR", "currency": "EUR", "items": [{"sku": "SKU-1", "unit_price": "1.00"}]}
    response = send_json(client, method, f"{PRICE_LISTS}{catalogue.pk}/", body, HTTP_IF_MATCH=etag)
    # then
    assert_problem(response, 412)
    assert snapshot(PriceList, PriceListItem) == before
    assert items_of(catalogue) == {"SKU-2": Decimal("3.00")}
    assert_problem(send_json(client, method, f"{PRICE_LISTS}{catalogue.pk}/", body), 428)
    assert snapshot(PriceList, PriceListItem) == before


def test_the_price_list_service_checks_the_version_before_the_items(admin_user, catalogue) -> None:
    before = snapshot(PriceList, PriceListItem)
    with pytest.raises(StaleVersion):
        pricing.price_list_update(
            actor=admin_user, price_list_id=catalogue.pk, expected_version=2, items=[{"sku": "NOPE"}]
        )
    assert snapshot(PriceList, PriceListItem) == before


def test_a_refused_price_list_change_leaves_the_version(api_as, admin_user, catalogue) -> None:
    # given: another active EUR standard list cannot exist
    other = a_price_list({"SKU-1": "8.00"}, currency="EUR", tier="gold")
    client = api_as(admin_user)
    # when
    response = send_json(
        client, "patch", f"{PRICE_LISTS}{other.pk}/", {"tier": "standard"}, HTTP_IF_MATCH='"1"'
    )
    # then
    assert_problem(response, 409, "active")
    other.refresh_from_db()
    assert (other.tier, other.version) == ("gold", 1)


# --- the admin ------------------------------------------------------------------------------


def admin_browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def inline_rows(prefix: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    """An admin inline's posted rows (all of them existing ones) and its management form."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(len(rows)),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data |= {f"{prefix}-{n}-{name}": str(value) for name, value in row.items()}
    return data


def pipeline_form(pipeline: Pipeline, *, version: int, **changes: Any) -> dict[str, Any]:
    """The admin change form of `pipeline` as a browser posts it, stages included."""
    stages = pipeline.stages.order_by("order").values(
        "id", "pipeline", "order", "name", "probability", "kind"
    )
    form = {"name": pipeline.name, "active": "on", "version": str(version)}
    return form | inline_rows("stages", list(stages)) | changes


def test_an_admin_edit_of_a_pipeline_moves_the_version_on_so_an_api_etag_goes_stale(
    admin_user, api_as
) -> None:
    # given: an API client read version 1
    pipeline = a_pipeline()
    etag = api_as(admin_user).get(f"{PIPELINES}{pipeline.pk}/")["ETag"]
    browser = admin_browser(admin_user)
    page = browser.get(f"/admin/sales/pipeline/{pipeline.pk}/change/")
    assert 'name="version" value="1"' in page.content.decode()
    # when: an admin changes a stage's probability in the admin
    response = browser.post(
        f"/admin/sales/pipeline/{pipeline.pk}/change/",
        pipeline_form(pipeline, version=1, **{"stages-0-probability": "65"}),
    )
    # then
    assert response.status_code == 302, response.content.decode()[:3000]
    pipeline.refresh_from_db()
    assert pipeline.version == 2
    assert stages_of(pipeline)[0] == ("Due", 65, "open")
    stale = send_json(
        api_as(admin_user), "patch", f"{PIPELINES}{pipeline.pk}/", {"active": False}, HTTP_IF_MATCH=etag
    )
    assert_problem(stale, 412)


def test_an_admin_edit_over_someone_elses_change_is_refused_and_saves_nothing(admin_user) -> None:
    # given: the admin opened the page at version 1; an API client then changed it
    pipeline = a_pipeline()
    pipelines.pipeline_update(actor=MAINTENANCE, pipeline_id=pipeline.pk, expected_version=1, name="Renamed")
    before = snapshot(Pipeline, Stage)
    # when
    response = admin_browser(admin_user).post(
        f"/admin/sales/pipeline/{pipeline.pk}/change/",
        pipeline_form(pipeline, version=1, name="Mine", **{"stages-0-probability": "1"}),
    )
    # then: the form comes back with the reason, and nothing was saved
    assert response.status_code == 200
    assert "Someone changed this since you opened it" in response.content.decode()
    assert snapshot(Pipeline, Stage) == before


def test_admin_edits_of_price_lists_and_discount_limits_check_and_move_the_version(
    admin_user, catalogue
) -> None:
    browser = admin_browser(admin_user)
    items = catalogue.items.order_by("product_id").values("id", "price_list", "product")
    form = {"name": "EUR standard", "currency": "EUR", "tier": "standard", "active": "on"}
    form |= inline_rows("items", [{**item, "unit_price": "7.00"} for item in items])
    url = f"/admin/sales/pricelist/{catalogue.pk}/change/"
    # a stale version: refused, nothing saved
    before = snapshot(PriceList, PriceListItem)
    refused = browser.post(url, {**form, "version": "5"})
    assert refused.status_code == 200
    assert STALE_MESSAGE.split(":")[0] in refused.content.decode()
    assert snapshot(PriceList, PriceListItem) == before
    # the current version: saved, version 2
    assert browser.post(url, {**form, "version": "1"}).status_code == 302
    catalogue.refresh_from_db()
    assert catalogue.version == 2
    assert set(items_of(catalogue).values()) == {Decimal("7.00")}
    # a discount limit added in the admin starts at version 1 and moves on when changed
    added = browser.post(
        "/admin/sales/discountlimit/add/", {"role": "Sales", "max_discount_percent": "5", "version": "9"}
    )
    assert added.status_code == 302
    limit = DiscountLimit.objects.get(role="Sales")
    assert limit.version == 1
    changed = browser.post(
        f"/admin/sales/discountlimit/{limit.pk}/change/",
        {"role": "Sales", "max_discount_percent": "8", "version": "1"},
    )
    assert changed.status_code == 302
    limit.refresh_from_db()
    assert (limit.max_discount_percent, limit.version) == (Decimal("8.00"), 2)
