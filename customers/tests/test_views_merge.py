"""Merging duplicates from the pages: candidates, preview, confirmation, refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from customers import services
from customers.models import Customer
from customers.tests.pages import client_for, html_of
from customers.timeline import activity_log

pytestmark = pytest.mark.django_db


def test_the_merge_flow_from_candidates_to_preview_to_confirmation(
    supervisor: Any, sales_rep: Any, ada: Customer
) -> None:
    # given
    twin = services.customer_create(
        actor=sales_rep,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        tags=["Maths"],
        contact_points=[
            {"kind": "phone", "value": "020 7946 0000"},
            {"kind": "email", "value": "ada@home.org"},
        ],
    )
    activity_log(actor=sales_rep, customer_id=twin.pk, kind="note", subject="On the twin")
    client = client_for(supervisor)

    # when: the candidates list offers the pair
    candidates = html_of(client.get(reverse("customers:duplicates")))
    merge_url = f"{reverse('customers:merge', args=[ada.pk])}?duplicate={twin.pk}"

    # then
    assert merge_url in candidates
    assert "Review merge" in candidates

    # when: the preview says what moves
    preview = html_of(client.get(merge_url))

    # then
    assert "ada@home.org" in preview  # moved
    assert re.search(r"Contact points dropped.*\+442079460000", preview, re.S)  # already kept
    assert "Maths" in preview  # tag added
    assert 'id="merge-confirm"' in preview
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None  # nothing changed yet

    # when: confirmed, with the version the preview showed
    done = client.post(reverse("customers:merge", args=[ada.pk]), confirmation(preview))

    # then
    assert done.status_code == 302
    assert done["Location"] == reverse("customers:detail", args=[ada.pk])
    survivor_page = html_of(client.get(done["Location"]))
    assert "Merged customer" in survivor_page
    assert "On the twin" in survivor_page
    assert client.get(reverse("customers:detail", args=[twin.pk]))["Location"] == done["Location"]


def test_merging_a_customer_into_itself_or_across_kinds_is_refused(
    supervisor: Any, ada: Customer, theirs: Customer
) -> None:
    # given
    client = client_for(supervisor)

    # when
    itself = client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": ada.pk})
    across = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": theirs.pk, "version": 1})
    garbled = client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": "abc"})
    unknown = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": 987654, "version": 1})
    unchosen = client.get(reverse("customers:merge", args=[ada.pk]))

    # then
    assert itself.status_code == 400
    assert "cannot be merged into itself" in html_of(itself)
    assert across.status_code == 400
    assert "A person and an organisation cannot be merged." in html_of(across)
    assert garbled.status_code == 400
    assert 'id="merge-duplicate"' in html_of(garbled)
    assert unknown.status_code == 400
    assert "No such customer." in html_of(unknown)
    assert unchosen.status_code == 200
    assert 'id="merge-duplicate"' in html_of(unchosen)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_roles_without_merge_permission_get_403_on_the_merge_pages(
    sales_rep: Any, agent: Any, ada: Customer, theirs: Customer
) -> None:
    for user in (sales_rep, agent):
        client = client_for(user)
        # when
        preview = client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": theirs.pk})
        confirm = client.post(reverse("customers:merge", args=[ada.pk]), {"duplicate": theirs.pk})
        candidates = client.get(reverse("customers:duplicates"))
        # then
        assert (preview.status_code, confirm.status_code, candidates.status_code) == (403, 403, 403)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def confirmation(preview: str) -> dict[str, str]:
    """What the preview's confirmation form posts (its hidden fields)."""
    form = re.search(r'<form method="post"[^>]*class="merge-actions">(.*?)</form>', preview, re.S).group(1)
    return dict(re.findall(r'<input type="hidden" name="(duplicate|version)" value="([^"]*)">', form))


def test_the_confirmation_carries_the_version_of_the_customer_kept(supervisor: Any, ada: Customer) -> None:
    # given
    twin = services.customer_create(actor=supervisor, kind="person", first_name="Ada", last_name="L.")
    services.customer_update(actor=supervisor, customer_id=ada.pk, expected_version=None, last_name="Byron")

    # when
    preview = html_of(
        client_for(supervisor).get(reverse("customers:merge", args=[ada.pk]), {"duplicate": twin.pk})
    )

    # then
    assert confirmation(preview) == {"duplicate": str(twin.pk), "version": "2"}


def test_a_stale_confirmation_says_so_merges_nothing_and_shows_the_fresh_preview(
    supervisor: Any, sales_rep: Any, ada: Customer
) -> None:
    # given: the preview was read, then someone changed the customer kept
    twin = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="L.")
    client = client_for(supervisor)
    preview = html_of(client.get(reverse("customers:merge", args=[ada.pk]), {"duplicate": twin.pk}))
    services.customer_update(
        actor=sales_rep, customer_id=ada.pk, expected_version=None, lifecycle_stage="customer"
    )

    # when
    response = client.post(reverse("customers:merge", args=[ada.pk]), confirmation(preview))

    # then
    html = html_of(response)
    assert response.status_code == 412
    assert "Someone else changed this customer since you previewed the merge" in html
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None
    assert confirmation(html) == {"duplicate": str(twin.pk), "version": "2"}


def test_a_confirmation_without_the_version_merges_nothing(
    supervisor: Any, sales_rep: Any, ada: Customer
) -> None:
    # given
    twin = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="L.")

    # when
    response = client_for(supervisor).post(reverse("customers:merge", args=[ada.pk]), {"duplicate": twin.pk})

    # then
    assert response.status_code == 400
    assert "This merge form is out of date" in html_of(response)
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None
