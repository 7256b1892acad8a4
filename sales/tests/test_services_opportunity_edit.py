"""`opportunity_edit`, the edit page's save: fields, lines and a stage move in one
transaction and one version; every problem reported at once; the ownership rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from customers.models import Activity
from frontoffice.errors import StaleVersion
from sales.models import OpportunityStatus
from sales.pipeline import services as opportunity_services
from sales.pipeline import services_pipelines as pipelines
from sales.tests import factories as f

pytestmark = pytest.mark.django_db


def test_it_changes_fields_lines_and_stage_under_one_version(sales_rep):
    # given
    f.product("W-1", "10.00")
    opp = f.opportunity(sales_rep, name="Widgets")
    # when
    edited = opportunity_services.opportunity_edit(
        actor=sales_rep,
        opportunity_id=opp.pk,
        expected_version=1,
        name="More widgets",
        stage=f.stage("Negotiation").pk,
        lines=[{"sku": "W-1", "quantity": Decimal("4")}],
    )
    # then
    opp.refresh_from_db()
    assert edited.version == opp.version == 2
    assert (opp.name, opp.stage.name, opp.amount) == ("More widgets", "Negotiation", Decimal("40.00"))
    moves = Activity.objects.filter(kind="opportunity_stage", ref_id=str(opp.pk))
    assert [a.subject for a in moves] == ["More widgets: Prospecting → Negotiation"]


def test_it_reports_every_problem_at_once_and_writes_nothing(sales_rep, admin_user):
    # given
    other = pipelines.pipeline_create(
        actor=admin_user, name="Renewals", stages=[{"name": "Due", "probability": 40}]
    )
    opp = f.opportunity(sales_rep, name="Widgets")
    # when
    with pytest.raises(ValidationError) as error:
        opportunity_services.opportunity_edit(
            actor=sales_rep,
            opportunity_id=opp.pk,
            expected_version=1,
            name="",
            stage=other.stages.get().pk,
            lines=[{"sku": "NOPE", "quantity": 1}],
        )
    # then
    assert error.value.message_dict == {
        "stage": ["This stage belongs to another pipeline."],
        "name": ["An opportunity needs a name."],
        "lines.0.sku": ["No product with this SKU in the catalogue."],
    }
    opp.refresh_from_db()
    assert (opp.name, opp.version, opp.stage.name) == ("Widgets", 1, "Prospecting")


def test_a_lost_stage_needs_the_lose_action_with_a_reason(sales_rep):
    opp = f.opportunity(sales_rep)
    with pytest.raises(ValidationError) as error:
        opportunity_services.opportunity_edit(
            actor=sales_rep, opportunity_id=opp.pk, expected_version=1, stage=f.stage("Lost").pk
        )
    assert list(error.value.message_dict) == ["stage"]
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.OPEN


def test_a_stale_version_is_refused(sales_rep):
    opp = f.opportunity(sales_rep)
    opportunity_services.opportunity_update(
        actor=sales_rep, opportunity_id=opp.pk, expected_version=1, next_step="x"
    )
    with pytest.raises(StaleVersion):
        opportunity_services.opportunity_edit(
            actor=sales_rep, opportunity_id=opp.pk, expected_version=1, name="Late"
        )
    opp.refresh_from_db()
    assert opp.name == "Big deal"


def test_another_team_needs_the_change_any_permission(sales_rep, other_rep):
    opp = f.opportunity(sales_rep)
    with pytest.raises(PermissionDenied):
        opportunity_services.opportunity_edit(
            actor=other_rep, opportunity_id=opp.pk, expected_version=1, name="Mine"
        )
    other_rep.user_permissions.add(
        Permission.objects.get(codename="change_any_opportunity", content_type__app_label="sales")
    )
    other_rep = type(other_rep).objects.get(pk=other_rep.pk)  # a fresh permission cache
    opportunity_services.opportunity_edit(
        actor=other_rep, opportunity_id=opp.pk, expected_version=1, name="Managed"
    )
    opp.refresh_from_db()
    assert opp.name == "Managed"
