"""If-Match, read by frontoffice.api.expected_version: the version a service checks
under its lock, or None ("*": whatever the current version, RFC 9110)."""

from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from frontoffice.api import etag_for, expected_version
from frontoffice.errors import PreconditionRequired, StaleVersion
from frontoffice.viewsets import version_from


def request_with(**headers: str) -> Request:
    return Request(APIRequestFactory().patch("/", headers=headers))


@pytest.mark.parametrize("header", ["*", " * ", '"3", *'])
def test_if_match_star_means_no_version_check(header: str) -> None:
    # when / then: not the current version, which could be stale by the time the service locks
    assert expected_version(request_with(if_match=header), current=3) is None


@pytest.mark.parametrize("header", ['"3"', 'W/"3"', '"2", "3"', etag_for(3)])
def test_the_current_etag_gives_its_version(header: str) -> None:
    assert expected_version(request_with(if_match=header), current=3) == 3


@pytest.mark.parametrize("header", ['"2"', '"²"', '"3.0"', '"99999999999999999999"', "garbage"])
def test_an_old_or_foreign_etag_is_stale(header: str) -> None:
    with pytest.raises(StaleVersion) as refused:
        expected_version(request_with(if_match=header), current=3)
    assert refused.value.current == 3


def test_no_if_match_is_a_precondition_required() -> None:
    with pytest.raises(PreconditionRequired):
        expected_version(request_with(), current=3)


def test_an_optional_if_match_left_out_checks_nothing_and_star_checks_nothing_either() -> None:
    assert version_from(request_with(), 3, required=False) is None
    assert version_from(request_with(if_match="*"), 3, required=False) is None
    assert version_from(request_with(if_match='"3"'), 3, required=False) == 3
