"""Attribution (first and last touch, ROI, cost per lead, funnel) and the staff pages
(segment builder with its live count, campaign page with exclusions and charts)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from frontoffice.actors import MAINTENANCE
from marketing.attribution.selectors import campaign_figures
from marketing.campaigns.launch import campaign_launch
from marketing.choices import CampaignStatus
from marketing.models import Campaign, CampaignMember
from marketing.tests.conftest import a_person, written
from marketing.tests.test_campaigns import a_campaign
from marketing.tests.test_segment_rules import an_order
from sales.models import Opportunity, SalesOrder

pytestmark = pytest.mark.django_db


def test_first_and_last_touch_revenue_roi_and_funnel(sales_rep, django_assert_max_num_queries) -> None:
    # given a customer who clicked in campaign A, then B, then ordered from an opportunity of B
    ann = a_person("Ann")
    early = written(campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign(budget="100.00").pk))
    late = written(
        campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign(budget="10.00", cap_messages=0).pk)
    )
    now = timezone.now()
    CampaignMember.objects.filter(campaign=early).update(
        sent_at=now - dt.timedelta(days=9),
        clicked_at=now - dt.timedelta(days=8),
        opened_at=now - dt.timedelta(days=8),
    )
    CampaignMember.objects.filter(campaign=late).update(
        sent_at=now - dt.timedelta(days=3),
        clicked_at=now - dt.timedelta(days=2),
        opened_at=now - dt.timedelta(days=2),
    )
    order = an_order(sales_rep, ann)
    Opportunity.objects.filter(pk=order.opportunity_id).update(campaign_id=late.pk)
    # when
    with django_assert_max_num_queries(8):  # the campaigns, then 7 whatever their number
        figures = {f.campaign.pk: f for f in campaign_figures(Campaign.objects.all())}
    # then
    assert order.currency == late.currency
    assert figures[early.pk].revenue.first_touch == order.total
    assert figures[early.pk].revenue.last_touch == Decimal("0")
    assert figures[late.pk].revenue.last_touch == order.total
    assert figures[late.pk].revenue.direct == order.total
    assert figures[late.pk].roi == ((order.total - Decimal("10")) / Decimal("10")).quantize(Decimal("0.01"))
    funnel = {s.key: s.count for s in figures[late.pk].funnel}
    assert funnel == {
        "audience": 1,
        "sent": 1,
        "opened": 1,
        "clicked": 1,
        "lead": 0,
        "opportunity": 1,
        "order": 1,
    }
    assert figures[early.pk].cost_per_lead is None


def test_the_builder_shows_a_live_count_and_a_sample(client: Client, marketer) -> None:
    a_person("Ann", tags=["VIP"])
    a_person("Amy", tags=["VIP"])
    a_person("Bob")
    client.force_login(marketer)
    page = client.get(reverse("marketing:segment_new"))
    assert page.status_code == 200
    html = page.content.decode()
    # the builder's hook, fed with the field catalogue and the tags; the JSON box stays the field
    assert 'data-rule-builder data-rules-input="id_rules"' in html
    assert "&quot;field&quot;: &quot;lifecycle_stage&quot;" in html
    assert "&quot;tags&quot;: [&quot;VIP&quot;]" in html
    # without JavaScript the builder stays hidden and the JSON box, open, is the editor
    assert re.search(r'<div id="rule-builder" [^>]*data-options="{[^>]*" hidden></div>', html)
    assert '<details class="rules-advanced" id="rules-advanced" data-rules-advanced open>' in html
    assert 'name="rules"' in html
    preview = client.post(
        reverse("marketing:segment_preview"), {"rules": '{"field": "tag", "op": "has", "value": "vip"}'}
    )
    assert b'id="segment-count" class="kpi__value">2<' in preview.content
    sample = _sample_names(preview.content.decode())
    assert sample == ["Amy Test", "Ann Test"]
    bad = client.post(
        reverse("marketing:segment_preview"),
        {
            "rules": '{"all": [{"field": "kind", "op": "eq", "value": "person"}, {"field": "tag", "op": "gt"}]}'
        },
    )
    # the fault names its rule, for the builder to show it next to that row
    assert b'data-rule-path="rules.all.1.op"' in bad.content
    assert b"segment-count" not in bad.content
    saved = client.post(
        reverse("marketing:segment_new"),
        {"name": "VIPs", "rules": '{"field": "tag", "op": "has", "value": "vip"}'},
    )
    assert saved.status_code == 302
    # the saved segment's page shows who is in it now
    shown = client.get(saved["Location"])
    assert b'id="segment-count" class="kpi__value">2<' in shown.content
    assert _sample_names(shown.content.decode()) == ["Amy Test", "Ann Test"]
    refused = client.post(reverse("marketing:segment_new"), {"name": "Bad", "rules": '{"field": "nope"}'})
    assert refused.status_code == 400
    assert b"rules.field" in refused.content
    assert b'data-rule-path="rules.field"' in refused.content


def _sample_names(html: str) -> list[str]:
    """The customers the preview's sample lists, in its order."""
    sample = re.search(r'<ul class="list" id="segment-sample"[^>]*>(.*?)</ul>', html, re.DOTALL)
    assert sample is not None, html
    return re.findall(r'<a href="/customers/\d+/">([^<]+)</a>', sample.group(1))


def test_the_campaign_page_shows_exclusions_funnel_and_preview(client: Client, marketer) -> None:
    a_person("Ann")
    a_person("Never", consent=None)
    campaign = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk)
    client.force_login(marketer)
    page = client.get(reverse("marketing:campaign_detail", args=[campaign.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="excluded-count">1<' in html
    # Ann, in the snapshot, not yet written as a member by the sending
    assert 'id="audience-count">1<' in html
    assert 'id="still-to-send">1</span> still to be sent' in html
    assert "No current e-mail marketing consent" in html
    assert 'id="funnel"' in html
    assert "Hello Ann" in html
    assert client.get(reverse("marketing:campaign_list")).status_code == 200


def test_a_page_launch_and_its_refusals(client: Client, marketer, sales_rep) -> None:
    campaign = a_campaign()
    client.force_login(sales_rep)
    assert client.post(reverse("marketing:campaign_action", args=[campaign.pk, "launch"])).status_code == 403
    client.force_login(marketer)
    response = client.post(reverse("marketing:campaign_action", args=[campaign.pk, "launch"]), follow=True)
    assert response.status_code == 200
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.RUNNING
    response = client.post(reverse("marketing:campaign_action", args=[campaign.pk, "launch"]), follow=True)
    assert b"cannot become running" in response.content


def test_the_campaign_form_creates_a_draft(client: Client, marketer) -> None:
    client.force_login(marketer)
    response = client.post(
        reverse("marketing:campaign_new"),
        {
            "name": "Autumn",
            "channel": "email",
            "currency": "EUR",
            "cap_messages": 3,
            "cap_days": 7,
            "budget": "10",
        },
    )
    assert response.status_code == 302
    assert Campaign.objects.get().name == "Autumn"
    bad = client.post(
        reverse("marketing:campaign_new"),
        {"name": "", "channel": "email", "currency": "EUR", "cap_messages": 3, "cap_days": 7},
    )
    assert bad.status_code == 400


def test_revenue_in_two_currencies_is_never_added_up(sales_rep, client: Client, marketer) -> None:
    # given a EUR campaign whose opportunities ordered in EUR and in USD
    ann, bob = a_person("Ann"), a_person("Bob")
    campaign = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign(budget="100.00", currency="EUR").pk)
    in_euros, in_dollars = an_order(sales_rep, ann), an_order(sales_rep, bob, qty=5, catalogue=False)
    SalesOrder.objects.filter(pk=in_euros.pk).update(currency="EUR")
    SalesOrder.objects.filter(pk=in_dollars.pk).update(currency="USD")
    Opportunity.objects.filter(pk__in=[in_euros.opportunity_id, in_dollars.opportunity_id]).update(
        campaign_id=campaign.pk
    )
    # when
    [figures] = campaign_figures([campaign])
    # then: one line per currency, the budget's first
    by_currency = {r.currency: r for r in figures.revenues}
    assert [r.currency for r in figures.revenues] == ["EUR", "USD"]
    assert by_currency["EUR"].last_touch == in_euros.total
    assert by_currency["EUR"].direct == in_euros.total
    assert by_currency["USD"].last_touch == in_dollars.total
    assert by_currency["USD"].first_touch == in_dollars.total
    assert figures.counts["order"] == 2
    # ROI counts the budget's currency only, and says what it leaves out
    assert figures.roi == ((in_euros.total - Decimal("100")) / Decimal("100")).quantize(Decimal("0.01"))
    assert figures.roi_leaves_out == ["USD"]
    # the page and the API show the same
    client.force_login(marketer)
    html = client.get(reverse("marketing:campaign_detail", args=[campaign.pk])).content.decode()
    assert f"{in_dollars.total}</td>" in html
    assert "revenue in USD is not converted" in html
    api = client.get("/api/v1/marketing/attribution/").json()
    [row] = [r for r in api["results"] if r["campaign"] == campaign.pk]
    assert [(r["currency"], Decimal(r["last_touch"])) for r in row["revenue"]] == [
        ("EUR", in_euros.total),
        ("USD", in_dollars.total),
    ]
    assert Decimal(row["roi"]) == figures.roi
    assert row["roi_leaves_out"] == ["USD"]


def test_roi_of_a_campaign_with_revenue_only_in_another_currency_counts_none_of_it(sales_rep) -> None:
    ann = a_person("Ann")
    campaign = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign(budget="50.00", currency="GBP").pk)
    order = an_order(sales_rep, ann)
    SalesOrder.objects.filter(pk=order.pk).update(currency="EUR")
    Opportunity.objects.filter(pk=order.opportunity_id).update(campaign_id=campaign.pk)
    [figures] = campaign_figures([campaign])
    assert [(r.currency, r.last_touch) for r in figures.revenues] == [
        ("GBP", Decimal("0")),
        ("EUR", order.total),
    ]
    assert figures.roi == Decimal("-1.00")  # nothing earned in GBP for a GBP 50 budget
    assert figures.roi_leaves_out == ["EUR"]


def test_each_funnel_stage_rate_and_the_cost_per_lead(sales_rep, marketer, client: Client) -> None:
    from sales.leads.services import lead_create
    from sales.tests.quote_setup import an_opportunity

    # given a EUR 100 campaign: 5 members, 4 sent, 2 opened, 1 clicked, then 3 leads
    # and 1 opportunity it sourced (no order yet); another campaign's lead counts nowhere
    for i in range(5):
        a_person(f"P{i}")
    campaign = written(campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign(budget="100.00").pk))
    other = a_campaign(budget="10.00")
    ids = list(CampaignMember.objects.filter(campaign=campaign).order_by("id").values_list("pk", flat=True))
    now = timezone.now()
    CampaignMember.objects.filter(pk__in=ids[:4]).update(sent_at=now)
    CampaignMember.objects.filter(pk__in=ids[:2]).update(opened_at=now)
    CampaignMember.objects.filter(pk__in=ids[:1]).update(clicked_at=now)
    for n in range(3):
        lead_create(
            actor=sales_rep,
            title="Chairs",
            last_name=f"Lead {n}",
            source="marketing_form",
            campaign_id=campaign.pk,
        )
    lead_create(actor=sales_rep, title="Desks", last_name="Elsewhere", campaign_id=other.pk)
    Opportunity.objects.filter(pk=an_opportunity(sales_rep).pk).update(campaign_id=campaign.pk)
    # when
    [figures] = campaign_figures([campaign])
    # then each stage's count, and its share of the stage before
    expected = [
        ("audience", 5, None),
        ("sent", 4, 0.8),
        ("opened", 2, 0.5),
        ("clicked", 1, 0.5),
        ("lead", 3, 3.0),  # leads come from forms, not only from clicks
        ("opportunity", 1, 0.3333),
        ("order", 0, 0.0),
    ]
    assert [(s.key, s.count, s.rate) for s in figures.funnel] == expected
    assert figures.cost_per_lead == Decimal("33.33")  # 100.00 / 3 leads
    # a campaign with a budget and no lead has no cost per lead (not a division by zero)
    [no_leads] = campaign_figures([Campaign.objects.create(name="Quiet", budget=Decimal("5"))])
    assert no_leads.cost_per_lead is None
    assert [s.rate for s in no_leads.funnel] == [None, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    # the API and the page say the same
    client.force_login(marketer)
    rows = {r["campaign"]: r for r in client.get("/api/v1/marketing/attribution/").json()["results"]}
    assert [(s["stage"], s["count"], s["rate"]) for s in rows[campaign.pk]["funnel"]] == expected
    assert rows[campaign.pk]["cost_per_lead"] == "33.33"
    assert rows[other.pk]["cost_per_lead"] == "10.00"  # its one lead
    html = client.get(reverse("marketing:campaign_detail", args=[campaign.pk])).content.decode()
    assert "<dt>Cost per lead</dt><dd>33.33 EUR</dd>" in html
    assert "<td>Sent</td><td>4</td><td>80 %</td>" in html
