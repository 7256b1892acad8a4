"""ServiceForm.submit: a service's refusal lands next to the field a person can fix."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from frontoffice.errors import Conflict, DomainError, StaleVersion
from frontoffice.forms import STALE_MESSAGE, ServiceForm


class ContactForm(ServiceForm):
    name = forms.CharField()
    email = forms.CharField(required=False)
    attr_industry = forms.CharField(required=False, label="Industry")
    error_aliases = {"display_name": "name"}


def valid_form() -> ContactForm:
    form = ContactForm(data={"name": "Ada", "email": "ada@example.com", "attr_industry": "Looms"})
    assert form.is_valid()
    return form


def refusing(error: Exception) -> Any:
    def call() -> Any:
        raise error

    return call


def test_submit_returns_what_the_service_returns_and_leaves_the_form_clean() -> None:
    # given
    form = valid_form()

    # when
    result = form.submit(lambda: "saved")

    # then
    assert result == "saved"
    assert form.errors == {}
    assert not form.stale


def test_a_stale_version_marks_the_form_stale_with_the_reload_message() -> None:
    # given
    form = valid_form()

    # when
    result = form.submit(refusing(StaleVersion(current=4)))

    # then
    assert result is None
    assert form.stale
    assert form.non_field_errors() == [STALE_MESSAGE]


def test_validation_errors_land_on_their_fields_attributes_and_aliases() -> None:
    # given
    form = valid_form()
    error = ValidationError(
        {
            "email": ["Enter a valid e-mail address."],
            "attributes.industry": ["Unknown industry."],
            "display_name": ["A name is needed."],
            "__all__": ["This customer exists."],
            "contact_points.0.value": ["Not a phone number."],
        }
    )

    # when
    result = form.submit(refusing(error))

    # then
    assert result is None
    assert form.errors["email"] == ["Enter a valid e-mail address."]
    assert form.errors["attr_industry"] == ["Unknown industry."]
    assert form.errors["name"] == ["A name is needed."]
    # a key no field matches keeps its name, so the message still says what it is about
    assert form.non_field_errors() == ["This customer exists.", "contact_points.0.value: Not a phone number."]
    assert not form.stale


def test_a_validation_error_without_fields_lands_above_the_form() -> None:
    # given
    form = valid_form()

    # when
    form.submit(refusing(ValidationError("The quote has expired.")))

    # then
    assert form.non_field_errors() == ["The quote has expired."]


def test_a_business_rule_shows_its_message_and_its_field_errors() -> None:
    # given
    form = valid_form()

    # when
    result = form.submit(
        refusing(DomainError("Over the credit limit.", errors={"email": ["Billing needs one."]}))
    )

    # then
    assert result is None
    assert form.non_field_errors() == ["Over the credit limit."]
    assert form.errors["email"] == ["Billing needs one."]
    assert not form.stale


def test_a_conflict_is_a_business_refusal_not_a_stale_version() -> None:
    # given
    form = valid_form()

    # when
    form.submit(refusing(Conflict("The order has shipped.")))

    # then
    assert form.non_field_errors() == ["The order has shipped."]
    assert not form.stale


def test_what_is_not_a_refusal_of_the_input_is_not_swallowed() -> None:
    # given
    form = valid_form()

    # when / then: 403 is the view's answer, not a form error
    with pytest.raises(PermissionDenied):
        form.submit(refusing(PermissionDenied("Not yours.")))


def test_the_error_summary_links_each_message_to_its_field() -> None:
    # given
    form = valid_form()
    form.submit(refusing(DomainError("Over the credit limit.", errors={"attributes.industry": ["Unknown."]})))

    # when
    summary = form.error_summary

    # then
    assert summary == [
        {"id": "", "label": "", "message": "Over the credit limit."},
        {"id": "id_attr_industry", "label": "Industry", "message": "Unknown."},
    ]
