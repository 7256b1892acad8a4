"""Apps plug in through their hooks; the kernel reads them without naming any app."""

from __future__ import annotations

from typing import Any

import pytest

from frontoffice import plugin
from frontoffice.plugin import AppHooks, NavItem, Panel, PeriodicTask, TimelineKind


def test_extra_hooks_appear_in_every_view_and_leave_again() -> None:
    # given
    hooks = AppHooks(
        navigation=[NavItem("Probe", "dashboard", order=-1)],
        panels=[Panel(key="probe_panel", title="Probe", loader=lambda **_: {})],
        timeline_kinds=[TimelineKind("probe_kind", "Probe", "?")],
        periodic_tasks=[PeriodicTask("probe-task", "probe.task", 9.0, kwargs={"x": 1})],
    )

    # when
    with plugin.installed("probe", hooks):
        inside = (
            plugin.navigation()[0].label,
            plugin.panel("probe_panel") is not None,
            plugin.timeline_kinds()["probe_kind"].label,
            plugin.beat_schedule()["probe-task"],
        )

    # then
    assert inside == ("Probe", True, "Probe", {"task": "probe.task", "schedule": 9.0, "kwargs": {"x": 1}})
    assert plugin.panel("probe_panel") is None
    assert "probe-task" not in plugin.beat_schedule()


@pytest.mark.parametrize(
    "clash",
    [
        AppHooks(
            panels=[
                Panel(key="dup", title="A", loader=lambda **_: {}),
                Panel(key="dup", title="B", loader=lambda **_: {}),
            ]
        ),
        AppHooks(timeline_kinds=[TimelineKind("dup", "A", "a"), TimelineKind("dup", "B", "b")]),
        AppHooks(periodic_tasks=[PeriodicTask("dup", "a", 1.0), PeriodicTask("dup", "b", 1.0)]),
    ],
)
def test_two_declarations_of_one_key_are_refused_not_silently_overridden(clash: AppHooks) -> None:
    with pytest.raises(ValueError, match="declare the"), plugin.installed("clash", clash):
        pass


def test_a_periodic_task_without_arguments_has_none_in_the_schedule() -> None:
    with plugin.installed("probe", AppHooks(periodic_tasks=[PeriodicTask("bare", "probe.bare", 5.0)])):
        assert plugin.beat_schedule()["bare"] == {"task": "probe.bare", "schedule": 5.0}


def test_a_third_party_hooks_module_without_HOOKS_is_not_an_app_of_ours() -> None:
    # drf-spectacular ships a module named `hooks` of its own
    labels = [loaded.app_label for loaded in plugin.load()]
    assert "drf_spectacular" not in labels
    assert "frontoffice" in labels


def test_a_user_sees_what_their_permission_allows() -> None:
    class Someone:
        def has_perm(self, perm: str) -> bool:
            return perm == "a.yes"

    user: Any = Someone()
    assert (plugin.allowed(user, None), plugin.allowed(user, "a.yes"), plugin.allowed(user, "a.no")) == (
        True,
        True,
        False,
    )


def test_a_clash_stops_every_load_not_only_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: hooks that clash, not loaded yet
    def clash(found: Any) -> None:
        raise ValueError("Two apps declare the panel 'dup'.")

    monkeypatch.setattr(plugin, "_loaded", None)
    monkeypatch.setattr(plugin, "_check_unique", clash)

    # when / then: a second start-up step does not get the clashing hooks from a cache
    for _ in range(2):
        with pytest.raises(ValueError, match="Two apps declare"):
            plugin.load()
