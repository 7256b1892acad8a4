"""Deleting a customer whose quotes must be kept is refused with a 409, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

from customers import services as customer_services
from customers.models import Customer
from frontoffice.errors import Conflict
from sales.models import Opportunity, Quote
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity

pytestmark = pytest.mark.django_db


def test_a_customer_with_a_quote_cannot_be_deleted_and_nothing_goes(sales_rep: Any, admin_user: Any) -> None:
    # given
    a_catalogue()
    opportunity = an_opportunity(sales_rep)
    a_quote(sales_rep, opportunity)
    # when
    with pytest.raises(Conflict, match="cannot be deleted"):
        customer_services.customer_delete(actor=admin_user, customer_id=opportunity.customer_id)
    # then
    assert Customer.objects.filter(pk=opportunity.customer_id).exists()
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert Quote.objects.filter(opportunity=opportunity).exists()


def test_the_api_answers_409(sales_rep: Any, admin_user: Any, api_as) -> None:
    # given
    a_catalogue()
    opportunity = an_opportunity(sales_rep)
    a_quote(sales_rep, opportunity)
    # when
    response = api_as(admin_user).delete(f"/api/v1/customers/{opportunity.customer_id}/")
    # then
    assert response.status_code == 409
    assert Customer.objects.filter(pk=opportunity.customer_id).exists()
