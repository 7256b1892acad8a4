"""Bulk actions on a segment or a filtered customer list: tag, owner, add to a running
campaign, CSV export (streamed, permission-checked, formula-safe cells)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from frontoffice.actors import MAINTENANCE
from frontoffice.csv_import import formula_safe
from marketing.bulk.services import (
    bulk_add_to_campaign,
    bulk_assign_owner,
    bulk_tag,
    customers_for,
)
from marketing.campaigns.launch import campaign_launch
from marketing.models import CampaignMember, EmailBounce
from marketing.segments.services import segment_create
from marketing.tests.conftest import a_person
from marketing.tests.test_campaigns import a_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip_segment():
    a_person("Ann", tags=["VIP"])
    a_person("Bob", tags=["vip"])
    a_person("Cid")
    return segment_create(actor=MAINTENANCE, name="VIPs", rules={"field": "tag", "op": "has", "value": "VIP"})


def test_tag_and_owner_in_bulk_on_a_segment(
    vip_segment, marketer, sales_rep, django_assert_max_num_queries
) -> None:
    customers = customers_for(segment_id=vip_segment.pk)
    with django_assert_max_num_queries(10):
        assert bulk_tag(actor=marketer, customers=customers, tag="Spring") == 2
    assert bulk_tag(actor=marketer, customers=customers, tag="spring") == 0  # same tag, any case
    assert set(Customer.objects.filter(tags__name="Spring").values_list("first_name", flat=True)) == {
        "Ann",
        "Bob",
    }
    assert bulk_assign_owner(actor=marketer, customers=customers, owner_id=sales_rep.pk) == 2
    assert Customer.objects.get(first_name="Ann").version == 3
    with pytest.raises(PermissionDenied):
        bulk_tag(actor=sales_rep, customers=customers, tag="x")


def test_a_filtered_customer_list_is_a_source_too(vip_segment) -> None:
    assert set(customers_for(filters={"tag": "vip"}).values_list("first_name", flat=True)) == {"Ann", "Bob"}


def test_adding_to_a_tracked_only_campaign_adds_each_customer_once(vip_segment, marketer) -> None:
    campaign = campaign_launch(
        actor=MAINTENANCE,
        campaign_id=a_campaign(
            channel="event",
            subject_template="",
            body_template="",
            rules={"field": "first_name", "op": "eq", "value": "Ann"},
        ).pk,
    )
    added = bulk_add_to_campaign(
        actor=marketer, customers=customers_for(segment_id=vip_segment.pk), campaign_id=campaign.pk
    )
    assert added == 1  # Bob; Ann was a member already
    assert CampaignMember.objects.filter(campaign=campaign).count() == 2


def test_adding_to_a_running_e_mail_campaign_applies_the_launchs_exclusions(marketer) -> None:
    # given a running e-mail campaign, and vip customers: one who may be e-mailed, one
    # who withdrew consent, one never asked, one whose address bounced, one without an
    # address, one merged into the first
    campaign = campaign_launch(
        actor=MAINTENANCE,
        campaign_id=a_campaign(rules={"field": "first_name", "op": "eq", "value": "Nobody"}).pk,
    )
    ok = a_person("Ok", tags=["vip"])
    a_person("Off", tags=["vip"], consent=False)
    a_person("Never", tags=["vip"], consent=None)
    gone = a_person("Gone", tags=["vip"])
    EmailBounce.objects.create(email="gone.test@example.com", customer=gone, occurred_at=timezone.now())
    a_person("Mute", tags=["vip"], email=None)
    merged = a_person("Merged", tags=["vip"])
    Customer.objects.filter(pk=merged.pk).update(merged_into=ok)
    # when they are all added to it
    added = bulk_add_to_campaign(
        actor=marketer, customers=customers_for(filters={"tag": "vip"}), campaign_id=campaign.pk
    )
    # then only the one the launch would have taken is a member
    assert added == 1
    assert list(CampaignMember.objects.values_list("customer__first_name", flat=True)) == ["Ok"]


def test_formula_cells_are_defused() -> None:
    assert formula_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert formula_safe("+1") == "'+1"
    assert formula_safe("@SUM(A1)") == "'@SUM(A1)"
    assert formula_safe("Ann") == "Ann"


def test_the_export_is_streamed_permission_checked_and_safe(client: Client, marketer, sales_rep) -> None:
    a_person("=cmd", "Evil", email="evil@example.com", tags=["VIP"])
    client.force_login(sales_rep)
    assert client.get(reverse("marketing:bulk_export") + "?tag=vip").status_code == 403
    client.force_login(marketer)
    response = client.get(reverse("marketing:bulk_export") + "?tag=vip")
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["id", "name"]
    assert rows[1][1] == "'=cmd Evil"


def test_the_export_carries_each_customers_tags_formula_safe(marketer) -> None:
    from marketing.bulk.services import customers_for, export_rows

    ann = a_person("Ann", tags=["vip", "Partner", "Gold"])
    bob = a_person("Bob", tags=["=HYPERLINK(1)"])
    cid = a_person("Cid")
    lines = "".join(export_rows(actor=marketer, customers=customers_for(filters={}), batch=2))
    rows = list(csv.reader(io.StringIO(lines)))
    assert rows[0] == ["id", "name", "kind", "lifecycle_stage", "email", "owner", "created_at", "tags"]
    tags = {int(r[0]): r[-1] for r in rows[1:]}
    assert tags == {ann.pk: "Gold; Partner; vip", bob.pk: "'=HYPERLINK(1)", cid.pk: ""}


def test_the_bulk_page_counts_and_acts(client: Client, vip_segment, marketer) -> None:
    client.force_login(marketer)
    page = client.get(reverse("marketing:bulk") + f"?segment={vip_segment.pk}")
    assert b'id="bulk-count">2<' in page.content
    response = client.post(
        reverse("marketing:bulk"), {"segment": vip_segment.pk, "action": "tag", "tag": "Gold"}
    )
    assert response.status_code == 302
    assert Customer.objects.filter(tags__name="Gold").count() == 2


def test_adding_to_a_campaign_counts_the_snapshots_not_yet_written_in_the_cap(marketer) -> None:
    # given Ann in two running campaigns' snapshots, not yet written as members (two
    # e-mails on their way to her), and Bob in none
    a_person("Ann", tags=["vip"])
    a_person("Bob", tags=["vip"])
    for _ in range(2):
        campaign_launch(
            actor=MAINTENANCE,
            campaign_id=a_campaign(rules={"field": "first_name", "op": "eq", "value": "Ann"}).pk,
        )
    capped = campaign_launch(
        actor=MAINTENANCE,
        campaign_id=a_campaign(
            rules={"field": "first_name", "op": "eq", "value": "Nobody"}, cap_messages=2, cap_days=7
        ).pk,
    )
    assert not CampaignMember.objects.exists()
    # when both are added to a campaign capped at 2 e-mails a week
    added = bulk_add_to_campaign(
        actor=marketer, customers=customers_for(filters={"tag": "vip"}), campaign_id=capped.pk
    )
    # then only Bob is: Ann would be over the cap
    assert added == 1
    assert set(CampaignMember.objects.values_list("customer__first_name", flat=True)) == {"Bob"}
