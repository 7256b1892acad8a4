"""A working day at the front office, for locust. `make bench-load` (`python -m
bench.load_day`) sets everything up and runs it headless; run by hand it needs a server
on 127.0.0.1 and the environment below.

Two kinds of staff, each signed in with an API token of a demo user, with a few seconds'
think time between actions (BENCH_THINK=0: none, for the saturation step):
- sales reps (BENCH_TOKEN, and BENCH_SALES_OWNER: their user id): search as they type
  (a name, an e-mail fragment, a phone fragment), open the 360 view of a customer found,
  scroll its timeline, filter the list of their own customers and page through it, log
  a call with one of them, and build a quote (a draft with lines for one of their open opportunities, then its lines
  changed with If-Match);
- service agents (BENCH_AGENT_TOKEN): search, open the 360 view, and update the open
  cases of their own page of the list (read for the ETag, change the priority with
  If-Match, add a note).
Every URL comes from bench/workday.py. Locust reports the percentiles and the errors per
request name; a write answered with anything but its success status counts as an error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, between, constant, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.workday import SKUS, path

TOKEN = os.environ.get("BENCH_TOKEN", "")
AGENT_TOKEN = os.environ.get("BENCH_AGENT_TOKEN", "")
SALES_OWNER = os.environ.get("BENCH_SALES_OWNER", "")
THINK = os.environ.get("BENCH_THINK", "1") != "0"
NAMES = ["Mar", "Smi", "Jon", "Mül", "Ber", "Dup", "Lee", "And", "Wil", "Kow"]
EMAILS = ["info@", "@gmail", "sales@", "anna", ".de", "contact@"]
PHONES = ["7946", "20 79", "612 3", "0049", "555"]
PRIORITIES = ["low", "normal", "high"]
AGENT_SLOTS = itertools.count()


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _next(response: Any) -> str | None:
    """The page after this one, as a path: the API writes absolute https links (the
    requests say they came through the TLS proxy) and the bench serves plain HTTP."""
    link = _json(response).get("next") if response.status_code == 200 else None
    if not link:
        return None
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class Staff(HttpUser):
    abstract = True
    wait_time = between(1, 5) if THINK else constant(0)
    token = ""

    def on_start(self) -> None:
        self.client.headers.update({"Authorization": f"Token {self.token}", "X-Forwarded-Proto": "https"})
        self.customers: list[int] = []

    def _found(self, response: Any) -> None:
        if response.status_code == 200:
            rows = _json(response).get("results", [])
            self.customers = [row["id"] for row in rows][:20] or self.customers

    def _expect(self, response: Any, status: int) -> Any:
        """A write that does not answer `status` is a failure, with the problem's title."""
        if response.status_code != status:
            response.failure(f"{response.status_code}: {response.text[:200]}")
            return None
        return _json(response)

    @task(6)
    def search(self) -> None:
        typed = random.choice([random.choice(NAMES), random.choice(EMAILS), random.choice(PHONES)])
        # As you type: the first letters, then more of them.
        for end in range(3, len(typed) + 1):
            with self.client.get(path("search"), params={"q": typed[:end]}, name="search") as r:
                self._found(r)

    @task(4)
    def view_360(self) -> None:
        if self.customers:
            self.client.get(path("360", random.choice(self.customers)), name="360")


class SalesRep(Staff):
    weight = 3
    token = TOKEN

    def on_start(self) -> None:
        super().on_start()
        self.opportunities: list[int] = []
        self.mine: list[int] = []

    @task(3)
    def scroll_timeline(self) -> None:
        if not self.customers:
            return
        url: str | None = path("timeline", random.choice(self.customers))
        for _ in range(3):
            if not url:
                break
            response = self.client.get(url, name="timeline")
            url = _next(response)

    @task(2)
    def log_call(self) -> None:
        # On one of their own customers: a rep may write only to those of their team.
        if not self.mine:
            self.filter_list()
        if not self.mine:
            return
        with self.client.post(
            path("log call"),
            json={"customer": random.choice(self.mine), "kind": "call", "subject": "Called about the order"},
            name="log call",
            catch_response=True,
        ) as r:
            if self._expect(r, 201) is not None:
                r.success()

    @task(3)
    def filter_list(self) -> None:
        """Their own customers who are people and customers already, two pages."""
        response = self.client.get(
            path("list filtered"),
            params={"lifecycle_stage": "customer", "kind": "person", "owner": SALES_OWNER},
            name="list filtered",
        )
        if response.status_code == 200:
            self.mine = [row["id"] for row in _json(response).get("results", [])] or self.mine
        next_url = _next(response)
        if next_url:
            self.client.get(next_url, name="list next page")

    @task(1)
    def build_quote(self) -> None:
        if not self.opportunities:
            response = self.client.get(
                path("opportunities"), params={"status": "open", "owner": SALES_OWNER}, name="opportunities"
            )
            self.opportunities = [row["id"] for row in _json(response).get("results", [])]
            if not self.opportunities:
                return
        lines = [
            {"sku": sku, "quantity": random.randint(1, 20), "discount_percent": random.choice([0, 5])}
            for sku in random.sample(SKUS, 3)
        ]
        with self.client.post(
            path("quote create"),
            json={
                "opportunity": random.choice(self.opportunities),
                "valid_until": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat(),
                "lines": lines,
            },
            name="quote create",
            catch_response=True,
        ) as r:
            quote = self._expect(r, 201)
            if quote is None:
                return
            r.success()
            etag = r.headers.get("ETag", "")
        # Another line, one quantity changed: the lines are sent whole.
        lines[0]["quantity"] += 1
        lines.append({"sku": random.choice(SKUS), "quantity": 1})
        with self.client.patch(
            path("quote update", quote["id"]),
            json={"lines": lines},
            headers={"If-Match": etag},
            name="quote update",
            catch_response=True,
        ) as r:
            if self._expect(r, 200) is not None:
                r.success()


class ServiceAgent(Staff):
    weight = 2
    token = AGENT_TOKEN

    def on_start(self) -> None:
        super().on_start()
        self.cases: list[int] = []
        self.slot = next(AGENT_SLOTS)

    def _own_cases(self) -> list[int]:
        """A page of open cases of their own: the n-th agent takes the n-th page, oldest
        first. Each agent works their own queue, so two of them never change the same
        case at once (that would rightly be a 412 with If-Match)."""
        url: str | None = path("cases open")
        params: dict[str, str] | None = {"open": "true", "ordering": "created_at"}
        rows: list[int] = []
        for _ in range(self.slot + 1):
            if not url:
                return []
            response = self.client.get(url, params=params, name="cases open")
            rows = (
                [row["id"] for row in _json(response).get("results", [])]
                if response.status_code == 200
                else []
            )
            url, params = _next(response), None
        return rows

    @task(4)
    def update_case(self) -> None:
        if not self.cases:
            self.cases = self._own_cases()
            if not self.cases:
                return
        pk = random.choice(self.cases)
        read = self.client.get(path("case read", pk), name="case read")
        if read.status_code != 200:
            return
        with self.client.patch(
            path("case update", pk),
            json={"priority": random.choice(PRIORITIES)},
            headers={"If-Match": read.headers.get("ETag", "")},
            name="case update",
            catch_response=True,
        ) as r:
            if self._expect(r, 200) is not None:
                r.success()
        with self.client.post(
            path("case note", pk),
            json={"body": "Called the customer back; waiting for the photos."},
            name="case note",
            catch_response=True,
        ) as r:
            if self._expect(r, 200) is not None:
                r.success()
