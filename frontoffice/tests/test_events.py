"""The event bus: each subscriber runs in the phase it declared, never a mix."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from frontoffice import events
from frontoffice.models import Team
from frontoffice.plugin import Phase

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Happened:
    name: str


def publish_in_a_failing_transaction(event: Any, seen: dict[str, bool] | None = None) -> None:
    """Publish, look at the database inside, then fail: the transaction rolls back."""
    try:
        with transaction.atomic():
            events.publish(event)
            if seen is not None:
                seen["inside"] = Team.objects.filter(name=f"written for {event.name}").exists()
            raise RuntimeError("the publisher fails")
    except RuntimeError:
        pass


def test_an_in_transaction_subscriber_writes_with_the_publisher_and_rolls_back_with_it() -> None:
    # given
    def handler(event: Happened) -> None:
        Team.objects.create(name=f"written for {event.name}")

    seen: dict[str, bool] = {}

    # when: the first publisher's transaction fails after publishing
    with events.listening(Happened, handler, Phase.IN_TRANSACTION):
        publish_in_a_failing_transaction(Happened("first"), seen)
        with transaction.atomic():
            events.publish(Happened("second"))

    # then: the handler ran inside, and its write went with the publisher's fate
    assert seen["inside"] is True
    assert not Team.objects.filter(name="written for first").exists()
    assert Team.objects.filter(name="written for second").exists()


def test_an_after_commit_subscriber_hears_only_committed_events(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    heard: list[str] = []

    # when
    with (
        events.listening(Happened, lambda e: heard.append(e.name), Phase.AFTER_COMMIT),
        django_capture_on_commit_callbacks(execute=True),
    ):
        publish_in_a_failing_transaction(Happened("rolled back"))
        with transaction.atomic():
            events.publish(Happened("committed"))
            heard_before_commit = list(heard)

    # then
    assert heard_before_commit == []
    assert heard == ["committed"]


def test_a_failing_after_commit_subscriber_is_logged_and_the_others_still_hear(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    heard: list[str] = []

    def broken(event: Happened) -> None:
        raise ValueError("subscriber bug")

    # when
    with (
        events.listening(Happened, broken, Phase.AFTER_COMMIT),
        events.listening(Happened, lambda e: heard.append(e.name), Phase.AFTER_COMMIT),
        caplog.at_level(logging.ERROR, logger="frontoffice.events"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        Team.objects.create(name="the publisher's change")
        events.publish(Happened("x"))

    # then
    assert heard == ["x"]
    assert Team.objects.filter(name="the publisher's change").exists()
    assert any("subscriber bug" in (r.exc_text or "") or "failed" in r.getMessage() for r in caplog.records)


def test_subscribers_are_chosen_by_the_events_type() -> None:
    # given
    @dataclass(frozen=True)
    class Other:
        pass

    heard: list[Any] = []

    # when
    with events.listening(Other, heard.append, Phase.IN_TRANSACTION):
        events.publish(Happened("not for them"))

    # then
    assert heard == []
