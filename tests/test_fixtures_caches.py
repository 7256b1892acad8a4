"""Every test starts with every configured cache empty (tests/fixtures.py): what one
test cached (a count, a permission, a throttle's tally) never leaks into the next."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings

from tests.fixtures import clear_cache, empty_caches

TWO_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fixture-default"},
    "sessions": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fixture-sessions"},
}


class FakeRedis:
    """The two calls `clear_cache` makes, on a dict."""

    def __init__(self, keys: list[str]) -> None:
        self.data = dict.fromkeys(keys, b"1")

    def scan_iter(self, *, match: str, count: int) -> Iterator[str]:
        return iter([k for k in list(self.data) if fnmatch.fnmatchcase(k, match)])

    def delete(self, *keys: str) -> int:
        return sum(self.data.pop(k, None) is not None for k in keys)


def test_the_fixture_runs_for_every_test(request: pytest.FixtureRequest) -> None:
    assert "_empty_caches" in request.fixturenames


def test_no_test_starts_with_a_cached_value() -> None:
    # the fixture ran before this test: whatever an earlier test cached is gone
    assert cache.get("frontoffice:heartbeat") is None
    cache.set("frontoffice:heartbeat", "a test left this")
    empty_caches()
    assert cache.get("frontoffice:heartbeat") is None


@override_settings(CACHES=TWO_CACHES)
def test_every_configured_cache_is_emptied() -> None:
    # given
    for alias in TWO_CACHES:
        caches[alias].set("count", 7)
    # when
    empty_caches()
    # then
    assert [caches[alias].get("count") for alias in TWO_CACHES] == [None, None]


@pytest.mark.parametrize("prefix", ["", "fo"])
def test_a_redis_cache_loses_its_keys_and_the_brokers_queues_stay(monkeypatch: Any, prefix: str) -> None:
    # given: the cache's keys and Celery's in the same Redis database
    redis = RedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": prefix})
    ours = [redis.make_key("count"), redis.make_key("perm", version=2)]
    broker = ["celery", "_kombu.binding.celery", "unacked", "other:1:count"]
    fake = FakeRedis(ours + broker)
    monkeypatch.setattr(redis._cache, "get_client", lambda *a, **k: fake)
    # when
    clear_cache(redis)
    # then
    assert sorted(fake.data) == sorted(broker)
