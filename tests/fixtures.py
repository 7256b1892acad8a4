"""Shared pytest fixtures (loaded as a plugin from pyproject's addopts): every cache
empty at the start of each test, actors with deliberately different access, and API
clients for them.

Project imports happen inside the functions: this module is imported before
pytest-django has configured Django.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rest_framework.test import APIClient

    from frontoffice.models import Team, User


def clear_cache(cache: Any) -> None:
    """Empty one Django cache. A Redis cache loses only its own keys (those under its key
    prefix): its `clear()` would flush the whole Redis database, the Celery broker's
    queues with it when they share one (REDIS_URL), under a worker's feet."""
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def empty_caches() -> None:
    """Empty every configured Django cache."""
    from django.conf import settings
    from django.core.cache import caches

    for alias in settings.CACHES:
        clear_cache(caches[alias])


@pytest.fixture(autouse=True)
def _empty_caches() -> None:
    """Each test starts with every configured cache empty: a count, a permission or a
    throttle's tally cached by an earlier test cannot leak into the next one."""
    empty_caches()


class Role:
    MARKETING = "Marketing"
    SALES = "Sales"
    SALES_MANAGER = "Sales manager"
    SERVICE_AGENT = "Service agent"
    SERVICE_SUPERVISOR = "Service supervisor"
    BACK_OFFICE = "Back office"
    ADMIN = "Admin"


def make_user(username: str, *roles: str, team: Team | None = None, **extra: Any) -> User:
    from django.contrib.auth.models import Group

    from frontoffice.models import User

    user = User.objects.create_user(username=username, password="pw-" + username, team=team, **extra)
    if roles:
        user.groups.set(Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def sales_team(db: Any) -> Team:
    from frontoffice.models import Team

    return Team.objects.create(name="North sales")


@pytest.fixture
def sales_rep(sales_team: Team) -> User:
    return make_user("rep", Role.SALES, team=sales_team, first_name="Rita", last_name="Rep")


@pytest.fixture
def teammate(sales_team: Team) -> User:
    return make_user("teammate", Role.SALES, team=sales_team)


@pytest.fixture
def other_rep(db: Any) -> User:
    from frontoffice.models import Team

    return make_user("other_rep", Role.SALES, team=Team.objects.create(name="South sales"))


@pytest.fixture
def sales_manager(db: Any) -> User:
    """A sales manager in a team of their own: every right below comes from the role."""
    from frontoffice.models import Team

    return make_user(
        "manager", Role.SALES_MANAGER, team=Team.objects.create(name="Sales management"), first_name="Max"
    )


@pytest.fixture
def agent(db: Any) -> User:
    return make_user("agent", Role.SERVICE_AGENT, first_name="Alex", last_name="Agent")


@pytest.fixture
def supervisor(db: Any) -> User:
    return make_user("supervisor", Role.SERVICE_SUPERVISOR)


@pytest.fixture
def marketer(db: Any) -> User:
    return make_user("marketer", Role.MARKETING)


@pytest.fixture
def back_office(db: Any) -> User:
    return make_user("backoffice", Role.BACK_OFFICE)


@pytest.fixture
def admin_user(db: Any) -> User:
    return make_user("boss", Role.ADMIN, is_staff=True)


@pytest.fixture
def nobody(db: Any) -> User:
    """Authenticated but in no role."""
    return make_user("nobody")


@pytest.fixture
def api() -> APIClient:
    from rest_framework.test import APIClient

    return APIClient()


def client_for(user: User) -> APIClient:
    """An API client authenticated with a real knox token, as an integration would be."""
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    _, token = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def api_as():
    return client_for


@pytest.fixture
def readonly_client(back_office: User) -> APIClient:
    """A REST client whose token belongs to a read-only role."""
    return client_for(back_office)
