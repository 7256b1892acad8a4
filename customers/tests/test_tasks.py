"""Enqueueing after commit, and eager tasks leaving their caller's connection alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from customers.models import Activity
from customers.tasks import diagnostic_probe
from customers.tests.factories import PersonFactory
from frontoffice.write_path import enqueue_on_commit

pytestmark = pytest.mark.django_db


def test_a_task_is_sent_only_when_the_transaction_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    customer = PersonFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        enqueue_on_commit(diagnostic_probe, customer.pk, "after-commit")
        sent_before_commit = Activity.objects.filter(customer=customer).exists()

    # then
    assert len(callbacks) == 1
    assert sent_before_commit is False
    assert Activity.objects.get(customer=customer).payload["marker"] == "after-commit"


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks: Any) -> None:
    # given
    customer = PersonFactory()

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                enqueue_on_commit(diagnostic_probe, customer.pk, "rolled-back")
                raise RuntimeError("the business change failed")
        except RuntimeError:
            pass

    # then
    assert callbacks == []
    assert not Activity.objects.filter(customer=customer).exists()


def test_an_eager_task_inside_a_transaction_leaves_the_callers_connection_open() -> None:
    # given: the test's own transaction is open, as a request's would be
    customer = PersonFactory()
    assert connection.in_atomic_block

    # when
    diagnostic_probe.delay(customer.pk, "eager")

    # then
    assert connection.connection is not None
    assert not connection.needs_rollback
    assert Activity.objects.filter(customer=customer, payload__marker="eager").count() == 1
