"""Customer facts across apps (frontoffice.plugin.CustomerFact): the service desk
contributes "has an open complaint" through its hooks, and marketing's segments offer
it as `fact.open_complaint` without importing `service`, inside their one SQL query."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import services as customer_services
from customers.models import Customer
from frontoffice import plugin
from frontoffice.actors import MAINTENANCE
from marketing.segments.rules import compile_rules
from marketing.segments.selectors import segment_customers, segment_fields
from service import services as service_services
from service.choices import CaseStatus

pytestmark = pytest.mark.django_db


def person(first: str) -> Customer:
    return customer_services.customer_create(
        actor=MAINTENANCE, kind="person", first_name=first, last_name="Test"
    )


def case(customer: Customer, kind: str) -> Any:
    return service_services.case_open(
        actor=MAINTENANCE, customer_id=customer.pk, kind=kind, channel="email", subject="About my order"
    )


@pytest.fixture
def people() -> dict[str, Customer]:
    ann, bob, cid, dee = person("Ann"), person("Bob"), person("Cid"), person("Dee")
    case(ann, "complaint")  # open complaint
    resolved = case(bob, "complaint")
    service_services.case_transition(
        actor=MAINTENANCE, case_id=resolved.pk, status=CaseStatus.RESOLVED, resolution="Refunded."
    )
    case(cid, "enquiry")  # open, but not a complaint
    return {"ann": ann, "bob": bob, "cid": cid, "dee": dee}


def names(rules: Any) -> set[str]:
    return set(segment_customers(rules=rules).values_list("first_name", flat=True))


def test_the_service_desk_contributes_the_open_complaint_fact() -> None:
    fact = plugin.customer_facts()["open_complaint"]
    assert fact.label == "Has an open complaint"
    assert any(f["field"] == "fact.open_complaint" for f in segment_fields())


def test_has_an_open_complaint_selects_open_complaints_only(people) -> None:
    rule = {"field": "fact.open_complaint", "op": "eq", "value": True}
    assert names(rule) == {"Ann"}
    assert names({**rule, "value": False}) == {"Bob", "Cid", "Dee"}


def test_the_complaint_rule_is_inside_the_segments_one_query(people) -> None:
    rules = {
        "any": [
            {"field": "fact.open_complaint", "op": "eq", "value": True},
            {"field": "first_name", "op": "eq", "value": "Dee"},
        ]
    }
    with CaptureQueriesContext(connection) as queries:
        selected = names(rules)
    assert selected == {"Ann", "Dee"}
    reading_cases = [q["sql"] for q in queries if "service_case" in q["sql"]]
    assert len(reading_cases) == 1
    assert "customers_customer" in reading_cases[0]
    assert len(queries) == 2  # the custom attributes' definitions, then the segment


def test_an_unknown_fact_is_refused_pointing_at_the_rule() -> None:
    with pytest.raises(ValidationError) as caught:
        compile_rules({"not": {"field": "fact.open_complain", "op": "eq", "value": True}})
    message = caught.value.message_dict["rules.not.field"][0]
    assert "open_complain" in message
    assert "open_complaint" in message
