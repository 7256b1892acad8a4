"""Reading import jobs (`customers.selectors_import`): a user sees only the imports he sent,
newest first; another's is not found, as one that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from customers.models import CustomerImport
from customers.selectors_import import customer_import_get, customer_import_list
from customers.services_import_jobs import customer_import_submit

pytestmark = pytest.mark.django_db

GOOD = b"last_name,email\nHopper,grace@example.com\n"


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path  # the uploaded files are kept under VAR_DIR/imports


def submit(actor: Any, filename: str) -> CustomerImport:
    file = SimpleUploadedFile(filename, GOOD, content_type="text/csv")
    return customer_import_submit(actor=actor, file=file, filename=filename, dry_run=True)


def test_a_user_lists_only_his_own_imports_newest_first(marketer, supervisor):
    # given
    first = submit(marketer, "first.csv")
    submit(supervisor, "theirs.csv")
    second = submit(marketer, "second.csv")

    # when
    jobs = list(customer_import_list(actor=marketer))

    # then
    assert jobs == [second, first]


def test_the_list_is_one_query(marketer, django_assert_num_queries):
    submit(marketer, "a.csv")
    submit(marketer, "b.csv")

    with django_assert_num_queries(1):
        assert len(list(customer_import_list(actor=marketer))) == 2


def test_a_user_gets_his_own_import(marketer):
    job = submit(marketer, "a.csv")

    assert customer_import_get(actor=marketer, import_id=job.pk) == job
    assert customer_import_get(actor=marketer, import_id=str(job.pk)) == job  # as a URL gives it


def test_another_users_import_is_not_found(marketer, supervisor):
    # given
    job = submit(marketer, "a.csv")

    # when / then
    with pytest.raises(Http404, match="No such import of yours"):
        customer_import_get(actor=supervisor, import_id=job.pk)


@pytest.mark.parametrize("import_id", [10**6, "x", None, 2**70])
def test_a_missing_import_or_a_wrong_id_is_not_found(marketer, import_id):
    with pytest.raises(Http404, match="No such import of yours"):
        customer_import_get(actor=marketer, import_id=import_id)


def test_an_import_whose_sender_was_deleted_is_nobodys(marketer):
    # given: the sender's account deleted (created_by is set to null)
    job = submit(marketer, "a.csv")
    CustomerImport.objects.filter(pk=job.pk).update(created_by=None)

    # when / then: not even an anonymous actor (no pk) sees it
    assert list(customer_import_list(actor=AnonymousUser())) == []
    with pytest.raises(Http404):
        customer_import_get(actor=AnonymousUser(), import_id=job.pk)
