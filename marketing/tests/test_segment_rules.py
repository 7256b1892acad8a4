"""The segment rule language: every operator selects what it says, groups combine, and a
bad rule is refused with the path of the fault."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.consent import consent_record
from customers.models import Customer, CustomFieldDefinition
from customers.timeline import activity_record
from frontoffice import plugin
from frontoffice.actors import MAINTENANCE
from frontoffice.plugin import AppHooks, CustomerFact
from marketing.choices import CampaignStatus
from marketing.models import Campaign, CampaignMember
from marketing.segments.rules import catalogue, compile_rules
from marketing.segments.selectors import segment_customers, segment_preview
from marketing.tests.conftest import a_person

pytestmark = pytest.mark.django_db


def names(rules: Any) -> set[str]:
    # People only: the order builders make organisations of their own.
    return set(segment_customers(rules=rules).filter(kind="person").values_list("first_name", flat=True))


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        rule["value"] = value
    return rule


@pytest.fixture
def people() -> dict[str, Customer]:
    CustomFieldDefinition.objects.create(
        key="industry", label="Industry", field_type="choice", choices=["retail", "energy"]
    )
    CustomFieldDefinition.objects.create(key="seats", label="Seats", field_type="number")
    CustomFieldDefinition.objects.create(key="vip", label="VIP", field_type="boolean")
    CustomFieldDefinition.objects.create(key="motto", label="Motto", field_type="text")
    CustomFieldDefinition.objects.create(key="renewal", label="Renewal", field_type="date")
    return {
        "ann": a_person(
            "Ann",
            "Able",
            lifecycle_stage="customer",
            tags=["VIP", "Partner"],
            attributes={
                "industry": "retail",
                "seats": 10,
                "vip": True,
                "motto": "Go far",
                "renewal": "2026-03-01",
            },
        ),
        "bob": a_person(
            "Bob",
            "Baker",
            email="bob@shop.test",
            consent=False,
            tags=["Partner"],
            attributes={"industry": "energy", "seats": 3, "vip": False},
        ),
        "cid": a_person("Cid", "Cole", email=None, consent=None, lifecycle_stage="former"),
    }


# --- profile fields --------------------------------------------------------------------


def test_choice_operators(people) -> None:
    assert names(cond("lifecycle_stage", "eq", "customer")) == {"Ann"}
    assert names(cond("lifecycle_stage", "ne", "customer")) == {"Bob", "Cid"}
    assert names(cond("lifecycle_stage", "in", ["customer", "former"])) == {"Ann", "Cid"}
    assert names(cond("lifecycle_stage", "not_in", ["customer", "former"])) == {"Bob"}
    assert names(cond("kind", "eq", "person")) == {"Ann", "Bob", "Cid"}


def test_text_operators(people) -> None:
    assert names(cond("last_name", "eq", "able")) == {"Ann"}
    assert names(cond("last_name", "ne", "Able")) == {"Bob", "Cid"}
    assert names(cond("display_name", "contains", "ake")) == {"Bob"}
    assert names(cond("display_name", "starts_with", "ci")) == {"Cid"}
    assert names(cond("organisation_name", "is_set")) == set()
    assert names(cond("organisation_name", "is_not_set")) == {"Ann", "Bob", "Cid"}


def test_email_operators(people) -> None:
    assert names(cond("email", "is_set")) == {"Ann", "Bob"}
    assert names(cond("email", "is_not_set")) == {"Cid"}
    assert names(cond("email", "ends_with", "@shop.test")) == {"Bob"}
    assert names(cond("email", "contains", "ANN")) == {"Ann"}
    assert names(cond("email", "eq", "bob@shop.test")) == {"Bob"}
    assert names(cond("email", "ne", "bob@shop.test")) == {"Ann", "Cid"}


def test_date_operators(people) -> None:
    long_ago = timezone.now() - dt.timedelta(days=400)
    Customer.objects.filter(pk=people["cid"].pk).update(created_at=long_ago)
    assert names(cond("created_at", "within_days", 30)) == {"Ann", "Bob"}
    assert names(cond("created_at", "older_than_days", 30)) == {"Cid"}
    assert names(
        cond("created_at", "before", (timezone.localdate() - dt.timedelta(days=10)).isoformat())
    ) == {"Cid"}
    assert names(cond("created_at", "after", (timezone.localdate() - dt.timedelta(days=10)).isoformat())) == {
        "Ann",
        "Bob",
    }


def test_owner_operators(people, marketer) -> None:
    Customer.objects.filter(pk=people["ann"].pk).update(owner=marketer)
    assert names(cond("owner", "eq", marketer.pk)) == {"Ann"}
    assert names(cond("owner", "ne", marketer.pk)) == {"Bob", "Cid"}
    assert names(cond("owner", "is_set")) == {"Ann"}
    assert names(cond("owner", "is_not_set")) == {"Bob", "Cid"}


def test_tag_operators_ignore_case_and_never_repeat_a_customer(people) -> None:
    assert names(cond("tag", "has", "vip")) == {"Ann"}
    assert names(cond("tag", "has_not", "VIP")) == {"Bob", "Cid"}
    assert names(cond("tag", "has_any", ["vip", "partner"])) == {"Ann", "Bob"}
    assert names(cond("tag", "has_all", ["vip", "partner"])) == {"Ann"}
    assert segment_customers(rules=cond("tag", "has_any", ["vip", "partner"])).count() == 2


def test_custom_attribute_operators(people) -> None:
    assert names(cond("attr.industry", "eq", "retail")) == {"Ann"}
    assert names(cond("attr.industry", "in", ["retail", "energy"])) == {"Ann", "Bob"}
    assert names(cond("attr.industry", "is_not_set")) == {"Cid"}
    assert names(cond("attr.seats", "gt", 3)) == {"Ann"}
    assert names(cond("attr.seats", "gte", 3)) == {"Ann", "Bob"}
    assert names(cond("attr.seats", "lt", 10)) == {"Bob"}
    assert names(cond("attr.seats", "lte", 10)) == {"Ann", "Bob"}
    assert names(cond("attr.seats", "eq", 3)) == {"Bob"}
    assert names(cond("attr.vip", "eq", True)) == {"Ann"}
    assert names(cond("attr.motto", "contains", "far")) == {"Ann"}
    assert names(cond("attr.motto", "is_set")) == {"Ann"}
    assert names(cond("attr.renewal", "after", "2026-01-01")) == {"Ann"}
    assert names(cond("attr.renewal", "before", "2026-01-01")) == set()


def test_consent_state(people) -> None:
    assert names(cond("consent.email.marketing", "eq", "granted")) == {"Ann"}
    assert names(cond("consent.email.marketing", "eq", "withdrawn")) == {"Bob"}
    assert names(cond("consent.email.marketing", "eq", "never")) == {"Cid"}
    assert names(cond("consent.email.marketing", "ne", "granted")) == {"Bob", "Cid"}
    # the latest entry of the ledger is the state
    consent_record(
        actor=MAINTENANCE,
        customer_id=people["bob"].pk,
        channel="email",
        purpose="marketing",
        granted=True,
        source="t",
    )
    assert names(cond("consent.email.marketing", "eq", "granted")) == {"Ann", "Bob"}


# --- behaviour -------------------------------------------------------------------------


def test_last_activity(people) -> None:
    old = timezone.now() - dt.timedelta(days=100)
    for who, when in (("ann", timezone.now()), ("bob", old)):
        activity_record(
            customer_id=people[who].pk, kind="note", subject="hi", actor=MAINTENANCE, occurred_at=when
        )
    # the consent records are timeline entries too: age them
    from customers.models import Activity

    Activity.objects.filter(kind="consent").update(occurred_at=old)
    Activity.objects.filter(customer=people["cid"]).update(occurred_at=old)
    assert names(cond("last_activity", "within_days", 30)) == {"Ann"}
    assert names(cond("last_activity", "older_than_days", 30)) == {"Bob", "Cid"}


def test_responded_to_campaign(people) -> None:
    campaign = Campaign.objects.create(name="Spring", status=CampaignStatus.RUNNING)
    CampaignMember.objects.create(campaign=campaign, customer=people["ann"], clicked_at=timezone.now())
    CampaignMember.objects.create(campaign=campaign, customer=people["bob"], opened_at=timezone.now())
    assert names(cond("responded_to_campaign", "eq", campaign.pk)) == {"Ann"}
    assert names(cond("responded_to_campaign", "ne", campaign.pk)) == {"Bob", "Cid"}
    with pytest.raises(ValidationError) as caught:
        compile_rules(cond("responded_to_campaign", "eq", campaign.pk + 1))
    assert "rules.value" in caught.value.message_dict


def an_order(rep: Any, customer: Customer, *, qty: int = 3, catalogue: bool = True) -> Any:
    """An accepted order of `customer` (`catalogue`: make the price list first; once a test)."""
    from sales.orders.services import quote_accept
    from sales.tests.order_setup import a_sent_quote

    quote = a_sent_quote(rep, catalogue=catalogue, lines=[{"sku": "SKU-1", "quantity": qty}])
    opp = quote.opportunity
    type(opp).objects.filter(pk=opp.pk).update(customer=customer)
    quote.refresh_from_db()
    order = quote_accept(actor=rep, quote_id=quote.pk, expected_version=quote.version)
    type(order).objects.filter(pk=order.pk).update(customer=customer)
    return order


def test_lifetime_order_value_and_ordered_product(people, sales_rep) -> None:
    order = an_order(sales_rep, people["ann"])
    total = order.total
    assert names(cond("lifetime_order_value", "gt", 0)) == {"Ann"}
    assert names(cond("lifetime_order_value", "gte", str(total))) == {"Ann"}
    assert names(cond("lifetime_order_value", "lt", float(total))) == {"Bob", "Cid"}
    assert names(cond("lifetime_order_value", "lte", 0)) == {"Bob", "Cid"}
    assert names(cond("lifetime_order_value", "eq", str(total))) == {"Ann"}
    assert names(cond("lifetime_order_value", "ne", 0)) == {"Ann"}
    assert names(cond("ordered_product", "within_days", {"sku": "SKU-1", "days": 30})) == {"Ann"}
    assert names(cond("ordered_product", "within_days", {"sku": "SKU-2", "days": 30})) == set()
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        assert names(cond("ordered_product", "within_days", {"sku": "SKU-1", "days": 30})) == set()
    assert total > Decimal("0")


# --- groups ----------------------------------------------------------------------------


def test_and_or_not_groups(people) -> None:
    vip = cond("tag", "has", "vip")
    former = cond("lifecycle_stage", "eq", "former")
    partner = cond("tag", "has", "partner")
    assert names({"all": [partner, {"not": vip}]}) == {"Bob"}
    assert names({"any": [vip, former]}) == {"Ann", "Cid"}
    assert names({"not": {"any": [vip, former]}}) == {"Bob"}
    assert names({"all": [{"any": [vip, former]}, {"not": cond("email", "is_not_set")}]}) == {"Ann"}
    assert names({}) == {"Ann", "Bob", "Cid"}


def test_merged_customers_are_left_out_unless_asked_for(people) -> None:
    Customer.objects.filter(pk=people["cid"].pk).update(merged_into=people["ann"])
    assert names({}) == {"Ann", "Bob"}
    assert segment_customers(rules={}, include_merged=True).count() == 3


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 1}, "rules.field"),
        ({"field": "attr.nope", "op": "eq", "value": 1}, "rules.field"),
        ({"all": [{"field": "lifecycle_stage", "op": "gt", "value": "customer"}]}, "rules.all.0.op"),
        (
            {"all": [{}, {"any": [{"field": "lifecycle_stage", "op": "eq", "value": "vip"}]}]},
            "rules.all.1.any.0.value",
        ),
        ({"field": "attr.seats", "op": "gt", "value": "many"}, "rules.value"),
        ({"field": "attr.vip", "op": "eq", "value": "yes"}, "rules.value"),
        ({"field": "last_activity", "op": "within_days", "value": -1}, "rules.value"),
        ({"field": "ordered_product", "op": "within_days", "value": {"sku": "X"}}, "rules.value"),
        (
            {"field": "ordered_product", "op": "within_days", "value": {"sku": "", "days": 3}},
            "rules.value.sku",
        ),
        ({"field": "tag", "op": "has_any", "value": "vip"}, "rules.value"),
        ({"field": "created_at", "op": "before", "value": "yesterday"}, "rules.value"),
        ({"field": "consent.email.marketing", "op": "eq", "value": "maybe"}, "rules.value"),
        ({"field": "email", "op": "is_set", "value": "x"}, "rules.value"),
        ({"all": []}, "rules.all"),
        ({"all": [], "any": []}, "rules"),
        ({"not": "x"}, "rules.not"),
        ({"field": "kind", "op": "eq", "value": "person", "extra": 1}, "rules"),
        ([1, 2], "rules"),
        ({"field": "lifetime_order_value", "op": "gt", "value": "NaN"}, "rules.value"),
    ],
)
def test_a_bad_rule_is_refused_at_its_path(people, rules, path) -> None:
    with pytest.raises(ValidationError) as caught:
        compile_rules(rules)
    assert path in caught.value.message_dict, caught.value.message_dict


def test_nesting_and_size_are_bounded() -> None:
    deep: dict[str, Any] = {"field": "kind", "op": "eq", "value": "person"}
    for _ in range(12):
        deep = {"not": deep}
    with pytest.raises(ValidationError):
        compile_rules(deep)
    with pytest.raises(ValidationError):
        compile_rules({"any": [cond("kind", "eq", "person")] * 101})


def test_every_field_is_in_the_catalogue_with_its_operators(people) -> None:
    fields = catalogue()
    assert {"attr.industry", "attr.seats", "tag", "lifetime_order_value", "consent.email.marketing"} <= set(
        fields
    )
    assert fields["attr.seats"].ops[:6] == ("eq", "ne", "gt", "gte", "lt", "lte")


# --- one query -------------------------------------------------------------------------


def test_a_segment_is_one_query_whatever_its_size(people, django_assert_max_num_queries) -> None:
    rules = {
        "all": [
            cond("tag", "has_any", ["vip", "partner"]),
            cond("consent.email.marketing", "ne", "never"),
            cond("lifetime_order_value", "gte", 0),
            cond("last_activity", "within_days", 365),
            cond("attr.seats", "gte", 1),
        ]
    }
    for i in range(30):
        a_person(f"P{i}", tags=["VIP"], attributes={"seats": i + 1})
    with django_assert_max_num_queries(2):  # the definitions, the count
        count = segment_customers(rules=rules).count()
    assert count == 32
    with django_assert_max_num_queries(3):
        preview = segment_preview(rules=rules)
    assert preview.count == 32
    assert len(preview.sample) == 10


# --- customer facts from other apps (frontoffice.plugin.CustomerFact) -------------------


@pytest.fixture
def vip_attribute_fact() -> Any:
    """A fact another app would contribute: customers whose "vip" attribute is true
    (a subquery of ids, as the hook asks)."""
    fact = CustomerFact(
        "vip_flag",
        "Flagged VIP",
        lambda: Customer.objects.filter(attributes__vip=True).values("pk"),
    )
    with plugin.installed("facts_test", AppHooks(customer_facts=[fact])):
        yield fact


def test_a_fact_rule_selects_whom_the_fact_holds_for(people, vip_attribute_fact) -> None:
    assert names(cond("fact.vip_flag", "eq", True)) == {"Ann"}
    assert names(cond("fact.vip_flag", "eq", False)) == {"Bob", "Cid"}
    assert names({"not": cond("fact.vip_flag", "eq", True)}) == {"Bob", "Cid"}
    assert "fact.vip_flag" in catalogue()


def test_a_fact_rule_compiles_into_the_one_query(people, vip_attribute_fact) -> None:
    rules = {"any": [cond("fact.vip_flag", "eq", True), cond("lifecycle_stage", "eq", "former")]}
    with CaptureQueriesContext(connection) as queries:
        selected = set(segment_customers(rules=rules).values_list("first_name", flat=True))
    assert selected == {"Ann", "Cid"}
    assert len(queries) == 2  # the custom attributes' definitions, then the one query
    assert "vip" in queries[1]["sql"]  # the fact's subquery is inside it


def test_an_unknown_fact_is_refused_at_its_rule(people, vip_attribute_fact) -> None:
    with pytest.raises(ValidationError) as caught:
        compile_rules({"all": [cond("kind", "eq", "person"), cond("fact.no_such_thing", "eq", True)]})
    messages = caught.value.message_dict
    assert list(messages) == ["rules.all.1.field"]
    assert "no_such_thing" in messages["rules.all.1.field"][0]
    assert "vip_flag" in messages["rules.all.1.field"][0]  # what there is instead
    with pytest.raises(ValidationError) as caught:
        compile_rules(cond("fact.vip_flag", "eq", "yes"))
    assert "rules.value" in caught.value.message_dict


def test_two_apps_cannot_claim_one_fact(vip_attribute_fact) -> None:
    with (
        pytest.raises(ValueError, match="customer fact"),
        plugin.installed("facts_again", AppHooks(customer_facts=[vip_attribute_fact])),
    ):
        pass


# --- every (type, operator) of the catalogue ---------------------------------------------
#
# Four customers: Ann (customer, VIP and Partner, every custom attribute, consent
# granted, an order, clicked in a campaign, active lately), Bob (prospect, Partner,
# attributes of his own, e-mail at shop.test, consent withdrawn, only opened), Cid
# (former, no e-mail, never asked, no attribute, created long ago) and Dot (an
# organisation, nothing else). Each case names exactly whom it selects: at least one of
# them and never all four, so an operator compiled as another (or as its negation, or
# dropping the customers without a value) fails here.

CAST = ("ann", "bob", "cid", "dot")


def _today_minus(days: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


OPERATOR_CASES: list[tuple[str, str, Any, str]] = [
    # choice
    ("kind", "eq", "organisation", "dot"),
    ("kind", "ne", "organisation", "ann bob cid"),
    ("kind", "in", ["person"], "ann bob cid"),
    ("kind", "not_in", ["person"], "dot"),
    ("lifecycle_stage", "eq", "customer", "ann"),
    ("lifecycle_stage", "ne", "customer", "bob cid dot"),
    ("lifecycle_stage", "in", ["customer", "former"], "ann cid"),
    ("lifecycle_stage", "not_in", ["customer", "former"], "bob dot"),
    # text
    ("last_name", "eq", "able", "ann"),
    ("last_name", "ne", "Able", "bob cid dot"),
    ("display_name", "contains", "ake", "bob"),
    ("display_name", "starts_with", "ci", "cid"),
    ("first_name", "starts_with", "B", "bob"),
    ("organisation_name", "is_set", None, "dot"),
    ("organisation_name", "is_not_set", None, "ann bob cid"),
    ("first_name", "is_set", None, "ann bob cid"),
    ("first_name", "is_not_set", None, "dot"),
    # e-mail (text, with ends_with)
    ("email", "eq", "BOB@shop.test", "bob"),
    ("email", "ne", "bob@shop.test", "ann cid dot"),
    ("email", "contains", "ANN", "ann"),
    ("email", "ends_with", "@shop.test", "bob"),
    ("email", "is_set", None, "ann bob"),
    ("email", "is_not_set", None, "cid dot"),
    # date
    ("created_at", "within_days", 30, "ann bob dot"),
    ("created_at", "older_than_days", 30, "cid"),
    ("created_at", "before", lambda ctx: _today_minus(10), "cid"),
    ("created_at", "after", lambda ctx: _today_minus(10), "ann bob dot"),
    # id
    ("owner", "eq", lambda ctx: ctx["owner"], "ann"),
    ("owner", "ne", lambda ctx: ctx["owner"], "bob cid dot"),
    ("owner", "is_set", None, "ann"),
    ("owner", "is_not_set", None, "bob cid dot"),
    # tag
    ("tag", "has", "vip", "ann"),
    ("tag", "has_not", "VIP", "bob cid dot"),
    ("tag", "has_any", ["vip", "partner"], "ann bob"),
    ("tag", "has_all", ["vip", "partner"], "ann"),
    # behaviour
    ("ordered_product", "within_days", {"sku": "SKU-1", "days": 30}, "ann"),
    ("lifetime_order_value", "eq", lambda ctx: str(ctx["total"]), "ann"),
    ("lifetime_order_value", "ne", 0, "ann"),
    ("lifetime_order_value", "gt", 0, "ann"),
    ("lifetime_order_value", "gte", lambda ctx: str(ctx["total"]), "ann"),
    ("lifetime_order_value", "lt", lambda ctx: float(ctx["total"]), "bob cid dot"),
    ("lifetime_order_value", "lte", 0, "bob cid dot"),
    ("responded_to_campaign", "eq", lambda ctx: ctx["campaign"], "ann"),
    ("responded_to_campaign", "ne", lambda ctx: ctx["campaign"], "bob cid dot"),
    ("last_activity", "within_days", 30, "ann"),
    ("last_activity", "older_than_days", 30, "bob cid dot"),
    # consent: granted, withdrawn, never asked
    ("consent.email.marketing", "eq", "granted", "ann"),
    ("consent.email.marketing", "eq", "withdrawn", "bob"),
    ("consent.email.marketing", "eq", "never", "cid dot"),
    ("consent.email.marketing", "ne", "granted", "bob cid dot"),
    ("consent.email.marketing", "ne", "withdrawn", "ann cid dot"),
    ("consent.email.marketing", "ne", "never", "ann bob"),
    # custom attributes: "ne" and "not in" hold for those without the attribute too
    ("attr.industry", "eq", "retail", "ann"),
    ("attr.industry", "ne", "retail", "bob cid dot"),
    ("attr.industry", "in", ["retail", "energy"], "ann bob"),
    ("attr.industry", "not_in", ["retail"], "bob cid dot"),
    ("attr.industry", "is_set", None, "ann bob"),
    ("attr.industry", "is_not_set", None, "cid dot"),
    ("attr.seats", "eq", 3, "bob"),
    ("attr.seats", "ne", 3, "ann cid dot"),
    ("attr.seats", "gt", 3, "ann"),
    ("attr.seats", "gte", 3, "ann bob"),
    ("attr.seats", "lt", 10, "bob"),
    ("attr.seats", "lte", 10, "ann bob"),
    ("attr.seats", "is_set", None, "ann bob"),
    ("attr.seats", "is_not_set", None, "cid dot"),
    ("attr.vip", "eq", True, "ann"),
    ("attr.vip", "eq", False, "bob"),
    ("attr.motto", "eq", "GO FAR", "ann"),
    ("attr.motto", "ne", "go far", "bob cid dot"),
    ("attr.motto", "contains", "put", "bob"),
    ("attr.motto", "starts_with", "go", "ann"),
    ("attr.motto", "is_set", None, "ann bob"),
    ("attr.motto", "is_not_set", None, "cid dot"),
    ("attr.renewal", "before", "2026-01-01", "bob"),
    ("attr.renewal", "after", "2026-01-01", "ann"),
    ("attr.renewal", "is_set", None, "ann bob"),
    ("attr.renewal", "is_not_set", None, "cid dot"),
]
NEEDS_ORDER = ("ordered_product", "lifetime_order_value")


def _definitions() -> None:
    for key, label, kind, choices in (
        ("industry", "Industry", "choice", ["retail", "energy"]),
        ("seats", "Seats", "number", []),
        ("vip", "VIP", "boolean", []),
        ("motto", "Motto", "text", []),
        ("renewal", "Renewal", "date", []),
    ):
        CustomFieldDefinition.objects.create(key=key, label=label, field_type=kind, choices=choices)


@pytest.fixture
def cast(marketer) -> dict[str, Any]:
    from customers import services as customer_services
    from customers.models import Activity

    _definitions()
    ann = a_person(
        "Ann",
        "Able",
        lifecycle_stage="customer",
        tags=["VIP", "Partner"],
        owner=marketer,
        attributes={
            "industry": "retail",
            "seats": 10,
            "vip": True,
            "motto": "Go far",
            "renewal": "2026-03-01",
        },
    )
    bob = a_person(
        "Bob",
        "Baker",
        email="bob@shop.test",
        consent=False,
        tags=["Partner"],
        owner=None,
        attributes={
            "industry": "energy",
            "seats": 3,
            "vip": False,
            "motto": "Stay put",
            "renewal": "2025-06-01",
        },
    )
    cid = a_person("Cid", "Cole", email=None, consent=None, lifecycle_stage="former", owner=None)
    dot = customer_services.customer_create(
        actor=MAINTENANCE, kind="organisation", organisation_name="Dot Ltd", owner=None
    )
    Customer.objects.filter(pk=cid.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    campaign = Campaign.objects.create(name="Spring", status=CampaignStatus.RUNNING)
    CampaignMember.objects.create(campaign=campaign, customer=ann, clicked_at=timezone.now())
    CampaignMember.objects.create(campaign=campaign, customer=bob, opened_at=timezone.now())
    activity_record(
        customer_id=ann.pk, kind="note", subject="hi", actor=MAINTENANCE, occurred_at=timezone.now()
    )
    Activity.objects.exclude(customer=ann, kind="note").update(
        occurred_at=timezone.now() - dt.timedelta(days=100)
    )
    return {
        "customers": {"ann": ann, "bob": bob, "cid": cid, "dot": dot},
        "owner": marketer.pk,
        "campaign": campaign.pk,
    }


def selected(rules: Any, customers: dict[str, Customer]) -> set[str]:
    ids = set(segment_customers(rules=rules).values_list("pk", flat=True))
    return {name for name, customer in customers.items() if customer.pk in ids}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    OPERATOR_CASES,
    ids=[f"{f}-{o}-{'x' if callable(v) else v}" for f, o, v, _ in OPERATOR_CASES],
)
def test_every_operator_selects_exactly_whom_it_says(cast, sales_rep, field, op, value, expected) -> None:
    context = dict(cast)
    if field in NEEDS_ORDER:
        context["total"] = an_order(sales_rep, cast["customers"]["ann"]).total
    value = value(context) if callable(value) else value
    wanted = set(expected.split())
    assert wanted  # one who matches
    assert wanted != set(CAST)  # and one who does not
    assert selected(cond(field, op, value), cast["customers"]) == wanted
    # and its negation selects the others: the two never overlap nor leave anyone out
    assert selected({"not": cond(field, op, value)}, cast["customers"]) == set(CAST) - wanted


def test_the_operator_cases_cover_every_type_and_operator_of_the_catalogue() -> None:
    _definitions()
    fields = catalogue()
    offered = {(spec.type, op) for spec in fields.values() for op in spec.ops}
    covered = {(fields[field].type, op) for field, op, _, _ in OPERATOR_CASES}
    assert offered - covered == set()
    # and every field and operator of the profile and of each custom attribute type
    named = {(field, op) for field, op, _, _ in OPERATOR_CASES}
    for field in ("kind", "lifecycle_stage", "email", "owner", "tag", "lifetime_order_value", "created_at"):
        assert {(field, op) for op in fields[field].ops} <= named, field
    for field in ("attr.industry", "attr.seats", "attr.vip", "attr.motto", "attr.renewal"):
        assert {(field, op) for op in fields[field].ops} <= named, field
