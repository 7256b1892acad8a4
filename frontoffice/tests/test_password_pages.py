"""Staff change their password, and reset a forgotten one by e-mail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_header_links_to_change_password_and_the_login_page_to_reset_it(
    client: Client, sales_rep: Any
) -> None:
    # given
    login_page = client.get(reverse("login")).content.decode()
    client.force_login(sales_rep)

    # when
    dashboard = client.get(reverse("dashboard")).content.decode()

    # then
    assert f'href="{reverse("password_reset")}"' in login_page
    assert f'href="{reverse("password_change")}"' in dashboard
    assert f'href="{reverse("api_tokens")}"' in dashboard


def test_a_logged_in_user_changes_their_password(client: Client, sales_rep: Any) -> None:
    # given
    client.force_login(sales_rep)
    assert client.get(reverse("password_change")).status_code == 200

    # when
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-rep", "new_password1": "Quiet-harbour-42", "new_password2": "Quiet-harbour-42"},
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    sales_rep.refresh_from_db()
    assert sales_rep.check_password("Quiet-harbour-42")


def test_a_wrong_old_password_changes_nothing_and_says_why(client: Client, sales_rep: Any) -> None:
    # given
    client.force_login(sales_rep)

    # when
    response = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "Quiet-harbour-42", "new_password2": "Quiet-harbour-42"},
    )

    # then
    assert response.status_code == 200
    assert "Your password was not changed" in response.content.decode()
    sales_rep.refresh_from_db()
    assert sales_rep.check_password("pw-rep")


def test_changing_a_password_needs_a_login(client: Client) -> None:
    # when
    response = client.get(reverse("password_change"))

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_forgotten_password_is_reset_through_an_e_mailed_link(client: Client, sales_rep: Any) -> None:
    # given
    sales_rep.email = "rita@example.com"
    sales_rep.save()

    # when: ask for the link, follow it, choose a password
    asked = client.post(reverse("password_reset"), {"email": "rita@example.com"})
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Quiet-harbour-42", "new_password2": "Quiet-harbour-42"},
    )
    logged_in = Client().post(reverse("login"), {"username": "rep", "password": "Quiet-harbour-42"})

    # then
    assert asked.status_code == 302
    assert asked["Location"] == reverse("password_reset_done")
    assert mail.outbox[0].to == ["rita@example.com"]
    assert mail.outbox[0].subject == "Reset your Frontoffice password"
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    assert logged_in.status_code == 302


def test_a_reset_link_works_once(client: Client, sales_rep: Any) -> None:
    # given
    sales_rep.email = "rita@example.com"
    sales_rep.save()
    client.post(reverse("password_reset"), {"email": "rita@example.com"})
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": "Quiet-harbour-42", "new_password2": "Quiet-harbour-42"})

    # when
    again = Client().get(link, follow=True)

    # then
    assert "This link has expired or was already used" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client: Client, sales_rep: Any) -> None:
    # when
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    # then: nothing tells an outsider which addresses have accounts
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
