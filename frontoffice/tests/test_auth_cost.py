"""What authenticating and checking permissions costs per request: one query for the
user's permissions (own and groups'), none for the caller's other API tokens; expired
tokens still refused, and purged by the hourly task."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from typing import Any

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from frontoffice import tokens
from frontoffice.auth_backends import OneQueryModelBackend
from frontoffice.models import User
from frontoffice.tasks import purge_expired_api_tokens

pytestmark = pytest.mark.django_db


def _permission(codename: str) -> Permission:
    return Permission.objects.get(codename=codename, content_type__app_label="customers")


def test_a_users_own_and_group_permissions_are_read_in_one_query() -> None:
    # given
    group = Group.objects.create(name="Readers")
    group.permissions.add(_permission("view_customer"))
    user = User.objects.create_user(username="mixed", password="pw-mixed-123")
    user.groups.add(group)
    user.user_permissions.add(_permission("add_customer"))
    user = User.objects.get(pk=user.pk)
    # when
    with CaptureQueriesContext(connection) as queries:
        held = user.get_all_permissions()
        assert user.has_perm("customers.view_customer")
        assert user.has_perm("customers.add_customer")
        assert not user.has_perm("customers.delete_customer")
    # then
    assert {"customers.view_customer", "customers.add_customer"} <= held
    assert len(queries) == 1


def test_inactive_users_hold_nothing_and_superusers_everything() -> None:
    inactive = User.objects.create_user(username="gone", password="pw-gone-123", is_active=False)
    inactive.user_permissions.add(_permission("view_customer"))
    assert not User.objects.get(pk=inactive.pk).has_perm("customers.view_customer")
    boss = User.objects.create_superuser(username="root2", password="pw-root-123")
    assert User.objects.get(pk=boss.pk).get_all_permissions() >= {
        "customers.delete_customer",
        "auth.add_group",
    }


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_call_does_not_read_the_users_other_tokens(admin_user: Any) -> None:
    _, token = tokens.token_create(actor=admin_user, name="Mine")
    for n in range(5):
        tokens.token_create(actor=admin_user, name=f"Other {n}")
    client = _client(token)
    client.get("/api/v1/auth/tokens/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/auth/tokens/").status_code == 200
    token_reads = [
        q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"] and "knox_authtoken" in q["sql"]
    ]
    # the token's own lookup, and the list the endpoint answers: no scan of the user's tokens first
    assert len(token_reads) == 2


def test_an_expired_token_is_refused_and_deleted_and_the_task_purges_the_rest(admin_user: Any) -> None:
    used, used_token = tokens.token_create(actor=admin_user, name="Used")
    idle, _ = tokens.token_create(actor=admin_user, name="Idle")
    live, _ = tokens.token_create(actor=admin_user, name="Live")
    past = timezone.now() - dt.timedelta(minutes=1)
    AuthToken.objects.filter(pk__in=[used.pk, idle.pk]).update(expiry=past)
    # when the expired token is used: refused, and gone
    assert _client(used_token).get("/api/v1/auth/tokens/").status_code == 401
    assert not AuthToken.objects.filter(pk=used.pk).exists()
    # the other expired one stays until the task runs
    assert AuthToken.objects.filter(pk=idle.pk).exists()
    assert purge_expired_api_tokens() == 1
    assert list(AuthToken.objects.values_list("pk", flat=True)) == [live.pk]


def test_a_session_request_reads_the_user_and_its_permissions_in_one_query() -> None:
    # given: a user with a permission of its own and one through a group, logged in
    group = Group.objects.create(name="Readers")
    group.permissions.add(_permission("view_customer"))
    user = User.objects.create_user(username="mixed", password="pw-mixed-123")
    user.groups.add(group)
    user.user_permissions.add(_permission("add_customer"))
    client = Client()
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = SessionStore(client.session.session_key)
    request.session.load()
    # when
    with CaptureQueriesContext(connection) as queries:
        loaded = get_user(request)
        held = loaded.get_all_permissions()
        assert loaded.has_perm("customers.view_customer")
        assert loaded.has_perm("customers.add_customer")
        assert not loaded.has_perm("customers.delete_customer")
    # then
    assert loaded.pk == user.pk
    assert {"customers.view_customer", "customers.add_customer"} == held
    assert len(queries) == 2  # the session, then the user with its permissions


def test_a_session_user_without_permissions_holds_none_and_an_inactive_one_is_logged_out() -> None:
    # given
    plain = User.objects.create_user(username="plain", password="pw-plain-123")
    backend = OneQueryModelBackend()
    # when / then
    loaded = backend.get_user(plain.pk)
    assert loaded is not None
    assert loaded.get_all_permissions() == set()
    User.objects.filter(pk=plain.pk).update(is_active=False)
    assert backend.get_user(plain.pk) is None
    assert backend.get_user(plain.pk + 1000) is None


def test_a_session_superuser_still_holds_every_permission() -> None:
    boss = User.objects.create_superuser(username="root3", password="pw-root-123")
    loaded = OneQueryModelBackend().get_user(boss.pk)
    assert loaded is not None
    assert loaded.has_perm("customers.delete_customer")
    assert loaded.get_all_permissions() >= {"customers.delete_customer", "auth.add_group"}


def test_a_token_call_reads_the_user_and_its_permissions_with_the_token_and_no_password() -> None:
    # given: a reader through a group, with an API token
    group = Group.objects.create(name="Readers")
    group.permissions.add(_permission("view_customer"))
    reader = User.objects.create_user(username="reader", password="pw-reader-123")
    reader.groups.add(group)
    _, token = tokens.token_create(actor=reader, name="Mine")
    client = _client(token)
    # when
    with CaptureQueriesContext(connection) as queries:
        allowed = client.get("/api/v1/customers/")
        refused = client.post("/api/v1/customers/", {}, format="json")
    # then: each request reads permissions once, in the token's own statement
    assert allowed.status_code == 200
    assert refused.status_code == 403
    permission_reads = [q["sql"] for q in queries.captured_queries if "auth_permission" in q["sql"]]
    assert len(permission_reads) == 2
    assert all("knox_authtoken" in sql and "password" not in sql for sql in permission_reads)


# The digests of knox's methods that frontoffice.authentication.TokenAuthentication
# rewrites (django-rest-knox 5.1.0), as read when the rewrite was checked against them.
KNOX_METHODS_CHECKED = {
    "authenticate_credentials": "9ee8f829395d3547ed79b01b2b58126add48cec33557a5828fa496ca7cf576e0",
    "_cleanup_token": "9d72d60a8a15ca90301a18a9f53742873927656d1d3c71fe7b98e0d32706d9e6",
}


def test_the_knox_methods_our_token_lookup_rewrites_are_the_ones_it_was_checked_against() -> None:
    """Our token lookup repeats knox's (to read the permissions in the same statement):
    a knox upgrade that changes either method must be read and carried over by hand
    (then the digests here updated), not picked up silently."""
    from knox.auth import TokenAuthentication as KnoxTokenAuthentication

    changed = [
        name
        for name, digest in KNOX_METHODS_CHECKED.items()
        if hashlib.sha256(inspect.getsource(getattr(KnoxTokenAuthentication, name)).encode()).hexdigest()
        != digest
    ]
    assert not changed, f"knox changed {changed}: compare them with frontoffice/authentication.py"
