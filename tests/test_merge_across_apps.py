"""Merging customers across the apps: every app's rows that point at the duplicate move to
the survivor, and those with a version get a new one (a client holding the old ETag of
an opportunity re-reads it before changing it: its customer changed)."""

from __future__ import annotations

from typing import Any

import pytest

from customers.merge import customer_merge
from sales.models import Lead, Opportunity
from sales.tests.factories import customer, lead, opportunity

pytestmark = pytest.mark.django_db


def test_a_merge_moves_other_apps_rows_and_bumps_their_versions(sales_manager: Any, admin_user: Any) -> None:
    # given: an opportunity and a converted lead of the duplicate
    survivor = customer(sales_manager, "Acme Widgets")
    duplicate = customer(sales_manager, "Acme Widgets Ltd")
    deal = opportunity(sales_manager, for_customer=duplicate)
    converted = lead(sales_manager)
    Lead.objects.filter(pk=converted.pk).update(customer=duplicate)
    before = {
        "deal": Opportunity.objects.get(pk=deal.pk).version,
        "lead": Lead.objects.get(pk=converted.pk).version,
    }

    # when
    customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=duplicate.pk)

    # then
    deal.refresh_from_db()
    converted.refresh_from_db()
    assert (deal.customer_id, deal.version) == (survivor.pk, before["deal"] + 1)
    assert (converted.customer_id, converted.version) == (survivor.pk, before["lead"] + 1)
