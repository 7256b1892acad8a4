"""`frontoffice.sessions`: Django's database sessions read by a kept statement: a live
session is found, an expired or unknown one is no session, and the row is read with one
query whose SQL is compiled once."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from frontoffice.models import User
from frontoffice.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_it_is_the_projects_session_engine() -> None:
    assert settings.SESSION_ENGINE == "frontoffice.sessions"


def test_a_live_session_is_read_with_its_data() -> None:
    # given: a session saved by the store
    saved = SessionStore()
    saved["colour"] = "teal"
    saved.create()
    # when: another request reads it by its key
    read = SessionStore(saved.session_key)
    # then: its data, and its key kept
    assert read["colour"] == "teal"
    assert read.session_key == saved.session_key


def test_an_expired_or_unknown_session_is_no_session() -> None:
    # given: a session whose expiry has passed (the row is still there)
    saved = SessionStore()
    saved["colour"] = "teal"
    saved.create()
    Session.objects.filter(session_key=saved.session_key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    # when / then: read as empty, its key dropped (a new one is made when saved)
    expired = SessionStore(saved.session_key)
    assert "colour" not in expired
    assert expired.session_key is None
    unknown = SessionStore("x" * 32)
    assert unknown.load() == {}
    assert unknown.session_key is None


def test_each_read_is_one_query_and_is_compiled_once() -> None:
    saved = SessionStore()
    saved["n"] = 1
    saved.create()
    SessionStore(saved.session_key).load()  # compiled on the first read
    # when: read again, with the ORM's compiler watched
    with (
        mock.patch.object(Session.objects, "filter", side_effect=AssertionError("built again")),
        CaptureQueriesContext(connection) as queries,
    ):
        assert SessionStore(saved.session_key).load() == {"n": 1}
    # then: one statement, its queryset not built again
    assert len(queries) == 1


def test_a_logged_in_person_keeps_their_session_and_loses_it_when_it_expires(client: Client) -> None:
    user = User.objects.create_user(username="sess", password="pw-sess-12345")
    client.force_login(user)
    assert client.get("/", secure=True).status_code == 200
    # when: the session's row expires
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(minutes=1))
    # then: the next page asks them to log in
    response: Any = client.get("/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
