"""A working day at the front office, for locust: `make bench-load` (50 users for 5
minutes, headless, against the app `make bench` serves or any other on 127.0.0.1).

Each user signs in with an API token of a demo staff user (BENCH_TOKEN, made by
`manage.py create_api_token`) and, with a few seconds' think time between actions:
searches as they type (a name, an e-mail fragment, a phone fragment), opens the 360 view
of a customer found, scrolls its timeline, logs a call, filters the customer list and
pages through it. Locust reports the p95 and the errors per request name; run it with
`--csv` for files.
"""

from __future__ import annotations

import os
import random
from typing import Any

from locust import HttpUser, between, task

TOKEN = os.environ.get("BENCH_TOKEN", "")
NAMES = ["Mar", "Smi", "Jon", "Mül", "Ber", "Dup", "Lee", "And", "Wil", "Kow"]
EMAILS = ["info@", "@gmail", "sales@", "anna", ".de", "contact@"]
PHONES = ["7946", "20 79", "612 3", "0049", "555"]


class FrontOfficeUser(HttpUser):
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.client.headers.update({"Authorization": f"Token {TOKEN}", "X-Forwarded-Proto": "https"})
        self.customers: list[int] = []

    def _found(self, response: Any) -> None:
        if response.status_code == 200:
            self.customers = [row["id"] for row in response.json().get("results", [])][:20] or self.customers

    @task(6)
    def search(self) -> None:
        typed = random.choice([random.choice(NAMES), random.choice(EMAILS), random.choice(PHONES)])
        # As you type: the first letters, then more of them.
        for end in range(3, len(typed) + 1):
            with self.client.get(
                "/api/v1/customers/", params={"q": typed[:end]}, name="search", catch_response=True
            ) as r:
                self._found(r)

    @task(4)
    def view_360(self) -> None:
        if self.customers:
            self.client.get(f"/api/v1/customers/{random.choice(self.customers)}/360/", name="360")

    @task(3)
    def scroll_timeline(self) -> None:
        if not self.customers:
            return
        url: str | None = f"/api/v1/customers/{random.choice(self.customers)}/timeline/"
        for _ in range(3):
            if not url:
                break
            response = self.client.get(url, name="timeline")
            url = response.json().get("next") if response.status_code == 200 else None

    @task(2)
    def log_call(self) -> None:
        if self.customers:
            self.client.post(
                "/api/v1/activities/",
                json={
                    "customer": random.choice(self.customers),
                    "kind": "call",
                    "subject": "Called about the order",
                },
                name="log call",
            )

    @task(3)
    def filter_list(self) -> None:
        response = self.client.get(
            "/api/v1/customers/",
            params={"lifecycle_stage": "customer", "kind": "person"},
            name="list filtered",
        )
        self._found(response)
        next_url = response.json().get("next") if response.status_code == 200 else None
        if next_url:
            self.client.get(next_url, name="list next page")
