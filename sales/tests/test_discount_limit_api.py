"""/api/v1/sales/discount-limits/: everyone who works on quotes reads the limits, admins
set them (If-Match on updates), one per role of the project, 0-100 % with two decimals;
and a changed limit changes which quote lines need a manager's approval."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from frontoffice.actors import MAINTENANCE
from frontoffice.errors import StaleVersion
from frontoffice.roles import Role
from sales.models import DiscountLimit, PriceList, QuoteStatus
from sales.pricing import selectors as pricing_selectors
from sales.pricing import services as pricing
from sales.tests.config_contract import ConfiguredByAdmins
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity
from tests.api_contract import (
    CreateContract,
    DeleteContract,
    ListContract,
    RetrieveContract,
    VersionedUpdateContract,
    assert_problem,
    send_json,
    snapshot,
)

pytestmark = pytest.mark.django_db

LIMITS = "/api/v1/sales/discount-limits/"
QUOTES = "/api/v1/sales/quotes/"


def a_limit(role: str = Role.SALES, percent: str = "5") -> DiscountLimit:
    return pricing.discount_limit_create(actor=MAINTENANCE, role=role, max_discount_percent=Decimal(percent))


def rows() -> list[tuple[str, Decimal, int]]:
    return list(DiscountLimit.objects.values_list("role", "max_discount_percent", "version"))


def next_role_limit() -> DiscountLimit:
    """A limit for the next role that has none (there are as many rows as roles, at most)."""
    taken = set(DiscountLimit.objects.values_list("role", flat=True))
    return a_limit(next(r for r in Role.ALL if r not in taken), "10")


# --- the generic contract ----------------------------------------------------------------


class TestDiscountLimitApiContract(
    ConfiguredByAdmins,
    ListContract,
    RetrieveContract,
    CreateContract,
    VersionedUpdateContract,
    DeleteContract,
):
    list_url = LIMITS
    watched_models = (DiscountLimit,)
    writer_may_delete = True  # the writer is an admin
    max_rows = len(Role.ALL)  # one limit per role
    # token + 2 permission lookups + the page
    list_query_budget = 5
    detail_query_budget = 5

    @pytest.fixture
    def deleter(self, writer: APIClient) -> APIClient:
        return writer

    @pytest.fixture
    def make_row(self) -> Callable[[], DiscountLimit]:
        return next_role_limit

    def create_payload(self) -> dict[str, Any]:
        return {"role": Role.SALES, "max_discount_percent": "7.50"}

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"role": "Intern", "max_discount_percent": "100.01"}, ["role", "max_discount_percent"]

    def update_payload(self, row: DiscountLimit) -> dict[str, Any]:
        return {"max_discount_percent": "12.25"}

    def bad_update_payload(self, row: DiscountLimit) -> tuple[dict[str, Any], list[str]]:
        return {"role": "Nobody", "max_discount_percent": "-1"}, ["role", "max_discount_percent"]


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sales_rep", "sales_manager", "admin_user"])
def test_everyone_who_works_on_quotes_reads_the_limits(api_as, request, who) -> None:
    # given
    limit = a_limit(Role.SALES_MANAGER, "20")
    client = api_as(request.getfixturevalue(who))
    # when
    listed = client.get(LIMITS)
    read = client.get(f"{LIMITS}{limit.pk}/")
    # then
    assert listed.status_code == 200
    assert listed.json()["results"] == [
        {
            "id": limit.pk,
            "role": "Sales manager",
            "max_discount_percent": "20.00",
            "version": 1,
            "created_at": read.json()["created_at"],
            "updated_at": read.json()["updated_at"],
        }
    ]
    assert (read.status_code, read["ETag"]) == (200, '"1"')


@pytest.mark.parametrize("who", ["back_office", "agent", "marketer", "nobody"])
def test_roles_that_do_not_quote_do_not_see_the_limits(api_as, request, who) -> None:
    limit = a_limit()
    client = api_as(request.getfixturevalue(who))
    assert_problem(client.get(LIMITS), 403)
    assert_problem(client.get(f"{LIMITS}{limit.pk}/"), 403)


@pytest.mark.parametrize("who", ["sales_rep", "sales_manager"])
def test_only_admins_set_limits_a_manager_cannot_raise_their_own(api_as, request, who) -> None:
    # given
    limit = a_limit(Role.SALES_MANAGER, "20")
    client = api_as(request.getfixturevalue(who))
    before = snapshot(DiscountLimit)
    url = f"{LIMITS}{limit.pk}/"
    # when / then
    assert_problem(send_json(client, "post", LIMITS, {"role": "Sales", "max_discount_percent": "50"}), 403)
    for method in ("put", "patch"):
        body = {"role": "Sales manager", "max_discount_percent": "100"}
        assert_problem(send_json(client, method, url, body, HTTP_IF_MATCH='"1"'), 403)
    assert_problem(client.delete(url, HTTP_IF_MATCH='"1"'), 403)
    assert snapshot(DiscountLimit) == before


def test_without_credentials_every_method_is_401(api) -> None:
    limit = a_limit()
    url = f"{LIMITS}{limit.pk}/"
    before = snapshot(DiscountLimit)
    assert_problem(api.get(LIMITS), 401)
    assert_problem(send_json(api, "post", LIMITS, {"role": "Admin", "max_discount_percent": "1"}), 401)
    assert_problem(send_json(api, "put", url, {"role": "Sales", "max_discount_percent": "1"}), 401)
    assert_problem(api.delete(url), 401)
    assert snapshot(DiscountLimit) == before


@pytest.mark.parametrize(
    ("who", "version", "refusal"), [("sales_manager", 1, PermissionDenied), ("admin_user", 2, StaleVersion)]
)
def test_the_services_refuse_without_the_grant_or_with_a_stale_version(
    request, who, version, refusal
) -> None:
    # given
    limit = a_limit()
    actor = request.getfixturevalue(who)
    # when / then
    with pytest.raises(refusal):
        pricing.discount_limit_update(
            actor=actor, discount_limit_id=limit.pk, expected_version=version, max_discount_percent=50
        )
    with pytest.raises(refusal):
        pricing.discount_limit_delete(actor=actor, discount_limit_id=limit.pk, expected_version=version)
    if refusal is PermissionDenied:
        with pytest.raises(refusal):
            pricing.discount_limit_create(actor=actor, role=Role.ADMIN, max_discount_percent=1)
    assert rows() == [("Sales", Decimal("5.00"), 1)]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"role": "Sales", "max_discount_percent": "-0.01"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": -5}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": "100.01"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": 1000}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": "10.005"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": "ten"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": "NaN"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": "Infinity"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": True}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": None}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": [5]}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": {"value": 5}}, ["max_discount_percent"]),
        ({"role": "Intern", "max_discount_percent": "5"}, ["role"]),
        ({"role": "sales", "max_discount_percent": "5"}, ["role"]),
        ({"role": "", "max_discount_percent": "5"}, ["role"]),
        ({"role": 3, "max_discount_percent": "5"}, ["role"]),
        ({"role": ["Sales"], "max_discount_percent": "5"}, ["role"]),
        ({"role": None, "max_discount_percent": "5"}, ["role"]),
        ({"role": "Sales\x00", "max_discount_percent": "5"}, ["role"]),
        ({"max_discount_percent": "5"}, ["role"]),
        ({"role": "Sales"}, ["max_discount_percent"]),
        ({"role": "Sales", "max_discount_percent": "5", "applies_to": "EUR"}, ["applies_to"]),
        ({"role": "Sales", "max_discount_percent": "5", "version": 3}, ["version"]),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api_as, admin_user, body, fields) -> None:
    # given
    before = snapshot(DiscountLimit)
    # when
    response = send_json(api_as(admin_user), "post", LIMITS, body)
    # then
    assert_problem(response, 400, *fields)
    assert snapshot(DiscountLimit) == before


def test_an_unknown_role_is_answered_with_the_roles_there_are(api_as, admin_user) -> None:
    body = assert_problem(
        send_json(api_as(admin_user), "post", LIMITS, {"role": "Intern", "max_discount_percent": "5"}),
        400,
        "role",
    )
    assert body["errors"]["role"] == [f'Unknown role "Intern"; the roles are: {", ".join(Role.ALL)}.']


def test_the_service_validates_on_its_own_too(admin_user) -> None:
    # given: a caller that skips the API's serializer
    limit = a_limit()
    # when / then
    with pytest.raises(ValidationError) as refused:
        pricing.discount_limit_create(actor=admin_user, role="Intern", max_discount_percent="1.005")
    assert set(refused.value.message_dict) == {"role", "max_discount_percent"}
    with pytest.raises(ValidationError) as refused:
        pricing.discount_limit_update(
            actor=admin_user,
            discount_limit_id=limit.pk,
            expected_version=1,
            max_discount_percent=True,
        )
    assert set(refused.value.message_dict) == {"max_discount_percent"}
    assert rows() == [("Sales", Decimal("5.00"), 1)]


def test_a_second_limit_for_a_role_is_a_409_on_role(api_as, admin_user) -> None:
    # given
    sales = a_limit(Role.SALES, "5")
    manager = a_limit(Role.SALES_MANAGER, "20")
    client = api_as(admin_user)
    before = snapshot(DiscountLimit)
    # when / then: creating one
    body = assert_problem(
        send_json(client, "post", LIMITS, {"role": "Sales", "max_discount_percent": "9"}), 409, "role"
    )
    assert body["errors"]["role"] == [f"Sales already has a discount limit (#{sales.pk}): change that one."]
    # when / then: moving another one onto the role
    response = send_json(client, "patch", f"{LIMITS}{manager.pk}/", {"role": "Sales"}, HTTP_IF_MATCH='"1"')
    assert_problem(response, 409, "role")
    assert snapshot(DiscountLimit) == before


# --- the happy path -------------------------------------------------------------------------


def test_an_admin_sets_changes_and_removes_a_limit(api_as, admin_user, sales_rep) -> None:
    client = api_as(admin_user)
    # create
    created = send_json(client, "post", LIMITS, {"role": "Sales", "max_discount_percent": "7.5"})
    assert created.status_code == 201, created.json()
    assert (created["ETag"], created.json()["max_discount_percent"]) == ('"1"', "7.50")
    url = created["Location"]
    assert url.endswith(f"{LIMITS}{created.json()['id']}/")
    assert pricing_selectors.discount_limit_for(sales_rep) == Decimal("7.50")
    # change with the ETag: a new ETag
    changed = send_json(
        client, "put", url, {"role": "Sales", "max_discount_percent": "12"}, HTTP_IF_MATCH='"1"'
    )
    assert changed.status_code == 200, changed.json()
    assert (changed["ETag"], changed.json()["version"]) == ('"2"', 2)
    assert client.get(url)["ETag"] == '"2"'
    assert pricing_selectors.discount_limit_for(sales_rep) == Decimal("12.00")
    # a stale ETag and a missing one: refused
    assert_problem(send_json(client, "patch", url, {"max_discount_percent": "99"}, HTTP_IF_MATCH='"1"'), 412)
    assert_problem(send_json(client, "patch", url, {"max_discount_percent": "99"}), 428)
    assert_problem(client.delete(url, HTTP_IF_MATCH='"1"'), 412)
    assert pricing_selectors.discount_limit_for(sales_rep) == Decimal("12.00")
    # remove: the role gives no discount without approval any more
    assert client.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert not DiscountLimit.objects.exists()
    assert pricing_selectors.discount_limit_for(sales_rep) == Decimal("0")


def test_the_limits_may_be_0_and_100_exactly(api_as, admin_user) -> None:
    client = api_as(admin_user)
    for role, percent in ((Role.SALES, "0"), (Role.ADMIN, "100")):
        response = send_json(client, "post", LIMITS, {"role": role, "max_discount_percent": percent})
        assert response.status_code == 201, response.json()
    assert dict(DiscountLimit.objects.values_list("role", "max_discount_percent")) == {
        "Sales": Decimal("0.00"),
        "Admin": Decimal("100.00"),
    }


# --- what a limit does ----------------------------------------------------------------------


@pytest.fixture
def catalogue() -> PriceList:
    return a_catalogue()


def _lines(quote_body: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(line["discount_percent"], line["needs_approval"]) for line in quote_body["lines"]]


def test_a_changed_limit_changes_which_quote_lines_need_approval(
    api_as, admin_user, sales_rep, catalogue
) -> None:
    # given: reps may give 5 %; a rep quotes 4 % and 10 %
    admin, rep = api_as(admin_user), api_as(sales_rep)
    limit = send_json(admin, "post", LIMITS, {"role": "Sales", "max_discount_percent": "5"}).json()
    lines = [
        {"sku": "SKU-1", "quantity": 1, "discount_percent": "4"},
        {"sku": "SKU-2", "quantity": 1, "discount_percent": "10"},
    ]
    quote = a_quote(sales_rep, an_opportunity(sales_rep), lines)
    read = rep.get(f"{QUOTES}{quote.pk}/")
    assert _lines(read.json()) == [("4.00", False), ("10.00", True)]
    # when: an admin raises the reps' limit to 12.5 %, and the rep sets the lines again
    raised = send_json(
        admin, "patch", f"{LIMITS}{limit['id']}/", {"max_discount_percent": "12.5"}, HTTP_IF_MATCH='"1"'
    )
    assert raised.status_code == 200, raised.json()
    updated = send_json(rep, "patch", f"{QUOTES}{quote.pk}/", {"lines": lines}, HTTP_IF_MATCH=read["ETag"])
    # then: nothing needs approval any more, and the quote can be sent as it is
    assert updated.status_code == 200, updated.json()
    assert updated.json()["discount_limit_percent"] == "12.50"
    assert _lines(updated.json()) == [("4.00", False), ("10.00", False)]
    # when: the admin lowers it to 3 %, and the rep quotes the same lines anew
    lowered = send_json(
        admin, "patch", f"{LIMITS}{limit['id']}/", {"max_discount_percent": "3"}, HTTP_IF_MATCH=raised["ETag"]
    )
    assert lowered.status_code == 200, lowered.json()
    again = a_quote(sales_rep, an_opportunity(sales_rep), lines)
    # then: both lines need approval, and sending is refused until a manager approves
    assert _lines(rep.get(f"{QUOTES}{again.pk}/").json()) == [("4.00", True), ("10.00", True)]
    response = send_json(rep, "post", f"{QUOTES}{again.pk}/send/", {}, HTTP_IF_MATCH='"1"')
    assert_problem(response, 409)
    again.refresh_from_db()
    assert again.status == QuoteStatus.DRAFT


def test_a_limit_change_leaves_quotes_already_priced_as_they_were(admin_user, sales_rep, catalogue) -> None:
    # given: a quote priced under a 5 % limit
    limit = a_limit(Role.SALES, "5")
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1, "discount_percent": 10}]
    )
    # when
    pricing.discount_limit_update(
        actor=admin_user, discount_limit_id=limit.pk, expected_version=1, max_discount_percent=Decimal("50")
    )
    # then: its approval need is the one it was priced with, until its lines are set again
    quote.refresh_from_db()
    assert quote.discount_limit_percent == Decimal("5.00")
    assert quote.lines.get().discount_percent > quote.discount_limit_percent
