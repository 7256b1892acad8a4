"""`every(seconds, first_after=...)`: a periodic task whose first run comes soon after
beat starts, then every period."""

from __future__ import annotations

import datetime as dt
import pickle

from django.utils import timezone

from frontoffice.schedules import every


def test_the_first_run_comes_soon_after_start_then_every_period(time_machine) -> None:
    # given: beat starts now, with a ten-minute job due first after a minute
    time_machine.move_to(dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC), tick=False)
    job = every(600, first_after=60)
    started = timezone.now()
    # when / then: not yet at start, due a minute later, then every ten minutes
    assert job.is_due(started) == (False, 60)
    time_machine.move_to(started + dt.timedelta(seconds=61), tick=False)
    assert job.is_due(started).is_due
    ran = timezone.now()
    time_machine.move_to(ran + dt.timedelta(seconds=300), tick=False)
    assert not job.is_due(ran).is_due
    time_machine.move_to(ran + dt.timedelta(seconds=601), tick=False)
    assert job.is_due(ran).is_due


def test_it_survives_beats_persistent_store() -> None:
    copy = pickle.loads(pickle.dumps(every(600, first_after=30)))  # noqa: S301 - our own bytes
    assert (copy.run_every, copy.first_after) == (dt.timedelta(seconds=600), 30)


def test_the_reconciliation_runs_first_soon_after_start() -> None:
    from frontoffice import plugin

    (entry,) = [t for t in plugin.periodic_tasks() if t.name == "reconcile-erp"]
    assert isinstance(entry.schedule, every)
    assert entry.schedule.first_after <= 120
