"""Quote services: pricing from the list, totals and rounding, approval, delivery dates,
sending, revisions, and bad input that writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from customers.models import Activity
from frontoffice.errors import Conflict, StaleVersion
from sales.models import PriceList, Quote, QuoteLine, QuoteStatus
from sales.quotes import services as quote_services
from sales.quotes.services import DeliveryNotMet, QuoteConflict
from sales.tests.quote_setup import (
    a_catalogue,
    a_price_list,
    a_product,
    a_quote,
    an_opportunity,
    discount_limits,
    in_days,
    promised_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> PriceList:
    return a_catalogue()


def test_it_prices_lines_from_the_list_and_totals_with_half_up_tax(sales_rep, catalogue) -> None:
    # given
    opportunity = an_opportunity(sales_rep)
    # when: 3 x 10.00 + 1 x 2.50 = 32.50; tax 7.5% = 2.4375 -> 2.44
    quote = a_quote(
        sales_rep,
        opportunity,
        [{"sku": "SKU-1", "quantity": 3}, {"sku": "SKU-2", "quantity": 1}],
        tax_rate=Decimal("7.5"),
    )
    # then
    quote.refresh_from_db()
    assert (quote.subtotal, quote.tax_total, quote.total) == (
        Decimal("32.50"),
        Decimal("2.44"),
        Decimal("34.94"),
    )
    assert quote.reference == f"Q-{quote.pk:06d}"
    assert [ln.unit_price for ln in quote.lines.order_by("position")] == [Decimal("10.00"), Decimal("2.50")]
    assert Activity.objects.filter(kind="quote_created", customer_id=opportunity.customer_id).exists()


def test_a_discounted_line_is_rounded_to_cents_half_up(sales_rep, catalogue) -> None:
    # given: 1 x 2.50 less 15% = 2.125 -> 2.13
    discount_limits(sales=20)
    # when
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-2", "quantity": 1, "discount_percent": 15}]
    )
    # then
    assert quote.lines.get().net_amount == Decimal("2.13")
    assert quote.discount_total == Decimal("0.37")


def test_the_customer_tier_picks_its_price_list(sales_rep, catalogue) -> None:
    # given
    gold = a_price_list({"SKU-1": "8.00"}, tier="gold")
    opportunity = an_opportunity(sales_rep, attributes={"tier": "gold"})
    # when
    quote = a_quote(sales_rep, opportunity)
    # then
    assert quote.price_list == gold
    assert quote.tier == "gold"
    assert quote.lines.get().unit_price == Decimal("8.00")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ({"sku": "SKU-1", "quantity": 0}, "lines.0.quantity"),
        ({"sku": "SKU-1", "quantity": -2}, "lines.0.quantity"),
        ({"sku": "NOPE", "quantity": 1}, "lines.0.sku"),
        ({"sku": "SKU-1", "quantity": 1, "discount_percent": 101}, "lines.0.discount_percent"),
        ({"sku": "SKU-1", "quantity": 1, "discount_percent": -1}, "lines.0.discount_percent"),
    ],
)
def test_bad_lines_are_refused_with_field_errors_and_nothing_is_written(
    sales_rep, catalogue, line, key
) -> None:
    # given
    opportunity = an_opportunity(sales_rep)
    # when
    with pytest.raises(ValidationError) as caught:
        a_quote(sales_rep, opportunity, [line])
    # then
    assert key in caught.value.message_dict
    assert not Quote.objects.exists()
    assert not QuoteLine.objects.exists()


def test_an_inactive_sku_or_one_missing_from_the_list_is_refused(sales_rep, catalogue) -> None:
    # given
    a_product("SKU-OLD", active=False)
    a_product("SKU-NEW")
    opportunity = an_opportunity(sales_rep)
    # when
    with pytest.raises(ValidationError) as caught:
        a_quote(
            sales_rep, opportunity, [{"sku": "SKU-OLD", "quantity": 1}, {"sku": "SKU-NEW", "quantity": 1}]
        )
    # then
    assert "no longer sold" in caught.value.message_dict["lines.0.sku"][0]
    assert "not on the price list" in caught.value.message_dict["lines.1.sku"][0]
    assert not Quote.objects.exists()


def test_a_price_list_in_another_currency_is_refused(sales_rep, catalogue) -> None:
    # given
    usd = a_price_list({"SKU-1": "11.00"}, currency="USD")
    # when
    with pytest.raises(ValidationError) as caught:
        a_quote(sales_rep, an_opportunity(sales_rep), price_list_id=usd.pk)
    # then
    assert "USD" in caught.value.message_dict["price_list"][0]
    assert not Quote.objects.exists()


def test_without_a_list_for_the_currency_the_quote_is_refused(sales_rep, catalogue) -> None:
    with pytest.raises(ValidationError) as caught:
        a_quote(sales_rep, an_opportunity(sales_rep, currency="CHF"))
    assert "CHF" in caught.value.message_dict["price_list"][0]


def test_one_active_list_per_currency_and_tier(catalogue) -> None:
    with pytest.raises(Conflict) as caught:
        a_price_list({"SKU-1": "1.00"}, name="Another EUR")
    assert "active" in caught.value.errors


def test_a_rep_cannot_quote_for_another_teams_opportunity(sales_rep, other_rep, catalogue) -> None:
    opportunity = an_opportunity(other_rep)
    with pytest.raises(PermissionDenied):
        a_quote(sales_rep, opportunity)


def test_a_teammate_may_work_on_the_quote(sales_rep, teammate, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    updated = quote_services.quote_update(
        actor=teammate, quote_id=quote.pk, expected_version=1, tax_rate=Decimal(20)
    )
    assert updated.total == Decimal("36.00")


def test_a_stale_version_is_refused(sales_rep, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    quote_services.quote_update(actor=sales_rep, quote_id=quote.pk, expected_version=1, notes="x")
    with pytest.raises(StaleVersion):
        quote_services.quote_update(actor=sales_rep, quote_id=quote.pk, expected_version=1, notes="y")


def test_a_discount_over_the_limit_blocks_sending_until_an_admin_approves(
    sales_rep, admin_user, catalogue, django_capture_on_commit_callbacks
) -> None:
    # given: reps may give 10%
    discount_limits(sales=10)
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1, "discount_percent": 15}]
    )
    # when / then: sending is refused
    with pytest.raises(QuoteConflict, match="approval"):
        quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    # and a rep cannot approve
    quote = quote_services.quote_submit_for_approval(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    with pytest.raises(PermissionDenied):
        quote_services.quote_approve(actor=sales_rep, quote_id=quote.pk, expected_version=2)
    # when: the admin approves, the rep sends
    quote = quote_services.quote_approve(actor=admin_user, quote_id=quote.pk, expected_version=2)
    with django_capture_on_commit_callbacks(execute=True):
        quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=3)
    # then
    assert quote.status == QuoteStatus.SENT
    assert quote.approved_by == admin_user
    assert len(mail.outbox) == 1


def test_within_the_limit_no_approval_is_needed(sales_rep, catalogue) -> None:
    discount_limits(sales=10)
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1, "discount_percent": 10}]
    )
    with pytest.raises(QuoteConflict, match="No discount exceeds"):
        quote_services.quote_submit_for_approval(actor=sales_rep, quote_id=quote.pk, expected_version=1)


def test_changing_an_approved_quote_takes_it_back_to_draft(sales_rep, admin_user, catalogue) -> None:
    discount_limits(sales=5)
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1, "discount_percent": 9}]
    )
    quote_services.quote_submit_for_approval(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    quote_services.quote_approve(actor=admin_user, quote_id=quote.pk, expected_version=2)
    quote = quote_services.quote_update(
        actor=sales_rep,
        quote_id=quote.pk,
        expected_version=3,
        lines=[{"sku": "SKU-1", "quantity": 2, "discount_percent": 9}],
    )
    assert quote.status == QuoteStatus.DRAFT
    assert quote.approved_by is None


def test_sending_emails_the_quote_with_its_pdf_and_promises_the_latest_line_date(
    sales_rep, django_capture_on_commit_callbacks
) -> None:
    # given: SKU-1 in stock, SKU-2 only after its 20-day lead time
    a_product("SKU-1", on_hand=100)
    a_product("SKU-2", on_hand=0, lead_time_days=20)
    a_price_list({"SKU-1": "10.00", "SKU-2": "2.50"})
    quote = a_quote(
        sales_rep,
        an_opportunity(sales_rep),
        [{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-2", "quantity": 4}],
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    # then
    assert quote.promised_delivery_on == promised_in(20)
    assert quote.sent_to.startswith("buyer")
    (message,) = mail.outbox
    assert quote.reference in message.subject
    assert message.to == [quote.sent_to]
    assert [a[2] for a in message.attachments] == ["application/pdf"]
    assert message.attachments[0][1].startswith(b"%PDF")
    assert Activity.objects.filter(kind="quote_sent").exists()


def test_a_requested_date_the_back_office_cannot_meet_blocks_sending_naming_the_earliest_date(
    sales_rep, django_capture_on_commit_callbacks
) -> None:
    # given: no stock, 20 days lead time, the customer asks for 5 days
    a_product("SKU-1", on_hand=0, lead_time_days=20)
    a_price_list({"SKU-1": "10.00"})
    quote = a_quote(sales_rep, an_opportunity(sales_rep), requested_delivery_on=in_days(5))
    # when / then
    with pytest.raises(DeliveryNotMet) as caught:
        quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    assert promised_in(20).isoformat() in caught.value.detail
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT
    # when: the customer accepts the later date
    with django_capture_on_commit_callbacks(execute=True):
        quote = quote_services.quote_send(
            actor=sales_rep, quote_id=quote.pk, expected_version=1, accept_later_delivery=True
        )
    # then
    assert quote.status == QuoteStatus.SENT
    assert quote.promised_delivery_on == promised_in(20)


def test_an_expired_quote_cannot_be_sent(sales_rep, catalogue, time_machine) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep), valid_until=in_days(2))
    time_machine.move_to(in_days(5).isoformat() + "T12:00:00Z")
    with pytest.raises(QuoteConflict, match="expired"):
        quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT


def test_revising_a_sent_quote_makes_a_new_revision_and_supersedes_the_old(
    sales_rep, catalogue, django_capture_on_commit_callbacks
) -> None:
    # given
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    with django_capture_on_commit_callbacks(execute=True):
        quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    # when
    revision = quote_services.quote_revise(actor=sales_rep, quote_id=quote.pk, expected_version=2)
    # then
    old = Quote.objects.get(pk=quote.pk)
    assert old.status == QuoteStatus.SUPERSEDED
    assert (revision.revision, revision.previous_id, revision.reference) == (2, old.pk, old.reference)
    assert revision.status == QuoteStatus.DRAFT
    assert revision.lines.count() == old.lines.count() == 1
    assert revision.total == old.total
    # and a draft is edited, not revised
    with pytest.raises(QuoteConflict):
        quote_services.quote_revise(actor=sales_rep, quote_id=revision.pk, expected_version=1)
    # and a sent (superseded) quote cannot change
    with pytest.raises(QuoteConflict):
        quote_services.quote_update(actor=sales_rep, quote_id=old.pk, expected_version=old.version, notes="x")
