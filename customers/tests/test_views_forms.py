"""The customer pages' forms: logging, contact points and consent on the 360 page,
creating and editing a customer, each with the service's errors next to the field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from customers import selectors, services
from customers.choices import FieldType
from customers.models import Activity, ConsentEvent, Customer, CustomFieldDefinition
from customers.tests.pages import client_for, html_of

pytestmark = pytest.mark.django_db


def test_logging_a_call_adds_it_to_the_timeline(agent: Any, ada: Customer) -> None:
    # when
    response = client_for(agent).post(
        reverse("customers:activity-create", args=[ada.pk]),
        {"activity-kind": "call", "activity-subject": "Rang about renewal", "activity-body": "Call back"},
    )

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("customers:detail", args=[ada.pk]))
    activity = Activity.objects.get(customer=ada, kind="call")
    assert (activity.subject, activity.actor) == ("Rang about renewal", agent)


def test_a_note_without_subject_is_shown_with_its_error_and_nothing_is_logged(
    agent: Any, ada: Customer
) -> None:
    # given
    before = Activity.objects.count()

    # when
    response = client_for(agent).post(
        reverse("customers:activity-create", args=[ada.pk]), {"activity-kind": "note", "activity-subject": ""}
    )

    # then
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="activity-errors"' in html
    assert re.search(
        r'id="id_activity-subject"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_activity-subject"',
        html,
    )
    assert Activity.objects.count() == before


def test_adding_an_invalid_email_shows_the_service_error_next_to_the_field(
    sales_rep: Any, ada: Customer
) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:contact-point-create", args=[ada.pk]),
        {"contact-kind": "email", "contact-label": "home", "contact-value": "not-an-email"},
    )

    # then
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="id_contact-value_error"' in html
    assert ada.contact_points.count() == 2


def test_adding_a_phone_normalises_it(sales_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:contact-point-create", args=[ada.pk]),
        {"contact-kind": "phone", "contact-label": "mobile", "contact-value": "07911 123456"},
    )

    # then
    assert response.status_code == 302
    assert ada.contact_points.filter(kind="phone", value="+447911123456").exists()


def test_another_team_cannot_add_contact_points(other_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(other_rep).post(
        reverse("customers:contact-point-create", args=[ada.pk]),
        {"contact-kind": "phone", "contact-label": "mobile", "contact-value": "07911 123456"},
    )

    # then
    assert response.status_code == 403
    assert ada.contact_points.count() == 2


def test_recording_a_withdrawal_changes_the_current_consent(marketer: Any, ada: Customer) -> None:
    # when
    response = client_for(marketer).post(
        reverse("customers:consent-create", args=[ada.pk]),
        {
            "consent-channel": "email",
            "consent-purpose": "newsletter",
            "consent-granted": "no",
            "consent-source": "Phone call",
        },
    )

    # then
    assert response.status_code == 302
    (current,) = selectors.consent_state(customer=ada)
    assert (current.granted, current.source, current.actor) == (False, "Phone call", marketer)
    assert ConsentEvent.objects.filter(customer=ada).count() == 2


def test_back_office_reads_but_cannot_log_or_record(back_office: Any, ada: Customer) -> None:
    # given
    client = client_for(back_office)

    # when
    page = html_of(client.get(reverse("customers:detail", args=[ada.pk])))
    post = client.post(
        reverse("customers:activity-create", args=[ada.pk]),
        {"activity-kind": "note", "activity-subject": "Hi"},
    )

    # then
    assert "Log a note or call" not in page
    assert "Record consent" not in page
    assert post.status_code == 403


# --- create --------------------------------------------------------------------------------


def test_create_with_errors_shows_them_inline_and_in_a_summary_then_a_valid_post_creates(
    sales_rep: Any,
) -> None:
    # given
    client = client_for(sales_rep)
    form = {
        "kind": "person",
        "first_name": "",
        "last_name": "",
        "email": "bad@",
        "lifecycle_stage": "prospect",
        "owner": sales_rep.pk,  # preselected by the form
    }

    # when
    failed = client.post(reverse("customers:create"), form)

    # then
    html = html_of(failed)
    assert failed.status_code == 400
    assert 'id="error-summary"' in html
    assert '<a href="#id_last_name">Last name: A person needs a first or last name.</a>' in html
    assert re.search(
        r'<input[^>]*aria-invalid="true"[^>]*id="id_last_name"|<input[^>]*id="id_last_name"[^>]*aria-invalid="true"',
        html,
    )
    assert 'aria-describedby="id_last_name_error"' in html
    assert 'id="id_email_error"' in html  # the e-mail is reported in the same round trip
    assert not Customer.objects.exists()

    # when
    form.update(last_name="Hopper", first_name="Grace", email="Grace@Example.COM", phone="020 7946 0001")
    created = client.post(reverse("customers:create"), form)

    # then
    customer = Customer.objects.get()
    assert created.status_code == 302
    assert created["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.display_name == "Grace Hopper"
    assert customer.owner == sales_rep
    assert set(customer.contact_points.values_list("value", flat=True)) == {
        "grace@example.com",
        "+442079460001",
    }


def test_a_primary_email_held_by_another_customer_is_reported_on_the_email_field(
    sales_rep: Any, ada: Customer
) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:create"),
        {"kind": "person", "last_name": "Copy", "email": "ADA@example.com", "lifecycle_stage": "prospect"},
    )

    # then
    html = html_of(response)
    assert response.status_code == 400
    assert re.search(rf'id="id_email_error"><li>Customer {ada.pk} already has this primary e-mail', html)
    assert Customer.objects.count() == 1


def test_custom_attributes_get_fields_and_their_errors(sales_rep: Any) -> None:
    # given
    CustomFieldDefinition.objects.create(
        key="employees",
        label="Employees",
        field_type=FieldType.NUMBER,
        required=True,
        applies_to="organisation",
    )
    CustomFieldDefinition.objects.create(
        key="industry", label="Industry", field_type=FieldType.CHOICE, choices=["Retail", "Energy"]
    )
    client = client_for(sales_rep)
    form = {"kind": "organisation", "organisation_name": "Acme", "lifecycle_stage": "prospect"}

    # when
    failed = client.post(reverse("customers:create"), {**form, "attr_industry": "Retail"})

    # then
    html = html_of(failed)
    assert failed.status_code == 400
    assert 'for="id_attr_employees"' in html
    assert re.search(r'id="id_attr_employees_error"><li>This custom attribute is required', html)
    assert not Customer.objects.exists()

    # when
    created = client.post(
        reverse("customers:create"), {**form, "attr_industry": "Retail", "attr_employees": "40"}
    )

    # then
    assert created.status_code == 302
    assert Customer.objects.get().attributes == {"employees": 40, "industry": "Retail"}


def test_roles_without_add_permission_cannot_create(back_office: Any) -> None:
    # when
    response = client_for(back_office).post(
        reverse("customers:create"), {"kind": "person", "last_name": "X", "lifecycle_stage": "prospect"}
    )

    # then
    assert response.status_code == 403
    assert not Customer.objects.exists()


# --- edit ---------------------------------------------------------------------------------------


def edit_form(customer: Customer, **changes: Any) -> dict[str, Any]:
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "lifecycle_stage": customer.lifecycle_stage,
        "owner": customer.owner_id or "",
        "tags": "VIP",
        "version": customer.version,
        **changes,
    }


def test_the_edit_form_carries_the_version_and_saves_a_change(sales_rep: Any, ada: Customer) -> None:
    # given
    client = client_for(sales_rep)
    page = html_of(client.get(reverse("customers:edit", args=[ada.pk])))

    # when
    response = client.post(
        reverse("customers:edit", args=[ada.pk]), edit_form(ada, last_name="King", tags="VIP, Maths")
    )

    # then
    assert f'name="version" value="{ada.version}"' in page
    assert 'for="id_first_name"' in page
    assert 'id="id_organisation_name"' not in page
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.display_name, ada.version) == ("Ada King", 2)
    assert sorted(ada.tags.values_list("name", flat=True)) == ["Maths", "VIP"]


def test_editing_a_stale_version_says_someone_else_changed_it_and_writes_nothing(
    sales_rep: Any, teammate: Any, ada: Customer
) -> None:
    # given
    stale = edit_form(ada, last_name="Mine")
    services.customer_update(actor=teammate, customer_id=ada.pk, expected_version=1, last_name="Theirs")

    # when
    response = client_for(sales_rep).post(reverse("customers:edit", args=[ada.pk]), stale)

    # then
    html = html_of(response)
    assert response.status_code == 412
    assert "Someone else changed this while you were looking" in html
    assert "Reload the latest version" in html
    ada.refresh_from_db()
    assert (ada.last_name, ada.version) == ("Theirs", 2)


def test_an_invalid_edit_shows_the_error_and_writes_nothing(sales_rep: Any, ada: Customer) -> None:
    # when
    response = client_for(sales_rep).post(
        reverse("customers:edit", args=[ada.pk]), edit_form(ada, first_name="", last_name="")
    )

    # then
    assert response.status_code == 400
    assert "A person needs a first or last name." in html_of(response)
    ada.refresh_from_db()
    assert (ada.display_name, ada.version) == ("Ada Lovelace", 1)


def test_a_sales_rep_cannot_edit_another_teams_customer(sales_rep: Any, theirs: Customer) -> None:
    # when
    page = client_for(sales_rep).get(reverse("customers:edit", args=[theirs.pk]))
    post = client_for(sales_rep).post(
        reverse("customers:edit", args=[theirs.pk]),
        {"organisation_name": "Mine now", "lifecycle_stage": "prospect", "version": 1},
    )

    # then
    assert page.status_code == 403
    assert post.status_code == 403
    theirs.refresh_from_db()
    assert theirs.display_name == "Theirs Ltd"
