"""The timeline on the customer pages: 50 entries and "Load more", the kind filter
(with HTMX and without JavaScript), each kind's badge and link, who acted, and the
dashboard's recent activity."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import selectors, services
from customers.merge import customer_merge
from customers.models import Activity, Customer
from customers.tests.pages import HTMX, client_for, html_of
from customers.timeline import activity_log, activity_record
from customers.timeline_kinds import kind_choices
from frontoffice import plugin
from frontoffice.actors import ERP_SYNC
from frontoffice.plugin import AppHooks, TimelineKind

pytestmark = pytest.mark.django_db


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
    _, cursor = selectors.timeline_page(customer=chatty, actor=sales_rep)

    # when
    response = client_for(sales_rep).get(reverse("customers:timeline", args=[chatty.pk]), {"cursor": cursor})

    # then
    html = html_of(response)
    assert "<html" in html
    assert "Timeline of Ada Lovelace" in html
    assert "Entry 59" in html


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


# --- who acted -------------------------------------------------------------------------------


def test_an_entry_the_system_wrote_names_the_part_of_the_system_that_acted(
    sales_rep: Any, ada: Customer
) -> None:
    # given: one entry by the ERP's sync, one by a person
    activity_record(customer_id=ada.pk, kind="note", subject="Synced from the ERP", actor=ERP_SYNC)
    activity_log(actor=sales_rep, customer_id=ada.pk, kind="call", subject="Rang them")

    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    synced = entry_html(html, "Synced from the ERP")
    assert "System (ERP sync)" in synced
    assert "Rita Rep" in entry_html(html, "Rang them")
    assert Activity.objects.get(subject="Synced from the ERP").system_actor == "ERP sync"


# --- the kind filter -----------------------------------------------------------------------------


@pytest.fixture
def mixed(sales_rep: Any, ada: Customer) -> Customer:
    """Ada with 55 calls and 10 notes (plus the consent), calls and notes interleaved."""
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            customer=ada,
            kind="call" if n % 7 else "note",
            subject=f"{'Call' if n % 7 else 'Note'} {n:02d}",
            source_app="customers",
            occurred_at=now - dt.timedelta(hours=n + 1),
        )
        for n in range(65)
    )
    return ada


def kinds_shown(html: str) -> list[str]:
    return re.findall(r'<span aria-hidden="true">.</span> ([^<]+)</span>', html)


def test_the_timeline_filter_offers_every_declared_kind_by_its_label(sales_rep: Any, ada: Customer) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    select = re.search(r'<select name="kind"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    assert options == [("", "All kinds"), *kind_choices()]
    assert {code for code, _ in options} >= {"call", "note", "erp_order", "order_placed"}


def test_without_javascript_the_filter_reloads_the_page_with_one_kind(
    sales_rep: Any, mixed: Customer
) -> None:
    # when
    response = client_for(sales_rep).get(reverse("customers:detail", args=[mixed.pk]), {"kind": "note"})

    # then
    html = html_of(response)
    assert response.status_code == 200
    assert set(kinds_shown(timeline_of(html))) == {"Note"}
    assert timeline_of(html).count('class="timeline__item"') == 10
    assert re.search(r'<option value="note" selected>Note</option>', html)
    assert 'id="timeline-load-more"' not in html


def test_with_htmx_the_filter_swaps_only_the_list(sales_rep: Any, mixed: Customer) -> None:
    # when
    response = client_for(sales_rep).get(
        reverse("customers:timeline", args=[mixed.pk]),
        {"kind": "note"},
        HTTP_HX_TARGET="timeline-list",
        **HTMX,
    )

    # then
    html = html_of(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert '<div id="timeline-list"' in html
    assert set(kinds_shown(html)) == {"Note"}
    assert html.count('class="timeline__item"') == 10
    assert 'id="timeline-status" hx-swap-oob="innerHTML"' in html
    assert "HX-Target" in response["Vary"]


def test_the_page_wires_the_filter_to_swap_the_list_in_place(sales_rep: Any, ada: Customer) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    form = re.search(r'<form class="timeline-filter"[^>]*>', html).group(0)
    assert f'action="{reverse("customers:detail", args=[ada.pk])}#timeline-section"' in form
    assert f'hx-get="{reverse("customers:timeline", args=[ada.pk])}"' in form
    assert 'hx-target="#timeline-list"' in form
    assert 'id="timeline-list"' in html


def test_load_more_keeps_the_kind_filter(sales_rep: Any, mixed: Customer) -> None:
    # given: the first 50 of the 55 calls
    client = client_for(sales_rep)
    page = html_of(client.get(reverse("customers:detail", args=[mixed.pk]), {"kind": "call"}))
    assert timeline_of(page).count('class="timeline__item"') == 50
    load_more = re.search(r'<li class="timeline__more">.*?</li>', page, re.S).group(0)
    assert '<input type="hidden" name="kind" value="call">' in load_more
    cursor = re.search(r'name="cursor" value="([^"]+)"', load_more).group(1)

    # when: "Load more", as HTMX sends it, and as a plain page
    fragment = html_of(
        client.get(reverse("customers:timeline", args=[mixed.pk]), {"cursor": cursor, "kind": "call"}, **HTMX)
    )
    plain = html_of(
        client.get(reverse("customers:timeline", args=[mixed.pk]), {"cursor": cursor, "kind": "call"})
    )

    # then: the last 5 calls, and no note
    assert set(kinds_shown(fragment)) == {"Call"}
    assert fragment.count('class="timeline__item"') == 5
    assert "<html" in plain
    assert set(kinds_shown(plain)) == {"Call"}
    assert plain.count('class="timeline__item"') == 5


def test_an_undeclared_kind_is_reported_and_hides_nothing(sales_rep: Any, mixed: Customer) -> None:
    # when
    response = client_for(sales_rep).get(
        reverse("customers:detail", args=[mixed.pk]), {"kind": "opportunity.won"}
    )

    # then
    html = html_of(response)
    assert response.status_code == 200
    assert "Select a valid choice" in html
    assert {"Call", "Note"} <= set(kinds_shown(timeline_of(html)))


# --- how each kind is shown -------------------------------------------------------------------------


def badges(html: str) -> list[tuple[str, str, str]]:
    """(tone, icon, label) of every timeline badge in `html`."""
    return re.findall(
        r'<span class="timeline__kind badge badge--(\w+)"><span aria-hidden="true">([^<]*)</span> ([^<]+)</span>',
        html,
    )


def visible_text(html: str) -> str:
    """What a person reads: text nodes, without tags, attributes, scripts and styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


RAW_CODE = re.compile(r"\b[a-z]+(?:[_.][a-z]+)+\b")  # erp_order, order_placed, opportunity.won


def test_every_declared_kind_shows_its_badge_and_never_its_code(sales_rep: Any, ada: Customer) -> None:
    # given: the kinds the installed apps declare, by batches that fit on the first page
    kinds = plugin.timeline_kinds()
    codes = list(kinds)
    batch = 40
    for start in range(0, len(codes), batch):
        Activity.objects.filter(customer=ada).delete()
        chunk = codes[start : start + batch]
        for code in chunk:
            activity_record(
                customer_id=ada.pk, kind=code, subject=f"Something happened ({len(code)})", actor=sales_rep
            )

        # when
        html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

        # then: each entry wears its kind's badge: tone, icon and label
        shown = badges(timeline_of(html))
        assert set(shown) >= {(kinds[c].tone.value, kinds[c].icon, kinds[c].label) for c in chunk}
        assert len(shown) == len(chunk)
        leaked = {code for code in chunk if code in RAW_CODE.findall(visible_text(html))}
        assert leaked == set()
    assert {"erp_order", "order_placed", "opportunity_stage"} <= set(kinds)


def test_an_entry_of_a_kind_no_app_declares_reads_activity(sales_rep: Any, ada: Customer) -> None:
    # given: an old row of a removed app
    activity_record(customer_id=ada.pk, kind="legacy_thing", subject="From the old CRM", actor=sales_rep)

    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    assert ("neutral", "•", "Activity") in badges(entry_html(html, "From the old CRM"))
    assert "legacy_thing" not in visible_text(html)


def test_the_dashboard_shows_each_kind_as_its_badge(sales_rep: Any, ada: Customer) -> None:
    # given: my entries of the sales and ERP kinds
    for code in ("order_placed", "opportunity_stage", "erp_order"):
        activity_record(customer_id=ada.pk, kind=code, subject=f"Mine: {code[:3]}", actor=sales_rep)

    # when
    html = html_of(client_for(sales_rep).get(reverse("dashboard")))

    # then
    labels = {label for _, _, label in badges(html)}
    assert {"Order placed", "Stage change", "Order update"} <= labels
    assert not {"order_placed", "opportunity_stage", "erp_order"} & set(RAW_CODE.findall(visible_text(html)))


# --- where each entry leads ----------------------------------------------------------------------------


PROBE = TimelineKind(
    code="probe_report",
    label="Probe report",
    icon="◎",
    ref_type="customers.customer",
    link=lambda ref_id: f"/probe/{ref_id}/",
    link_permission="customers.view_customer_history",
)


def test_an_entry_of_a_linked_kind_links_to_its_record_and_an_unlinked_one_does_not(
    supervisor: Any, sales_rep: Any, ada: Customer
) -> None:
    # given: a merge (its kind links to the merged customer) and a note (no link)
    twin = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="L.")
    customer_merge(actor=supervisor, survivor_id=ada.pk, duplicate_id=twin.pk)
    activity_log(actor=sales_rep, customer_id=ada.pk, kind="note", subject="Just a note")

    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    merge_entry = entry_html(html, "Merged Ada L.")
    assert f'<a href="{reverse("customers:detail", args=[twin.pk])}">Merged Ada L.' in merge_entry
    assert "<a " not in entry_html(html, "Just a note")


def test_a_user_without_the_links_permission_sees_the_entry_without_its_link(
    admin_user: Any, sales_rep: Any, ada: Customer
) -> None:
    # given: a kind whose records only holders of the audit permission may open
    with plugin.installed("probe", AppHooks(timeline_kinds=[PROBE])):
        activity_record(
            customer_id=ada.pk, kind="probe_report", subject="Probe ran", actor=admin_user, ref=ada
        )

        # when
        allowed = html_of(client_for(admin_user).get(reverse("customers:detail", args=[ada.pk])))
        refused = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[ada.pk])))

    # then
    assert f'<a href="/probe/{ada.pk}/">Probe ran</a>' in entry_html(allowed, "Probe ran")
    assert "<a " not in entry_html(refused, "Probe ran")
    assert "Probe report" in entry_html(refused, "Probe ran")


def timeline_of(html: str) -> str:
    """The timeline's list (not the filter's options, not the dashboard)."""
    return re.search(r'<div id="timeline-list".*?</div>\s*(?:</section>|$)', html, re.S).group(0)


def entry_html(html: str, subject: str) -> str:
    """The timeline entry whose subject starts with `subject`."""
    for item in re.findall(r'<li class="timeline__item".*?</li>', html, re.S):
        if re.search(r">\s*" + re.escape(subject), item):
            return item
    raise AssertionError(f"No timeline entry {subject!r}")
