"""The opportunity pages: the list (the API's filters, sorting, pages, a query budget),
creating one for a customer and editing it with its product lines (field errors, a
stale form, who may), and the links that lead there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from customers.models import Activity
from sales.models import Opportunity, OpportunityLine, OpportunityStatus
from sales.pipeline import services as opportunity_services
from sales.pipeline import services_pipelines as pipelines
from sales.tests import factories as f
from tests.fixtures import make_user

pytestmark = pytest.mark.django_db

LIST = "/sales/opportunities/"
NEW = "/sales/opportunities/new/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def names_in(response: Any) -> list[str]:
    """The opportunity names of the list's rows, in order."""
    page = html(response)
    found = [(page.find(f'data-opportunity="{o.pk}"'), o.name) for o in Opportunity.objects.all()]
    return [name for pos, name in sorted(found) if pos >= 0]


def edit_form(opp: Opportunity, **changes: Any) -> dict[str, Any]:
    """What the edit page posts back unchanged, with `changes` on top."""
    form = {
        "version": opp.version,
        "name": opp.name,
        "stage": opp.stage_id,
        "amount": str(opp.amount),
        "currency": opp.currency,
        "expected_close_date": opp.expected_close_date.isoformat() if opp.expected_close_date else "",
        "next_step": opp.next_step,
        "owner": opp.owner_id or "",
    }
    for i, line in enumerate(opp.lines.order_by("id")):
        form[f"line_{i}_sku"] = line.sku
        form[f"line_{i}_quantity"] = f"{line.quantity:f}".rstrip("0").rstrip(".")
        form[f"line_{i}_unit_price"] = str(line.unit_price)
    form.update(changes)
    return form


@pytest.fixture
def renewals(admin_user: Any) -> Any:
    return pipelines.pipeline_create(
        actor=admin_user,
        name="Renewals",
        stages=[{"name": "Due", "probability": 40}, {"name": "Renewed", "probability": 100, "kind": "won"}],
    )


# --- the list -------------------------------------------------------------------------------


def test_the_list_shows_opportunities_with_links_to_their_pages(sales_rep):
    # given
    opp = f.opportunity(sales_rep, name="Widgets for Acme", amount=Decimal("1200.00"))
    # when
    response = client_for(sales_rep).get(LIST)
    # then
    page = html(response)
    assert response.status_code == 200
    assert f'href="{reverse("sales:opportunity_detail", args=[opp.pk])}"' in page
    assert f'href="{reverse("customers:detail", args=[opp.customer_id])}"' in page
    assert "1200.00 EUR" in page
    assert "Prospecting" in page
    assert "1 opportunity" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "hopper"}, ["Hopper deal"]),  # the customer's name
        ({"q": "cloud"}, ["Cloud licences"]),  # the opportunity's name
        ({"status": "won"}, ["Won deal"]),
        ({"status": "open"}, ["Cloud licences", "Hopper deal", "Renewal"]),
        ({"close_month": "2026-04"}, ["Hopper deal"]),
        ({"amount_min": "500", "amount_max": "1500"}, ["Hopper deal"]),
        ({"amount_min": "2000"}, ["Cloud licences"]),
    ],
)
def test_the_list_filters_like_the_api(sales_rep, query, expected, renewals):
    # given
    acme, hopper = f.customer(sales_rep, "Acme Widgets"), f.customer(sales_rep, "Hopper Labs")
    f.opportunity(sales_rep, acme, name="Cloud licences", amount=Decimal("2500"))
    f.opportunity(
        sales_rep, hopper, name="Hopper deal", amount=Decimal("1000"), expected_close_date=dt.date(2026, 4, 2)
    )
    won = f.opportunity(sales_rep, acme, name="Won deal", amount=Decimal("100"))
    opportunity_services.opportunity_win(actor=sales_rep, opportunity_id=won.pk)
    f.opportunity(sales_rep, acme, name="Renewal", amount=Decimal("10"), pipeline=renewals.pk)
    # when
    response = client_for(sales_rep).get(LIST, {**query, "ordering": "name"})
    # then
    assert response.status_code == 200
    assert names_in(response) == expected


def test_the_list_filters_by_pipeline_stage_owner_and_customer(sales_rep, teammate, renewals):
    # given
    acme = f.customer(sales_rep, "Acme Widgets")
    f.opportunity(sales_rep, acme, name="Mine")
    theirs = f.opportunity(teammate, name="Theirs")
    renewal = f.opportunity(sales_rep, acme, name="Renewal", pipeline=renewals.pk)
    opportunity_services.opportunity_move(
        actor=sales_rep, opportunity_id=theirs.pk, stage=f.stage("Proposal").pk
    )
    client = client_for(sales_rep)
    # when / then
    assert names_in(client.get(LIST, {"pipeline": renewals.pk})) == ["Renewal"]
    assert names_in(client.get(LIST, {"stage": f.stage("Proposal").pk})) == ["Theirs"]
    assert names_in(client.get(LIST, {"owner": teammate.pk})) == ["Theirs"]
    assert names_in(client.get(LIST, {"customer": acme.pk, "ordering": "name"})) == ["Mine", "Renewal"]
    # the stage filter offers each pipeline's stages under the pipeline's name
    assert '<optgroup label="Renewals">' in html(client.get(LIST))
    assert renewal.stage.name == "Due"


def test_the_list_shows_what_it_did_not_understand_and_ignores_it(sales_rep):
    f.opportunity(sales_rep, name="Only deal")
    response = client_for(sales_rep).get(LIST, {"amount_min": "lots", "close_month": "13/2026"})
    assert response.status_code == 200
    assert "field--invalid" in html(response)
    assert names_in(response) == ["Only deal"]


def test_the_list_sorts_by_a_column_both_ways(sales_rep):
    # given
    for name, amount in (("Small", "10"), ("Large", "1000"), ("Medium", "100")):
        f.opportunity(sales_rep, name=name, amount=Decimal(amount))
    client = client_for(sales_rep)
    # when / then
    assert names_in(client.get(LIST, {"ordering": "amount"})) == ["Small", "Medium", "Large"]
    descending = client.get(LIST, {"ordering": "-amount"})
    assert names_in(descending) == ["Large", "Medium", "Small"]
    assert 'aria-sort="descending"' in html(descending)
    # an unknown column falls back to the default rather than failing
    assert client.get(LIST, {"ordering": "password"}).status_code == 200


def test_the_list_pages_by_25(sales_rep):
    # given
    customer = f.customer(sales_rep)
    for n in range(30):
        f.opportunity(sales_rep, customer, name=f"Deal {n:02d}")
    client = client_for(sales_rep)
    # when
    first = client.get(LIST, {"ordering": "name"})
    second = client.get(LIST, {"ordering": "name", "page": 2})
    # then
    assert len(names_in(first)) == 25
    assert names_in(second) == [f"Deal {n}" for n in range(25, 30)]
    assert "Page 1 of 2" in html(first)
    assert "ordering=name&amp;page=2" in html(first)


def test_htmx_filtering_returns_only_the_results(sales_rep):
    f.opportunity(sales_rep, name="Fragment deal")
    response = client_for(sales_rep).get(
        LIST, {"q": "fragment"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="opportunity-results"
    )
    assert response.status_code == 200
    assert "<html" not in html(response)
    assert 'id="opportunity-results"' in html(response)
    assert "Fragment deal" in html(response)


@pytest.mark.parametrize("count", [0, 300])
def test_the_list_runs_a_bounded_number_of_queries(
    sales_rep, teammate, renewals, count, django_assert_max_num_queries
):
    # given: `count` opportunities over two pipelines, two owners and many customers
    pipeline = f.default_pipeline()
    stages = list(pipeline.stages.filter(kind="open"))
    customers = [f.customer(sales_rep, f"Customer {n}") for n in range(5)]
    Opportunity.objects.bulk_create(
        Opportunity(
            customer=customers[n % 5],
            owner=(sales_rep, teammate)[n % 2],
            name=f"Deal {n}",
            amount=Decimal(n),
            currency="EUR",
            pipeline=pipeline,
            stage=stages[n % len(stages)],
            expected_close_date=dt.date(2026, 1 + n % 12, 1),
        )
        for n in range(count)
    )
    client = client_for(sales_rep)
    client.get("/")  # session and user warmed the same way for both sizes
    # when / then: session, user, perms x2, pipelines + stages, owners, count, page
    with django_assert_max_num_queries(10):
        response = client.get(LIST, {"status": "open", "ordering": "-amount", "amount_min": "0"})
    assert response.status_code == 200
    assert html(response).count("data-opportunity=") == min(count, 25)


@pytest.mark.parametrize("actor", ["back_office", "nobody", "marketer"])
def test_the_list_is_refused_without_the_right(request, actor):
    assert client_for(request.getfixturevalue(actor)).get(LIST).status_code == 403


def test_navigation_shows_opportunities_to_who_may_see_them(sales_rep, back_office):
    assert f'href="{LIST}"' in html(client_for(sales_rep).get("/"))
    assert f'href="{LIST}"' not in html(client_for(back_office).get("/"))
    page = html(client_for(sales_rep).get(LIST))
    assert f'<a class="site-nav__link" href="{LIST}" aria-current="page">Opportunities</a>' in page


# --- create -------------------------------------------------------------------------------


def test_new_without_a_customer_searches_for_one_first(sales_rep):
    # given
    hopper = f.customer(sales_rep, "Hopper Labs")
    f.customer(sales_rep, "Acme Widgets")
    client = client_for(sales_rep)
    # when
    page = html(client.get(NEW, {"q": "hopp"}))
    # then
    assert f'href="{NEW}?customer={hopper.pk}"' in page
    assert "Acme Widgets" not in page
    assert "does not exist" in html(client.get(NEW, {"customer": "999999"}))


def test_new_prefilled_with_a_customer_creates_an_opportunity_with_lines(sales_rep):
    # given
    f.product("W-1", "10.00")
    f.product("W-2", "4.00")
    customer = f.customer(sales_rep, "Hopper Labs")
    client = client_for(sales_rep)
    page = html(client.get(NEW, {"customer": customer.pk}))
    assert "Hopper Labs" in page
    assert f'name="customer" value="{customer.pk}"' in page
    assert '<option value="W-1">' in page  # the catalogue's SKUs are suggested
    # when
    response = client.post(
        NEW,
        {
            "customer": customer.pk,
            "name": "Widgets",
            "pipeline": f.default_pipeline().pk,
            "stage": f.stage("Qualification").pk,
            "currency": "EUR",
            "owner": sales_rep.pk,
            "expected_close_date": "2026-06-30",
            "line_0_sku": "W-1",
            "line_0_quantity": "3",
            "line_1_sku": "W-2",
            "line_1_quantity": "2",
            "line_1_unit_price": "3.50",
        },
    )
    # then
    opp = Opportunity.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:opportunity_detail", args=[opp.pk])
    assert (opp.customer, opp.stage.name, opp.owner, opp.amount) == (
        customer,
        "Qualification",
        sales_rep,
        Decimal("37.00"),  # 3 x 10.00 + 2 x 3.50
    )
    assert [(ln.sku, ln.unit_price) for ln in opp.lines.order_by("id")] == [
        ("W-1", Decimal("10.00")),
        ("W-2", Decimal("3.50")),
    ]
    assert Activity.objects.filter(customer=customer, kind="opportunity_created").exists()


def test_new_shows_field_errors_inline_and_writes_nothing(sales_rep):
    # given
    f.product("W-1", "10.00")
    customer = f.customer(sales_rep)
    # when
    response = client_for(sales_rep).post(
        NEW,
        {
            "customer": customer.pk,
            "name": "",
            "currency": "euro",
            "line_0_sku": "W-1",
            "line_0_quantity": "1",
            "line_1_sku": "NOPE",
            "line_1_quantity": "1",
        },
    )
    # then
    page = html(response)
    assert response.status_code == 400
    assert "error-summary" in page
    assert 'id="id_name_error"' in page or "field--name field--invalid" in page
    assert "field--currency field--invalid" in page
    assert Opportunity.objects.count() == 0


def test_an_unknown_sku_is_refused_on_its_row(sales_rep):
    f.product("W-1", "10.00")
    customer = f.customer(sales_rep)
    response = client_for(sales_rep).post(
        NEW,
        {
            "customer": customer.pk,
            "name": "Widgets",
            "currency": "EUR",
            "line_0_sku": "W-1",
            "line_0_quantity": "1",
            "line_2_sku": "NOPE",
            "line_2_quantity": "1",
        },
    )
    assert response.status_code == 400
    assert "field--line_2_sku field--invalid" in html(response)
    assert "No product with this SKU in the catalogue." in html(response)
    assert Opportunity.objects.count() == 0


def test_a_stage_of_another_pipeline_is_refused_on_the_stage_field(sales_rep, renewals):
    customer = f.customer(sales_rep)
    response = client_for(sales_rep).post(
        NEW,
        {
            "customer": customer.pk,
            "name": "Mixed up",
            "currency": "EUR",
            "pipeline": f.default_pipeline().pk,
            "stage": renewals.stages.get(name="Due").pk,
        },
    )
    page = html(response)
    assert response.status_code == 400
    assert "field--stage field--invalid" in page
    assert "This stage belongs to another pipeline." in page
    assert Opportunity.objects.count() == 0


def test_new_is_refused_without_the_right_to_add(agent, sales_rep):
    customer = f.customer(sales_rep)
    assert client_for(agent).get(NEW, {"customer": customer.pk}).status_code == 403
    assert client_for(agent).post(NEW, {"customer": customer.pk, "name": "x"}).status_code == 403


# --- edit ---------------------------------------------------------------------------------


def test_editing_changes_fields_lines_and_stage_in_one_version(sales_rep):
    # given
    f.product("W-1", "10.00")
    f.product("W-2", "4.00")
    opp = opportunity_services.opportunity_create(
        actor=sales_rep, customer=f.customer(sales_rep), name="Widgets", lines=[{"sku": "W-1", "quantity": 1}]
    )
    client = client_for(sales_rep)
    page = html(client.get(reverse("sales:opportunity_edit", args=[opp.pk])))
    assert 'name="line_0_sku"' in page
    assert 'value="W-1"' in page
    # when: rename, a second line, the amount left to follow the lines, a later stage
    form = edit_form(
        opp,
        name="More widgets",
        amount="",
        stage=f.stage("Proposal").pk,
        line_1_sku="W-2",
        line_1_quantity="5",
        line_1_unit_price="",
    )
    response = client.post(reverse("sales:opportunity_edit", args=[opp.pk]), form)
    # then
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.name, opp.stage.name, opp.amount, opp.version) == (
        "More widgets",
        "Proposal",
        Decimal("30.00"),
        2,
    )
    assert list(opp.lines.order_by("id").values_list("sku", "quantity")) == [
        ("W-1", Decimal("1.000")),
        ("W-2", Decimal("5.000")),
    ]
    assert Activity.objects.filter(kind="opportunity_stage", ref_id=str(opp.pk)).count() == 1


def test_clearing_a_sku_removes_its_line(sales_rep):
    f.product("W-1", "10.00")
    opp = opportunity_services.opportunity_create(
        actor=sales_rep, customer=f.customer(sales_rep), name="Widgets", lines=[{"sku": "W-1", "quantity": 1}]
    )
    form = edit_form(opp, line_0_sku="", amount="250")
    response = client_for(sales_rep).post(reverse("sales:opportunity_edit", args=[opp.pk]), form)
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.amount == Decimal("250.00")
    assert not OpportunityLine.objects.filter(opportunity=opp).exists()


def test_a_stale_edit_says_so_and_writes_nothing(sales_rep, teammate):
    # given: the teammate saves while the rep still has the form open
    opp = f.opportunity(sales_rep, name="Contested")
    stale = edit_form(opp, name="The rep's name")
    opportunity_services.opportunity_update(
        actor=teammate, opportunity_id=opp.pk, expected_version=1, next_step="Call on Monday"
    )
    # when
    response = client_for(sales_rep).post(reverse("sales:opportunity_edit", args=[opp.pk]), stale)
    # then
    assert response.status_code == 412
    assert "Someone else changed this opportunity while you were editing" in html(response)
    assert "Reload the latest version" in html(response)
    opp.refresh_from_db()
    assert (opp.name, opp.next_step, opp.version) == ("Contested", "Call on Monday", 2)


def test_editing_refuses_a_stage_of_another_pipeline_and_a_lost_stage(sales_rep, renewals):
    opp = f.opportunity(sales_rep)
    client = client_for(sales_rep)
    url = reverse("sales:opportunity_edit", args=[opp.pk])
    other = client.post(url, edit_form(opp, stage=renewals.stages.get(name="Due").pk))
    assert other.status_code == 400
    assert "This stage belongs to another pipeline." in html(other)
    lost = client.post(url, edit_form(opp, stage=f.stage("Lost").pk))
    assert lost.status_code == 400
    assert "Mark as lost" in html(lost)
    opp.refresh_from_db()
    assert (opp.stage.name, opp.status, opp.version) == ("Prospecting", OpportunityStatus.OPEN, 1)


def test_editing_can_win_an_opportunity(sales_rep):
    opp = f.opportunity(sales_rep)
    response = client_for(sales_rep).post(
        reverse("sales:opportunity_edit", args=[opp.pk]), edit_form(opp, stage=f.stage("Won").pk)
    )
    assert response.status_code == 302
    opp.refresh_from_db()
    assert (opp.status, opp.version) == (OpportunityStatus.WON, 2)


def test_reps_edit_their_own_and_their_teams_but_not_another_teams(sales_rep, teammate, other_rep):
    opp = f.opportunity(sales_rep, name="North deal")
    url = reverse("sales:opportunity_edit", args=[opp.pk])
    assert client_for(teammate).get(url).status_code == 200
    assert client_for(other_rep).get(url).status_code == 403
    assert client_for(other_rep).post(url, edit_form(opp, name="Taken")).status_code == 403
    opp.refresh_from_db()
    assert opp.name == "North deal"


def test_whoever_may_change_any_opportunity_edits_every_teams(sales_rep, other_rep, admin_user):
    # given: a rep of another team who holds the permission (as a sales manager's role grants it)
    other_rep.user_permissions.add(
        Permission.objects.get(codename="change_any_opportunity", content_type__app_label="sales")
    )
    opp = f.opportunity(sales_rep, name="North deal")
    url = reverse("sales:opportunity_edit", args=[opp.pk])
    # when
    response = client_for(other_rep).post(url, edit_form(opp, name="Managed deal"))
    # then
    assert response.status_code == 302
    opp.refresh_from_db()
    assert opp.name == "Managed deal"
    assert client_for(admin_user).get(url).status_code == 200


def test_a_user_without_the_change_right_cannot_edit(agent, sales_rep):
    opp = f.opportunity(sales_rep)
    assert client_for(agent).get(reverse("sales:opportunity_edit", args=[opp.pk])).status_code == 403


# --- links that lead there -----------------------------------------------------------------


def test_the_opportunity_page_links_to_edit_and_to_a_new_quote(sales_rep, other_rep):
    opp = f.opportunity(sales_rep)
    page = html(client_for(sales_rep).get(reverse("sales:opportunity_detail", args=[opp.pk])))
    assert f'href="{reverse("sales:opportunity_edit", args=[opp.pk])}"' in page
    assert f'href="{reverse("sales:quote_create")}?opportunity={opp.pk}"' in page
    # another team's rep may look, not edit nor quote
    theirs = html(client_for(other_rep).get(reverse("sales:opportunity_detail", args=[opp.pk])))
    assert "opportunity-edit" not in theirs
    assert "opportunity-new-quote" not in theirs


def test_the_new_quote_link_opens_the_quote_builder_for_the_opportunity(sales_rep):
    opp = f.opportunity(sales_rep, name="Quote me")
    response = client_for(sales_rep).get(f"{reverse('sales:quote_create')}?opportunity={opp.pk}")
    assert response.status_code == 200
    assert "Quote me" in html(response)


def test_the_360_panel_and_the_board_link_to_a_new_opportunity(sales_rep, agent):
    opp = f.opportunity(sales_rep)
    panel = reverse("customers:panel", args=[opp.customer_id, "open_opportunities"])
    assert f'href="{NEW}?customer={opp.customer_id}"' in html(client_for(sales_rep).get(panel))
    assert f'href="{NEW}?customer={opp.customer_id}"' not in html(client_for(agent).get(panel))
    assert f'href="{NEW}"' in html(client_for(sales_rep).get("/sales/board/"))


def test_make_user_with_no_role_sees_no_create_link(db):
    viewer = make_user("viewer")
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_opportunity", content_type__app_label="sales")
    )
    page = html(client_for(viewer).get(LIST))
    assert 'id="new-opportunity"' not in page
