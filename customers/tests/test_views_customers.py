"""The customer pages, driven through Django's test client: who may see what, the list,
the search box, the 360 page and the redirects of merged ids."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from customers import services
from customers.merge import customer_merge
from customers.models import Customer
from customers.tests.pages import HTMX, client_for, html_of
from frontoffice import field_rendering

pytestmark = pytest.mark.django_db

FRONT_OFFICE_ROLES = [
    "sales_rep",
    "sales_manager",
    "agent",
    "supervisor",
    "marketer",
    "back_office",
    "admin_user",
]


def all_page_urls(customer: Customer) -> list[str]:
    pk = customer.pk
    return [
        reverse("customers:list"),
        reverse("customers:create"),
        reverse("customers:duplicates"),
        reverse("customers:detail", args=[pk]),
        reverse("customers:edit", args=[pk]),
        reverse("customers:timeline", args=[pk]),
        reverse("customers:merge", args=[pk]) + "?duplicate=1",
        reverse("search") + "?q=ada",
    ]


# --- access -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login_from_every_page(client: Client, ada: Customer) -> None:
    for url in [reverse("dashboard"), *all_page_urls(ada)]:
        # when
        response = client.get(url)

        # then
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_user_without_a_role_gets_403_on_every_customer_page(nobody: Any, ada: Customer) -> None:
    # given
    client = client_for(nobody)

    for url in all_page_urls(ada):
        # when
        response = client.get(url)

        # then
        assert response.status_code == 403, url
        assert "You may not do this" in html_of(response), url


def test_a_user_without_a_role_sees_a_dashboard_that_says_so(nobody: Any) -> None:
    # when
    response = client_for(nobody).get(reverse("dashboard"))

    # then
    assert response.status_code == 200
    assert "No role yet" in html_of(response)
    assert 'id="global-search-input"' not in html_of(response)


@pytest.mark.parametrize("role", FRONT_OFFICE_ROLES)
def test_every_role_that_reads_customers_sees_the_list_the_360_page_and_the_search_box(
    role: str, request: pytest.FixtureRequest, ada: Customer
) -> None:
    # given
    client = client_for(request.getfixturevalue(role))

    # when
    listing = client.get(reverse("customers:list"))
    detail = client.get(reverse("customers:detail", args=[ada.pk]))
    dashboard = client.get(reverse("dashboard"))

    # then
    assert listing.status_code == 200
    assert "Ada Lovelace" in html_of(listing)
    assert detail.status_code == 200
    assert "ada@example.com" in html_of(detail)
    assert dashboard.status_code == 200
    assert 'id="global-search-input"' in html_of(dashboard)
    assert 'name="q"' in html_of(dashboard)


def test_the_navigation_shows_duplicates_only_to_roles_that_may_merge(
    sales_rep: Any, supervisor: Any
) -> None:
    # when
    rep_page = html_of(client_for(sales_rep).get(reverse("dashboard")))
    supervisor_page = html_of(client_for(supervisor).get(reverse("dashboard")))

    # then
    assert reverse("customers:duplicates") not in rep_page
    assert reverse("customers:duplicates") in supervisor_page


def test_the_current_section_is_marked_in_the_navigation(supervisor: Any) -> None:
    # when
    html = html_of(client_for(supervisor).get(reverse("customers:duplicates")))

    # then
    current = re.findall(r'<a class="site-nav__link" href="([^"]+)" aria-current="page">', html)
    assert current == [reverse("customers:duplicates")]


def test_the_layout_has_landmarks_a_skip_link_a_logout_form_and_the_htmx_csrf_header(
    sales_rep: Any,
) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("dashboard")))

    # then
    assert 'href="#main"' in html
    assert "<header" in html
    assert '<nav class="site-nav" id="site-menu" aria-label="Main" data-menu-part>' in html
    assert '<main id="main"' in html
    assert re.search(r'<form method="post" action="/accounts/logout/">', html)
    assert "X-CSRFToken" in html
    assert "django_htmx/htmx-2" in html  # the vendored script, no CDN
    assert "https://" not in html


# --- list --------------------------------------------------------------------------------


def test_the_list_filters_by_email_prefix_stage_and_tag(sales_rep: Any, ada: Customer) -> None:
    # given
    services.customer_create(
        actor=sales_rep, kind="person", first_name="Bob", last_name="Builder", lifecycle_stage="customer"
    )
    client = client_for(sales_rep)

    # when
    by_email = html_of(client.get(reverse("customers:list"), {"q": "ada@"}))
    by_stage = html_of(client.get(reverse("customers:list"), {"lifecycle_stage": "customer"}))
    by_tag = html_of(client.get(reverse("customers:list"), {"tag": "vip"}))

    # then
    assert "Ada Lovelace" in by_email
    assert "Bob Builder" not in by_email
    assert "Bob Builder" in by_stage
    assert "Ada Lovelace" not in by_stage
    assert "Ada Lovelace" in by_tag
    assert "Bob Builder" not in by_tag


def test_the_list_sorts_by_a_column_and_marks_it_with_aria_sort(sales_rep: Any) -> None:
    # given
    for last in ("Zed", "Abel", "Moss"):
        services.customer_create(actor=sales_rep, kind="person", last_name=last)
    client = client_for(sales_rep)

    # when
    ascending = html_of(client.get(reverse("customers:list"), {"ordering": "display_name"}))
    descending = html_of(client.get(reverse("customers:list"), {"ordering": "-display_name"}))

    # then
    assert ascending.index("Abel") < ascending.index("Moss") < ascending.index("Zed")
    assert descending.index("Zed") < descending.index("Moss") < descending.index("Abel")
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a[^>]*ordering=-display_name', ascending)
    assert 'aria-sort="descending"' in descending


def test_an_unknown_sort_falls_back_to_newest_first(sales_rep: Any) -> None:
    # given
    services.customer_create(actor=sales_rep, kind="person", last_name="First")
    services.customer_create(actor=sales_rep, kind="person", last_name="Second")

    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:list"), {"ordering": "password"}))

    # then
    assert html.index("Second") < html.index("First")


def test_the_list_pages_through_many_customers(sales_rep: Any) -> None:
    # given
    for n in range(30):
        services.customer_create(actor=sales_rep, kind="person", last_name=f"Paged{n:02d}")
    client = client_for(sales_rep)

    # when
    first = html_of(client.get(reverse("customers:list"), {"ordering": "display_name"}))
    next_link = unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    second = html_of(client.get(reverse("customers:list") + next_link))
    previous_link = unescape(re.search(r'href="([^"]+)" rel="prev"', second).group(1))
    back = html_of(client.get(reverse("customers:list") + previous_link))

    # then
    assert "Paged00" in first
    assert "Paged29" not in first
    assert "Paged29" in second
    assert "Paged00" not in second
    assert "30 customers" in second
    assert 'rel="next"' not in second
    assert "Paged00" in back
    assert "Paged29" not in back


def test_an_htmx_filter_request_gets_only_the_results_fragment(sales_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(sales_rep).get(
        reverse("customers:list"), {"q": "Ada"}, HTTP_HX_TARGET="customer-results", **HTMX
    )

    # then
    html = html_of(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="customer-results"')
    assert "<html" not in html
    assert "Ada Lovelace" in html
    assert "HX-Request" in response["Vary"]


def test_the_filter_form_works_without_javascript_as_a_plain_get_form(sales_rep: Any) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:list")))

    # then
    assert re.search(r'<form class="filters card" method="get" action="/customers/"', html)
    assert 'hx-target="#customer-results"' in html
    assert 'hx-push-url="true"' in html
    for field_id in ("id_q", "id_kind", "id_lifecycle_stage", "id_tag", "id_owner"):
        assert f'for="{field_id}"' in html


# --- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Lovel", "ada@exa", "+44 20 7946 0000"])
def test_the_search_box_finds_customers_by_name_email_or_phone(query: str, agent: Any, ada: Customer) -> None:
    # when
    response = client_for(agent).get(reverse("search"), {"q": query}, **HTMX)

    # then
    html = html_of(response)
    assert response.status_code == 200
    assert reverse("customers:detail", args=[ada.pk]) in html
    assert "1 customer found" in html


def test_the_search_box_waits_for_two_characters(agent: Any, ada: Customer) -> None:
    # when
    html = html_of(client_for(agent).get(reverse("search"), {"q": "A"}, **HTMX))

    # then
    assert "Ada Lovelace" not in html
    assert "found" not in html


def test_the_search_box_is_wired_to_search_as_you_type(agent: Any) -> None:
    # when
    html = html_of(client_for(agent).get(reverse("dashboard")))

    # then
    assert '<label class="global-search__label" for="global-search-input">Search customers</label>' in html
    assert f'hx-get="{reverse("search")}"' in html
    assert 'hx-trigger="input changed delay:200ms, search"' in html
    assert 'aria-live="polite"' in html


# --- the 360 page ---------------------------------------------------------------------------


def test_the_360_page_shows_profile_contacts_consent_and_timeline(sales_rep: Any, ada: Customer) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    assert "Ada Lovelace" in html
    assert "VIP" in html
    assert "+442079460000" in html
    assert re.search(r"Newsletter</td>\s*<td><span class=\"badge badge--granted\">Granted", html)
    assert "Granted newsletter by E-mail" in html  # the consent's timeline entry


def test_the_360_pages_forms_from_kept_field_html_are_the_forms_rendered_afresh(
    sales_rep: Any, ada: Customer
) -> None:
    def forms_of(html: str) -> list[str]:
        # Each form, less what differs on every render: the CSRF and one-time tokens.
        found = re.findall(r"<form method=\"post\" action=\"/customers/.*?</form>", html, flags=re.S)
        return [re.sub(r'name="(csrfmiddlewaretoken|[\w-]*form_token)" value="[^"]*"', "", f) for f in found]

    client = client_for(sales_rep)
    url = reverse("customers:detail", args=[ada.pk])
    field_rendering.forget()
    afresh = forms_of(html_of(client.get(url)))
    kept = forms_of(html_of(client.get(url)))
    assert len(afresh) == 3  # log an activity, add a contact point, record consent
    assert kept == afresh
    assert 'name="contact-value"' in "".join(kept)


@pytest.mark.parametrize("missing", [10**9, 10**19, 10**30])
def test_the_360_page_of_no_customer_is_a_404(sales_rep: Any, ada: Customer, missing: int) -> None:
    response = client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk + missing]))
    assert response.status_code == 404


def test_the_owner_gets_an_edit_button_and_another_team_does_not(
    sales_rep: Any, other_rep: Any, ada: Customer
) -> None:
    # when
    mine = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))
    not_mine = html_of(client_for(other_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    assert 'id="edit-customer"' in mine
    assert 'id="edit-customer"' not in not_mine
    assert "Add a contact point" not in not_mine


def test_only_admins_see_the_audit_history_with_what_changed(
    admin_user: Any, sales_rep: Any, ada: Customer
) -> None:
    # given
    client_for(sales_rep).post(
        reverse("customers:edit", args=[ada.pk]),
        {"first_name": "Augusta", "last_name": "Lovelace", "lifecycle_stage": "customer", "version": 1},
    )

    # when
    admin_page = html_of(client_for(admin_user).get(reverse("customers:detail", args=[ada.pk])))
    rep_page = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    assert "Audit history" in admin_page
    assert re.search(r"<strong>Changed</strong> by Rita Rep", admin_page)
    assert re.search(r"First name</th>\s*<td>Ada</td>\s*<td>Augusta</td>", admin_page)
    assert "Audit history" not in rep_page


def test_merge_roles_get_a_possible_duplicates_panel_loaded_by_htmx(
    supervisor: Any, sales_rep: Any, ada: Customer
) -> None:
    # given
    twin = services.customer_create(
        actor=sales_rep,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        contact_points=[{"kind": "phone", "value": "020 7946 0000"}],
    )
    client = client_for(supervisor)

    # when
    page = html_of(client.get(reverse("customers:detail", args=[ada.pk])))
    fragment = client.get(
        reverse("customers:duplicates"), {"customer": ada.pk}, HTTP_HX_TARGET="possible-duplicates", **HTMX
    )

    # then
    assert 'id="possible-duplicates"' in page
    assert 'hx-trigger="load"' in page
    html = html_of(fragment)
    assert "<html" not in html
    assert f"{reverse('customers:merge', args=[ada.pk])}?duplicate={twin.pk}" in html
    assert "same phone +442079460000" in html
    assert 'id="possible-duplicates"' not in html_of(
        client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk]))
    )


def test_a_merged_id_answers_301_to_the_survivor(supervisor: Any, sales_rep: Any, ada: Customer) -> None:
    # given
    twin = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="L.")
    customer_merge(actor=supervisor, survivor_id=ada.pk, duplicate_id=twin.pk)
    client = client_for(sales_rep)

    # when
    detail = client.get(reverse("customers:detail", args=[twin.pk]))
    edit = client.get(reverse("customers:edit", args=[twin.pk]))
    timeline = client.get(reverse("customers:timeline", args=[twin.pk]))

    # then
    assert detail.status_code == 301
    assert detail["Location"] == reverse("customers:detail", args=[ada.pk])
    assert edit.status_code == 301
    assert edit["Location"] == reverse("customers:edit", args=[ada.pk])
    assert timeline.status_code == 301


def test_an_unknown_customer_is_a_404_page(sales_rep: Any) -> None:
    # when
    response = client_for(sales_rep).get(reverse("customers:detail", args=[987654]))

    # then
    assert response.status_code == 404
