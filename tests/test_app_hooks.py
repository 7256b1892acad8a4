"""The composition root reads every app's hooks: navigation, routes, beat, timeline kinds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import RequestFactory

from config.celery import app as celery_app
from config.celery import install_beat_schedule
from customers.models import Activity
from frontoffice import plugin
from tests.fixtures import make_user

FIRST_PARTY = ("frontoffice", "customers", "sales", "service", "backoffice_sync", "erp_simulator")


def test_every_first_party_app_plugs_in_through_its_hooks() -> None:
    labels = [loaded.app_label for loaded in plugin.load()]
    assert [label for label in labels if label in FIRST_PARTY] == list(FIRST_PARTY)


def test_beat_runs_every_apps_periodic_tasks() -> None:
    # when
    schedule = install_beat_schedule()

    # then
    assert celery_app.conf.beat_schedule == schedule
    tasks = {entry["task"] for entry in schedule.values()}
    assert {
        "frontoffice.tasks.heartbeat",
        "sales.tasks.expire_quotes",
        "backoffice_sync.tasks.relay_outbox",
    } <= tasks


@pytest.fixture
def fresh_beat() -> Iterator[None]:
    """A beat process that has not installed the apps' schedule yet."""
    installed = celery_app.conf.beat_schedule
    celery_app.conf.beat_schedule = {}
    try:
        yield
    finally:
        celery_app.conf.beat_schedule = installed


@pytest.mark.usefixtures("fresh_beat")
def test_the_scheduler_beat_builds_holds_every_apps_periodic_tasks(tmp_path: Path) -> None:
    # given
    beat = celery_app.Beat(schedule=str(tmp_path / "celerybeat-schedule"), quiet=True)

    # when: beat builds its service and scheduler as `celery beat` does, before any signal
    service = beat.Service(
        app=celery_app,
        max_interval=beat.max_interval,
        scheduler_cls=beat.scheduler_cls,
        schedule_filename=beat.schedule,
    )
    scheduler = service.scheduler

    # then: every app's periodic task is in it, with the period its hooks declare
    try:
        entries = scheduler.schedule
        assert set(plugin.beat_schedule()) <= set(entries)
        relay = entries["relay-outbox"]
        assert relay.task == "backoffice_sync.tasks.relay_outbox"
        assert relay.schedule.run_every.total_seconds() == 5.0
        # ... and the reconciliation's first run comes a minute after the start, not ten
        due, wait = entries["reconcile-erp"].is_due()
        assert not due
        assert 0 < wait <= 60
    finally:
        scheduler.close()


@pytest.mark.usefixtures("fresh_beat")
def test_the_schedule_file_of_an_earlier_beat_keeps_every_apps_periodic_tasks(tmp_path: Path) -> None:
    # given: a schedule file written by an earlier beat
    path = str(tmp_path / "celerybeat-schedule")
    celery_app.Beat(schedule=path).Service(
        app=celery_app, scheduler_cls=settings.CELERY_BEAT_SCHEDULER, schedule_filename=path
    ).scheduler.close()
    celery_app.conf.beat_schedule = {}

    # when: beat restarts on it
    scheduler = (
        celery_app.Beat(schedule=path)
        .Service(app=celery_app, scheduler_cls=settings.CELERY_BEAT_SCHEDULER, schedule_filename=path)
        .scheduler
    )

    # then
    try:
        assert set(plugin.beat_schedule()) <= set(scheduler.schedule)
    finally:
        scheduler.close()


def test_every_api_route_of_every_app_is_served() -> None:
    names = _api_url_names()
    for route in plugin.api_routes():
        assert any(name.startswith(route.basename + "-") for name in names), route.prefix


def _api_url_names() -> set[str]:
    from config.api_router import router

    return {pattern.name for pattern in router.urls if pattern.name}


@pytest.mark.django_db
def test_every_declared_timeline_kind_shows_its_label_and_an_unknown_one_no_raw_code() -> None:
    # given
    request = RequestFactory().get("/")
    request.user = make_user("timeline-admin", "Admin")
    kinds = plugin.timeline_kinds()

    def badge(code: str) -> str:
        entry = Activity(kind=code, subject="s", source_app="x", occurred_at=None)
        return render_to_string("customers/_timeline_entry.html", {"entry": entry}, request=request)

    # then
    for code, kind in kinds.items():
        assert kind.label in badge(code), code
    unknown = badge("erp_secret_internal_code")
    assert "Activity" in unknown
    assert "erp_secret_internal_code" not in unknown


def test_no_two_timeline_kinds_share_a_label() -> None:
    # The timeline's filter offers each kind by its label: two alike cannot be told apart.
    labels = [kind.label for kind in plugin.timeline_kinds().values()]
    assert sorted(label for label in set(labels) if labels.count(label) > 1) == []


def test_timeline_kinds_link_only_to_pages_that_exist() -> None:
    for code, kind in plugin.timeline_kinds().items():
        if kind.link is not None:
            assert kind.ref_type, code
            assert kind.link("1"), code
            assert kind.link("not-an-id") is None, code


def test_the_service_app_is_named_outside_its_folder_only_by_the_installed_apps_line() -> None:
    # The service app was added by following docs/adding_an_app.md: its folder, its
    # templates and one line of the settings. No other code or template names its URLs,
    # permissions or modules (imports: tests/test_import_boundaries.py).
    root = Path(__file__).resolve().parents[1]
    reference = re.compile(r"""["']service[:.][a-z_]+|service/""")
    mentions = []
    files = [
        *(
            p
            for pkg in ("config", "frontoffice", "customers", "sales", "backoffice_sync", "marketing")
            for p in (root / pkg).rglob("*.py")
        ),
        *(
            p
            for p in (root / "templates").rglob("*.html")
            if "service" not in p.relative_to(root / "templates").parts
        ),
    ]
    for path in files:
        if "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if reference.search(line):
                mentions.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert mentions == []
    assert "service" in settings.INSTALLED_APPS


@pytest.mark.django_db
def test_every_customer_fact_is_a_subquery_of_customer_ids(django_assert_num_queries) -> None:
    from customers.models import Customer

    facts = plugin.customer_facts()
    assert facts, "no app contributes a customer fact"
    for key, fact in facts.items():
        assert plugin.FACT_KEY.fullmatch(key), key
        with django_assert_num_queries(1):  # building it runs none; the select embeds it
            list(Customer.objects.filter(pk__in=fact.customers()).values_list("pk", flat=True))


def test_a_fact_key_that_is_not_a_slug_is_refused() -> None:
    bad = plugin.AppHooks(customer_facts=[plugin.CustomerFact("Open Complaint!", "Bad", lambda: None)])
    with pytest.raises(ValueError, match="customer fact"), plugin.installed("bad_facts", bad):
        pass
