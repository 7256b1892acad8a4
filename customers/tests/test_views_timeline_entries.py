"""The timeline's entries as the 360 page, "Load more" and the timeline page print them
(rendered in one pass, `{% timeline_entries %}`): badge, link, body, date and who, per
reader; the kind filter's <select> (kept once rendered) per reader and selection; and
the page's query count whatever the timeline holds."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity, Customer
from customers.templatetags.timeline import entries_html
from customers.tests.pages import HTMX, client_for, html_of
from customers.timeline import activity_record
from frontoffice import plugin
from frontoffice.plugin import AppHooks, TimelineKind

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 7, 8, 5, 9, 123456, tzinfo=dt.UTC)
RESTRICTED = TimelineKind(
    code="probe_secret",
    label="Probe secret",
    icon="◎",
    ref_type="customers.customer",
    link=lambda ref_id: f"/probe/{ref_id}/?a=1&b=2",
    link_permission="customers.view_customer_history",
    view_permission="customers.view_customer_history",
)


def items(html: str) -> list[str]:
    return re.findall(r'<li class="timeline__item".*?</li>', html, re.S)


def item(html: str, subject: str) -> str:
    found = [i for i in items(html) if subject in i]
    assert len(found) == 1, (subject, len(found))
    return found[0]


def collapsed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


@pytest.fixture
def timeline(sales_rep: Any, ada: Customer) -> Customer:
    """Ada's timeline: a merge (a linked kind), a long body with markup and line breaks,
    an entry of the system, one of a named part of the system, one of an unknown kind."""
    activity_record(
        customer_id=ada.pk,
        kind="merge",
        subject="Merged <Ada> & co",
        actor=sales_rep,
        ref_type="customers.customer",
        ref_id=str(ada.pk),
        occurred_at=WHEN,
    )
    activity_record(
        customer_id=ada.pk,
        kind="note",
        subject="Long note",
        body="Line one\nLine <b>two</b>\r\n" + "x" * 700,
        actor=sales_rep,
        source_app="sales",
        occurred_at=WHEN - dt.timedelta(hours=1),
    )
    system = activity_record(
        customer_id=ada.pk, kind="call", subject="By the system", actor=sales_rep, occurred_at=WHEN
    )
    named = activity_record(
        customer_id=ada.pk, kind="call", subject="By the sync", actor=sales_rep, occurred_at=WHEN
    )
    Activity.objects.filter(pk=system.pk).update(actor=None)
    Activity.objects.filter(pk=named.pk).update(actor=None, system_actor="erp_sync")
    activity_record(
        customer_id=ada.pk, kind="legacy_thing", subject="Old CRM", actor=sales_rep, occurred_at=WHEN
    )
    return ada


def test_an_entry_shows_its_badge_subject_body_date_who_and_source(
    sales_rep: Any, timeline: Customer
) -> None:
    # when
    html = html_of(client_for(sales_rep).get(reverse("customers:detail", args=[timeline.pk])))

    # then: the badge of its kind, the date as the `date` filter prints it, who and where
    note = collapsed(item(html, "Long note"))
    moment = WHEN - dt.timedelta(hours=1)
    assert (
        '<span class="timeline__kind badge badge--neutral"><span aria-hidden="true">✎</span> Note</span>'
        in note
    )
    assert f'<time datetime="{date_filter(timezone.localtime(moment), "c")}">7 Mar 2026, 07:05</time>' in note
    assert f"· {sales_rep} · Sales </p>" in note
    # the body: escaped, its line breaks as <br>, cut at 600 characters with an ellipsis
    text = re.search(r'<p class="timeline__text">(.*?)</p>', note).group(1)
    head = "Line one\nLine <b>two</b>\r\n"  # the first 599 characters of the body, then "…"
    assert text == "Line one<br>Line &lt;b&gt;two&lt;/b&gt;<br>" + "x" * (599 - len(head)) + "…"
    # who: the system, a named part of it
    assert "· System · Customers </p>" in collapsed(item(html, "By the system"))
    assert "· System (erp_sync) · Customers </p>" in collapsed(item(html, "By the sync"))
    assert '<span aria-hidden="true">•</span> Activity</span>' in item(html, "Old CRM")
    assert 'class="timeline__text"' not in item(html, "By the sync")


def test_a_linked_entry_links_its_record_escaped_and_only_for_who_may_open_it(
    admin_user: Any, agent: Any, sales_rep: Any, timeline: Customer
) -> None:
    with plugin.installed("probe", AppHooks(timeline_kinds=[RESTRICTED])):
        activity_record(
            customer_id=timeline.pk, kind="probe_secret", subject="Secret", actor=admin_user, ref=timeline
        )
        url = reverse("customers:detail", args=[timeline.pk])

        # when
        admin = html_of(client_for(admin_user).get(url))
        rep = html_of(client_for(sales_rep).get(url))

    # then: the merge links the customer; the subject is escaped inside the link
    detail = reverse("customers:detail", args=[timeline.pk])
    assert f'<a href="{detail}">Merged &lt;Ada&gt; &amp; co</a>' in item(rep, "Merged")
    assert "<a " not in item(rep, "Long note")
    # an entry of a restricted kind: linked (its URL escaped) for who may read it, absent for others
    assert f'<a href="/probe/{timeline.pk}/?a=1&amp;b=2">Secret</a>' in item(admin, "Secret")
    assert "Secret" not in rep
    assert "Probe secret" not in rep  # nor offered by the kind filter


def test_load_more_focuses_its_first_entry_and_the_page_none(sales_rep: Any, timeline: Customer) -> None:
    Activity.objects.bulk_create(
        Activity(
            customer=timeline,
            kind="note",
            subject=f"Filler {n:02d}",
            source_app="customers",
            occurred_at=WHEN - dt.timedelta(days=n + 1),
        )
        for n in range(60)
    )
    client = client_for(sales_rep)
    page = html_of(client.get(reverse("customers:detail", args=[timeline.pk])))
    cursor = re.search(r'name="cursor" value="([^"]+)"', page).group(1)
    url = reverse("customers:timeline", args=[timeline.pk]) + f"?cursor={cursor}"

    # when
    more = html_of(client.get(url, **HTMX))
    plain = html_of(client.get(url))

    # then
    assert "data-focus-on-load" not in page
    assert [i.count("data-focus-on-load") for i in items(more)] == [1] + [0] * (len(items(more)) - 1)
    assert "data-focus-on-load" not in plain
    assert len(items(page)) == 50
    assert len(items(more)) == 16 == len(items(plain))  # 60 + 5 + Ada's consent


def test_entries_html_prints_no_link_without_a_reader(timeline: Customer) -> None:
    entries = list(Activity.objects.filter(customer=timeline).order_by("-occurred_at", "-id"))

    html = entries_html(entries, user=None)

    assert len(items(html)) == 6  # with Ada's consent
    assert "<a " not in html


def test_the_kind_filter_offers_each_reader_its_kinds_and_keeps_the_selection(
    admin_user: Any, sales_rep: Any, ada: Customer
) -> None:
    url = reverse("customers:detail", args=[ada.pk])

    def select(user: Any, query: str = "") -> str:
        html = html_of(client_for(user).get(url + query))
        return re.search(r'<select name="kind".*?</select>', html, re.S).group(0)

    with plugin.installed("probe", AppHooks(timeline_kinds=[RESTRICTED])):
        # when: the same page for a reader who may read the restricted kind and one who may not
        for _ in range(2):  # the second time from the memo
            admin, rep = select(admin_user), select(sales_rep)
            rep_note, rep_bogus = select(sales_rep, "?kind=note"), select(sales_rep, "?kind=bogus")

            # then
            assert 'value="probe_secret"' in admin
            assert 'value="probe_secret"' not in rep
            assert '<option value="" selected>All kinds</option>' in rep
            assert '<option value="note" selected>Note</option>' in rep_note
            assert "selected" not in rep_bogus
    # the hooks changed: the memo is not read for the old choices
    assert 'value="probe_secret"' not in select(admin_user)


# The session, its user with its permissions, the 360 selector's statements (and for an
# admin the audit history with who changed what): none per entry.
PAGE_BUDGET_360 = {"admin_user": 11, "sales_rep": 9, "agent": 9, "marketer": 9}


@pytest.mark.parametrize("reader", ["admin_user", "sales_rep", "agent", "marketer"])
def test_the_360_page_with_every_kind_of_entry_runs_a_fixed_number_of_queries(
    reader: str,
    request: pytest.FixtureRequest,
    sales_rep: Any,
    ada: Customer,
    django_assert_max_num_queries: Any,
) -> None:
    # given: an entry of every declared kind, each pointing at a record (linked kinds link)
    for n, (code, kind) in enumerate(plugin.timeline_kinds().items()):
        activity_record(
            customer_id=ada.pk,
            kind=code,
            subject=f"Entry {n}",
            actor=sales_rep,
            ref_type=kind.ref_type,
            ref_id=str(ada.pk) if kind.ref_type else "",
            occurred_at=WHEN - dt.timedelta(minutes=n),
        )
    client = client_for(request.getfixturevalue(reader))

    # when / then
    with django_assert_max_num_queries(PAGE_BUDGET_360[reader]):
        response = client.get(reverse("customers:detail", args=[ada.pk]))
    assert response.status_code == 200
    assert len(items(html_of(response))) >= 10


def test_the_one_entry_template_prints_an_entry_as_the_lists_do(sales_rep: Any, timeline: Customer) -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = sales_rep
    entry = Activity.objects.select_related("actor").get(customer=timeline, kind="merge")
    unsaved = Activity(kind="note", subject="s", source_app="x", occurred_at=None)

    one = render_to_string("customers/_timeline_entry.html", {"entry": entry}, request=request)
    blank = render_to_string("customers/_timeline_entry.html", {"entry": unsaved}, request=request)

    assert one == entries_html([entry], user=sales_rep)
    assert f'<a href="{reverse("customers:detail", args=[timeline.pk])}">' in one
    assert '<time datetime=""></time>' in blank
