"""The customer pages, driven through Django's test client: who may see what, forms
with their errors, HTMX fragments, the merge flow and the redirects of merged ids."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers import selectors, services
from customers.choices import FieldType
from customers.consent import consent_record
from customers.merge import customer_merge
from customers.models import Activity, ConsentEvent, Customer, CustomFieldDefinition
from customers.timeline import activity_log
from frontoffice import plugin
from frontoffice.plugin import Panel


def only_panels(monkeypatch: pytest.MonkeyPatch, *panels: Panel) -> None:
    """The 360 view shows these panels and no app's own."""
    monkeypatch.setattr(plugin, "panels", lambda: list(panels))
    monkeypatch.setattr(plugin, "panel", lambda key: next((p for p in panels if p.key == key), None))


pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
FRONT_OFFICE_ROLES = [
    "sales_rep",
    "sales_manager",
    "agent",
    "supervisor",
    "marketer",
    "back_office",
    "admin_user",
]


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html_of(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def ada(sales_rep: Any) -> Customer:
    """A person owned by the sales rep, with an e-mail, a phone and a consent."""
    customer = services.customer_create(
        actor=sales_rep,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        tags=["VIP"],
        contact_points=[
            {"kind": "email", "value": "ada@example.com"},
            {"kind": "phone", "value": "020 7946 0000"},
        ],
    )
    consent_record(
        actor=sales_rep,
        customer_id=customer.pk,
        channel="email",
        purpose="newsletter",
        granted=True,
        source="Web form",
    )
    return customer


@pytest.fixture
def theirs(other_rep: Any) -> Customer:
    """A customer owned by a rep of another team."""
    return services.customer_create(actor=other_rep, kind="organisation", organisation_name="Theirs Ltd")


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
    assert '<nav class="site-nav" aria-label="Main">' in html
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
    second = html_of(client.get(reverse("customers:list"), {"ordering": "display_name", "page": 2}))

    # then
    assert "Paged00" in first
    assert "Paged29" not in first
    assert "Paged29" in second
    assert "Paged00" not in second
    assert "page 2 of 2" in second
    assert 'rel="prev"' in second


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


def test_registry_panels_render_with_the_generic_template(
    sales_rep: Any, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    only_panels(
        monkeypatch,
        Panel(
            key="open_cases",
            title="Open cases",
            loader=lambda **_: [{"number": "C-1", "sla_breached": True}, "a plain line"],
        ),
        Panel(key="balance", title="Balance", loader=lambda **_: {"open_amount": "12.50 EUR"}),
    )

    client = client_for(sales_rep)

    # when
    page = html_of(client.get(reverse("customers:detail", args=[ada.pk])))
    html = "".join(
        html_of(client.get(reverse("customers:panel", args=[ada.pk, key]), headers={"HX-Request": "true"}))
        for key in ("open_cases", "balance")
    )

    # then: the page holds each panel's card, which loads its body on its own
    assert 'id="panel-open_cases-title"' in page
    assert f'hx-get="{reverse("customers:panel", args=[ada.pk, "open_cases"])}"' in page
    assert "<html" not in html
    assert re.search(r"<dt>Number</dt><dd>C-1</dd>", html)
    assert re.search(r"<dt>Sla breached</dt><dd>Yes</dd>", html)
    assert "a plain line" in html
    assert re.search(r"<dt>Open amount</dt><dd>12.50 EUR</dd>", html)


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


# --- timeline ------------------------------------------------------------------------------


@pytest.fixture
def chatty(sales_rep: Any, ada: Customer) -> Customer:
    """Ada with 60 more timeline entries (61 with the consent)."""
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            customer=ada,
            kind="note",
            subject=f"Entry {n:02d}",
            source_app="customers",
            occurred_at=now - dt.timedelta(hours=n + 1),
        )
        for n in range(60)
    )
    return ada


def test_the_360_page_shows_50_entries_and_a_load_more_button(sales_rep: Any, chatty: Customer) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[chatty.pk])))

    # then
    assert html.count('class="timeline__item"') == 50
    assert 'id="timeline-load-more"' in html
    assert f'hx-get="{reverse("customers:timeline", args=[chatty.pk])}"' in html
    assert 'hx-swap="outerHTML"' in html


def test_load_more_appends_the_next_entries_and_stops_at_the_end(sales_rep: Any, chatty: Customer) -> None:
    # given
    client = client_for(sales_rep)
    page = html_of(client.get(reverse("customers:detail", args=[chatty.pk])))
    cursor = re.search(r'name="cursor" value="([^"]+)"', page).group(1)

    # when
    response = client.get(reverse("customers:timeline", args=[chatty.pk]), {"cursor": cursor}, **HTMX)

    # then
    html = html_of(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert html.count("timeline__item") == 11
    assert "Entry 59" in html
    assert "Entry 48" not in html
    assert 'id="timeline-load-more"' not in html
    assert 'id="timeline-status" hx-swap-oob="innerHTML"' in html


def test_load_more_without_javascript_is_a_full_page(sales_rep: Any, chatty: Customer) -> None:
    # given
    _, cursor = selectors.timeline_page(customer=chatty)

    # when
    response = client_for(sales_rep).get(reverse("customers:timeline", args=[chatty.pk]), {"cursor": cursor})

    # then
    html = html_of(response)
    assert "<html" in html
    assert "Timeline of Ada Lovelace" in html
    assert "Entry 59" in html


# --- forms on the 360 page -----------------------------------------------------------------


def test_logging_a_call_adds_it_to_the_timeline(agent: Any, ada: Customer) -> None:
    # when
    response = client_for(agent).post(
        reverse("customers:activity-create", args=[ada.pk]),
        {"activity-kind": "call", "activity-subject": "Rang about renewal", "activity-body": "Call back"},
    )

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customers:detail", args=[ada.pk]))
    activity = Activity.objects.get(customer=ada, kind="call")
    assert (activity.subject, activity.actor) == ("Rang about renewal", agent)


def test_a_note_without_subject_is_shown_with_its_error_and_nothing_is_logged(
    agent: Any, ada: Customer
) -> None:
    # given
    before = Activity.objects.count()

    # when
    response = client_for(agent).post(
        reverse("customers:activity-create", args=[ada.pk]), {"activity-kind": "note", "activity-subject": ""}
    )

    # then
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="activity-errors"' in html
    assert re.search(
        r'id="id_activity-subject"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_activity-subject"',
        html,
    )
    assert Activity.objects.count() == before


def test_adding_an_invalid_email_shows_the_service_error_next_to_the_field(
    sales_rep: Any, ada: Customer
) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:contact-point-create", args=[ada.pk]),
        {"contact-kind": "email", "contact-label": "home", "contact-value": "not-an-email"},
    )

    # then
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="id_contact-value_error"' in html
    assert ada.contact_points.count() == 2


def test_adding_a_phone_normalises_it(sales_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:contact-point-create", args=[ada.pk]),
        {"contact-kind": "phone", "contact-label": "mobile", "contact-value": "07911 123456"},
    )

    # then
    assert response.status_code == 302
    assert ada.contact_points.filter(kind="phone", value="+447911123456").exists()


def test_another_team_cannot_add_contact_points(other_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(other_rep).post(
        reverse("customers:contact-point-create", args=[ada.pk]),
        {"contact-kind": "phone", "contact-label": "mobile", "contact-value": "07911 123456"},
    )

    # then
    assert response.status_code == 403
    assert ada.contact_points.count() == 2


def test_recording_a_withdrawal_changes_the_current_consent(marketer: Any, ada: Customer) -> None:
    # when
    response = client_for(marketer).post(
        reverse("customers:consent-create", args=[ada.pk]),
        {
            "consent-channel": "email",
            "consent-purpose": "newsletter",
            "consent-granted": "no",
            "consent-source": "Phone call",
        },
    )

    # then
    assert response.status_code == 302
    (current,) = selectors.consent_state(customer=ada)
    assert (current.granted, current.source, current.actor) == (False, "Phone call", marketer)
    assert ConsentEvent.objects.filter(customer=ada).count() == 2


def test_back_office_reads_but_cannot_log_or_record(back_office: Any, ada: Customer) -> None:
    # given
    client = client_for(back_office)

    # when
    page = html_of(client.get(reverse("customers:detail", args=[ada.pk])))
    post = client.post(
        reverse("customers:activity-create", args=[ada.pk]),
        {"activity-kind": "note", "activity-subject": "Hi"},
    )

    # then
    assert "Log a note or call" not in page
    assert "Record consent" not in page
    assert post.status_code == 403


# --- create --------------------------------------------------------------------------------


def test_create_with_errors_shows_them_inline_and_in_a_summary_then_a_valid_post_creates(
    sales_rep: Any,
) -> None:
    # given
    client = client_for(sales_rep)
    form = {
        "kind": "person",
        "first_name": "",
        "last_name": "",
        "email": "bad@",
        "lifecycle_stage": "prospect",
        "owner": sales_rep.pk,  # preselected by the form
    }

    # when
    failed = client.post(reverse("customers:create"), form)

    # then
    html = html_of(failed)
    assert failed.status_code == 400
    assert 'id="error-summary"' in html
    assert '<a href="#id_last_name">Last name: A person needs a first or last name.</a>' in html
    assert re.search(
        r'<input[^>]*aria-invalid="true"[^>]*id="id_last_name"|<input[^>]*id="id_last_name"[^>]*aria-invalid="true"',
        html,
    )
    assert 'aria-describedby="id_last_name_error"' in html
    assert 'id="id_email_error"' in html  # the e-mail is reported in the same round trip
    assert not Customer.objects.exists()

    # when
    form.update(last_name="Hopper", first_name="Grace", email="Grace@Example.COM", phone="020 7946 0001")
    created = client.post(reverse("customers:create"), form)

    # then
    customer = Customer.objects.get()
    assert created.status_code == 302
    assert created["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.display_name == "Grace Hopper"
    assert customer.owner == sales_rep
    assert set(customer.contact_points.values_list("value", flat=True)) == {
        "grace@example.com",
        "+442079460001",
    }


def test_a_primary_email_held_by_another_customer_is_reported_on_the_email_field(
    sales_rep: Any, ada: Customer
) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:create"),
        {"kind": "person", "last_name": "Copy", "email": "ADA@example.com", "lifecycle_stage": "prospect"},
    )

    # then
    html = html_of(response)
    assert response.status_code == 400
    assert re.search(rf'id="id_email_error"><li>Customer {ada.pk} already has this primary e-mail', html)
    assert Customer.objects.count() == 1


def test_custom_attributes_get_fields_and_their_errors(sales_rep: Any) -> None:
    # given
    CustomFieldDefinition.objects.create(
        key="employees",
        label="Employees",
        field_type=FieldType.NUMBER,
        required=True,
        applies_to="organisation",
    )
    CustomFieldDefinition.objects.create(
        key="industry", label="Industry", field_type=FieldType.CHOICE, choices=["Retail", "Energy"]
    )
    client = client_for(sales_rep)
    form = {"kind": "organisation", "organisation_name": "Acme", "lifecycle_stage": "prospect"}

    # when
    failed = client.post(reverse("customers:create"), {**form, "attr_industry": "Retail"})

    # then
    html = html_of(failed)
    assert failed.status_code == 400
    assert 'for="id_attr_employees"' in html
    assert re.search(r'id="id_attr_employees_error"><li>This custom attribute is required', html)
    assert not Customer.objects.exists()

    # when
    created = client.post(
        reverse("customers:create"), {**form, "attr_industry": "Retail", "attr_employees": "40"}
    )

    # then
    assert created.status_code == 302
    assert Customer.objects.get().attributes == {"employees": 40, "industry": "Retail"}


def test_roles_without_add_permission_cannot_create(back_office: Any) -> None:
    # when
    response = client_for(back_office).post(
        reverse("customers:create"), {"kind": "person", "last_name": "X", "lifecycle_stage": "prospect"}
    )

    # then
    assert response.status_code == 403
    assert not Customer.objects.exists()


# --- edit ---------------------------------------------------------------------------------------


def edit_form(customer: Customer, **changes: Any) -> dict[str, Any]:
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "lifecycle_stage": customer.lifecycle_stage,
        "owner": customer.owner_id or "",
        "tags": "VIP",
        "version": customer.version,
        **changes,
    }


def test_the_edit_form_carries_the_version_and_saves_a_change(sales_rep: Any, ada: Customer) -> None:
    # given
    client = client_for(sales_rep)
    page = html_of(client.get(reverse("customers:edit", args=[ada.pk])))

    # when
    response = client.post(
        reverse("customers:edit", args=[ada.pk]), edit_form(ada, last_name="King", tags="VIP, Maths")
    )

    # then
    assert f'name="version" value="{ada.version}"' in page
    assert 'for="id_first_name"' in page
    assert 'id="id_organisation_name"' not in page
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.display_name, ada.version) == ("Ada King", 2)
    assert sorted(ada.tags.values_list("name", flat=True)) == ["Maths", "VIP"]


def test_editing_a_stale_version_says_someone_else_changed_it_and_writes_nothing(
    sales_rep: Any, teammate: Any, ada: Customer
) -> None:
    # given
    stale = edit_form(ada, last_name="Mine")
    services.customer_update(actor=teammate, customer_id=ada.pk, expected_version=1, last_name="Theirs")

    # when
    response = client_for(sales_rep).post(reverse("customers:edit", args=[ada.pk]), stale)

    # then
    html = html_of(response)
    assert response.status_code == 412
    assert "Someone else changed this customer" in html
    assert "Reload the latest version" in html
    ada.refresh_from_db()
    assert (ada.last_name, ada.version) == ("Theirs", 2)


def test_an_invalid_edit_shows_the_error_and_writes_nothing(sales_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:edit", args=[ada.pk]), edit_form(ada, first_name="", last_name="")
    )

    # then
    assert response.status_code == 400
    assert "A person needs a first or last name." in html_of(response)
    ada.refresh_from_db()
    assert (ada.display_name, ada.version) == ("Ada Lovelace", 1)


def test_a_sales_rep_cannot_edit_another_teams_customer(sales_rep: Any, theirs: Customer) -> None:
    # when
    page = client_for(sales_rep).get(reverse("customers:edit", args=[theirs.pk]))
    post = client_for(sales_rep).post(
        reverse("customers:edit", args=[theirs.pk]),
        {"organisation_name": "Mine now", "lifecycle_stage": "prospect", "version": 1},
    )

    # then
    assert page.status_code == 403
    assert post.status_code == 403
    theirs.refresh_from_db()
    assert theirs.display_name == "Theirs Ltd"


# --- merge -----------------------------------------------------------------------------------


def test_the_merge_flow_from_candidates_to_preview_to_confirmation(
    supervisor: Any, sales_rep: Any, ada: Customer
) -> None:
    # given
    twin = services.customer_create(
        actor=sales_rep,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        tags=["Maths"],
        contact_points=[
            {"kind": "phone", "value": "020 7946 0000"},
            {"kind": "email", "value": "ada@home.org"},
        ],
    )
    activity_log(actor=sales_rep, customer_id=twin.pk, kind="note", subject="On the twin")
    client = client_for(supervisor)

    # when: the candidates list offers the pair
    candidates = html_of(client.get(reverse("customers:duplicates")))
    merge_url = f"{reverse('customers:merge', args=[ada.pk])}?duplicate={twin.pk}"

    # then
    assert merge_url in candidates
    assert "Review merge" in candidates

    # when: the preview says what moves
    preview = html_of(client.get(merge_url))

    # then
    assert "ada@home.org" in preview  # moved
    assert re.search(r"Contact points dropped.*\+442079460000", preview, re.S)  # already kept
    assert "Maths" in preview  # tag added
    assert 'id="merge-confirm"' in preview
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None  # nothing changed yet

    # when: confirmed
    done = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": twin.pk})

    # then
    assert done.status_code == 302
    assert done["Location"] == reverse("customers:detail", args=[ada.pk])
    survivor_page = html_of(client.get(done["Location"]))
    assert "Merged customer" in survivor_page
    assert "On the twin" in survivor_page
    assert client.get(reverse("customers:detail", args=[twin.pk]))["Location"] == done["Location"]


def test_merging_a_customer_into_itself_or_across_kinds_is_refused(
    supervisor: Any, ada: Customer, theirs: Customer
) -> None:
    # given
    client = client_for(supervisor)

    # when
    itself = client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": ada.pk})
    across = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": theirs.pk})
    garbled = client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": "abc"})
    unknown = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": 987654})
    unchosen = client.get(reverse("customers:merge", args=[ada.pk]))

    # then
    assert itself.status_code == 400
    assert "cannot be merged into itself" in html_of(itself)
    assert across.status_code == 400
    assert "A person and an organisation cannot be merged." in html_of(across)
    assert garbled.status_code == 400
    assert 'id="merge-duplicate"' in html_of(garbled)
    assert unknown.status_code == 400
    assert "No such customer." in html_of(unknown)
    assert unchosen.status_code == 200
    assert 'id="merge-duplicate"' in html_of(unchosen)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_roles_without_merge_permission_get_403_on_the_merge_pages(
    sales_rep: Any, agent: Any, ada: Customer, theirs: Customer
) -> None:
    for user in (sales_rep, agent):
        client = client_for(user)
        # when
        preview = client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": theirs.pk})
        confirm = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": theirs.pk})
        candidates = client.get(reverse("customers:duplicates"))
        # then
        assert (preview.status_code, confirm.status_code, candidates.status_code) == (403, 403, 403)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


# --- dashboard ----------------------------------------------------------------------------------


def test_the_dashboard_counts_customers_and_lists_my_recent_activity(agent: Any, ada: Customer) -> None:
    # given
    activity_log(actor=agent, customer_id=ada.pk, kind="call", subject="Checked the order")

    # when
    html = html_of(client_for(agent).get(reverse("dashboard")))

    # then
    assert re.search(r'<span class="stat__value">1</span>\s*<span class="stat__label">live customers', html)
    assert "Checked the order" in html
    assert reverse("customers:detail", args=[ada.pk]) in html


def test_a_panel_is_a_page_of_its_own_without_javascript_and_guards_its_permission(
    sales_rep: Any, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    only_panels(
        monkeypatch,
        Panel(key="notes", title="Notes", loader=lambda **_: {"count": 3}),
        Panel(key="secret", title="Secret", loader=lambda **_: {}, permission="customers.fly"),
    )
    client = client_for(sales_rep)

    # when
    page = client.get(reverse("customers:panel", args=[ada.pk, "notes"]))
    secret = client.get(reverse("customers:panel", args=[ada.pk, "secret"]))
    missing = client.get(reverse("customers:panel", args=[ada.pk, "nope"]))

    # then
    assert page.status_code == 200
    assert "<html" in html_of(page)
    assert re.search(r"<dt>Count</dt><dd>3</dd>", html_of(page))
    assert secret.status_code == 403
    assert missing.status_code == 404
    assert 'id="panel-secret"' not in html_of(client.get(reverse("customers:detail", args=[ada.pk])))


def test_a_merged_customers_panel_moves_to_the_survivor(
    supervisor: Any, sales_rep: Any, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    only_panels(
        monkeypatch, Panel(key="notes", title="Notes", loader=lambda customer, actor: {"id": customer.pk})
    )
    twin = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="L.")
    customer_merge(actor=supervisor, survivor_id=ada.pk, duplicate_id=twin.pk)

    # when
    response = client_for(sales_rep).get(reverse("customers:panel", args=[twin.pk, "notes"]))

    # then
    assert response.status_code == 301
    assert response["Location"] == reverse("customers:panel", args=[ada.pk, "notes"])
