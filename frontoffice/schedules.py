"""Beat schedules the apps' `PeriodicTask`s may use besides seconds and crontabs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery.schedules import schedstate, schedule
from django.utils import timezone


class every(schedule):
    """Every `seconds`, the first run `first_after` seconds after beat starts (celery's
    interval schedule waits a whole period first: a ten-minute job would first run ten
    minutes after a deploy). The start is this process's: a restarted beat runs it soon
    again, which periodic jobs must tolerate anyway."""

    def __init__(self, seconds: float, *, first_after: float = 0.0, **kwargs: Any) -> None:
        super().__init__(run_every=dt.timedelta(seconds=seconds), **kwargs)
        self.first_after = first_after
        self._first_at: dt.datetime | None = None
        self._first_done = False

    def is_due(self, last_run_at: dt.datetime) -> schedstate:
        if not self._first_done:
            now = timezone.now()
            if self._first_at is None:
                self._first_at = now + dt.timedelta(seconds=self.first_after)
            wait = (self._first_at - now).total_seconds()
            if wait > 0:
                return schedstate(False, wait)
            self._first_done = True
            return schedstate(True, self.run_every.total_seconds())
        state: schedstate = super().is_due(last_run_at)
        return state

    def __reduce__(self) -> Any:
        return (_every, (self.run_every.total_seconds(), self.first_after))

    def __repr__(self) -> str:
        return f"<every {self.run_every.total_seconds():g}s, first after {self.first_after:g}s>"


def _every(seconds: float, first_after: float) -> every:
    return every(seconds, first_after=first_after)
