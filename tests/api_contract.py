"""The generic API contract: one mixin per kind of operation, so that every resource
gets the same coverage in a few lines.

    class TestCustomerApi(ListContract, RetrieveContract, CreateContract,
                          VersionedUpdateContract, DeleteContract):
        list_url = "/api/v1/customers/"
        watched_models = (Customer, ContactPoint)

        @pytest.fixture
        def reader(self, readonly_client): return readonly_client
        ...

A test class supplies, as pytest fixtures (only those its mixins use):

- `reader`, `writer`, `deleter`: API clients allowed to read, to create/update, and
  to delete; `outsider`: an authenticated client with no right on the resource;
- `make_row`: a callable creating one row (through the services) and returning it;
  `make_rich_row` (optional, defaults to `make_row`): a row with everything a list
  row shows (tags, contact points...), for the query budgets;

and, as methods or attributes:

- `list_url`, `detail_url(row)`, `row_id(row)`;
- `watched_models`: the tables a refused request must leave exactly as they were;
- `create_payload()`, `bad_create_payload()` -> (payload, fields expected in errors);
- `update_payload(row)`, `bad_update_payload(row)` -> (payload, fields);
- `list_query_budget`, `detail_query_budget`.

Every refused request is checked to answer problem JSON and to write nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.db import models

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
# Bodies that are not a JSON object, and some that are not JSON at all.
NON_OBJECT_BODIES = ["[]", "[1, 2]", '"text"', "42", "true", "null", "{not json", '{"a": 1,}', "\ufeff{}"]


def snapshot(*model_classes: type[models.Model]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the given tables, to prove that a refused request wrote nothing."""
    return {m._meta.label: list(m._base_manager.order_by("pk").values()) for m in model_classes}


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """A problem+json response with `status`, naming each of `fields` in `errors`."""
    assert response.status_code == status, (response.status_code, response.content[:1000])
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    for field in fields:
        assert field in body["errors"], (field, body["errors"])
        assert body["errors"][field], (field, body["errors"])
        assert all(isinstance(message, str) and message for message in body["errors"][field])
    return body


def send_json(client: Any, method: str, url: str, body: Any, **headers: Any) -> Any:
    """Send `body` as raw JSON text (str) or JSON-encode it (anything else)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return client.generic(method, url, text.encode("utf-8", "surrogatepass"), "application/json", **headers)


def follow_pages(client: Any, url: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Every row of a cursor-paginated list, following `next`."""
    rows: list[dict[str, Any]] = []
    for _ in range(limit):
        response = client.get(url)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        rows.extend(body["results"])
        if not body["next"]:
            return rows
        url = body["next"]
    raise AssertionError(f"more than {limit} pages")


class ResourceContract:
    """The hooks every contract mixin uses; see the module docstring."""

    list_url: str = ""
    watched_models: tuple[type[models.Model], ...] = ()
    list_query_budget: int = 10
    detail_query_budget: int = 10
    max_rows: int | None = None  # a resource that cannot have more rows (one per role...)

    def detail_url(self, row: Any) -> str:
        return f"{self.list_url}{self.row_id(row)}/"

    def row_id(self, row: Any) -> int:
        return row.pk

    def unchanged(self) -> dict[str, list[dict[str, Any]]]:
        return snapshot(*self.watched_models)

    @pytest.fixture
    def make_rich_row(self, make_row: Callable[[], Any]) -> Callable[[], Any]:
        return make_row


class ListContract(ResourceContract):
    def test_list_needs_credentials(self, api: Any) -> None:
        # when
        response = api.get(self.list_url)
        # then: 401, not 403, and the client is told how to authenticate
        assert_problem(response, 401)
        assert response["WWW-Authenticate"] == "Token"

    def test_list_is_refused_without_the_right(self, outsider: Any) -> None:
        assert_problem(outsider.get(self.list_url), 403)

    def test_list_returns_the_rows(self, reader: Any, make_row: Callable[[], Any]) -> None:
        # given
        rows = [make_row() for _ in range(3)]
        # when
        listed = follow_pages(reader, self.list_url)
        # then
        assert {r["id"] for r in listed} >= {self.row_id(row) for row in rows}

    def test_list_pages_never_skip_or_repeat_a_row(self, reader: Any, make_row: Callable[[], Any]) -> None:
        # given
        expected = {self.row_id(make_row()) for _ in range(7)}
        # when
        listed = follow_pages(reader, f"{self.list_url}?page_size=2")
        # then
        ids = [r["id"] for r in listed]
        assert len(ids) == len(set(ids))
        assert set(ids) >= expected

    def test_list_pages_back_with_previous(self, reader: Any, make_row: Callable[[], Any]) -> None:
        # given
        for _ in range(5):
            make_row()
        first = reader.get(f"{self.list_url}?page_size=2").json()
        second = reader.get(first["next"]).json()
        # when
        back = reader.get(second["previous"]).json()
        # then
        assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]

    @pytest.mark.parametrize(
        "query",
        ["cursor=garbage", "cursor=eyJwIjpbIlx1MDAwMCIsMV19", "page_size=-1", "page_size=0", "page_size=abc"],
    )
    def test_list_refuses_a_bad_cursor_or_page_size(self, reader: Any, query: str) -> None:
        response = reader.get(f"{self.list_url}?{query}")
        assert_problem(response, 400, query.split("=")[0])

    @pytest.mark.parametrize("rows", [3, 60])
    def test_list_query_count_does_not_grow_with_rows(
        self,
        reader: Any,
        make_rich_row: Callable[[], Any],
        rows: int,
        django_assert_max_num_queries: Any,
    ) -> None:
        # given
        rows = min(rows, self.max_rows or rows)
        for _ in range(rows):
            make_rich_row()
        # when / then
        with django_assert_max_num_queries(self.list_query_budget):
            response = reader.get(f"{self.list_url}?page_size=200")
        assert response.status_code == 200
        assert len(response.json()["results"]) >= rows


class RetrieveContract(ResourceContract):
    versioned: bool = True

    def test_retrieve_returns_the_row(self, reader: Any, make_row: Callable[[], Any]) -> None:
        # given
        row = make_row()
        # when
        response = reader.get(self.detail_url(row))
        # then
        assert response.status_code == 200
        assert response.json()["id"] == self.row_id(row)
        if self.versioned:
            assert response["ETag"] == f'"{response.json()["version"]}"'

    def test_retrieve_needs_credentials(self, api: Any, make_row: Callable[[], Any]) -> None:
        assert_problem(api.get(self.detail_url(make_row())), 401)

    def test_retrieve_is_refused_without_the_right(self, outsider: Any, make_row: Callable[[], Any]) -> None:
        assert_problem(outsider.get(self.detail_url(make_row())), 403)

    @pytest.mark.parametrize("missing", ["999999999", "999999999999999999"])
    def test_retrieve_of_an_unknown_id_is_404(self, reader: Any, missing: str) -> None:
        assert_problem(reader.get(f"{self.list_url}{missing}/"), 404)

    @pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "99999999999999999999999", "%00", "%D9%A1"])
    def test_retrieve_of_a_malformed_id_is_404(self, reader: Any, bad: str) -> None:
        response = reader.get(f"{self.list_url}{bad}/")
        assert response.status_code == 404

    def test_retrieve_query_count_is_bounded(
        self, reader: Any, make_rich_row: Callable[[], Any], django_assert_max_num_queries: Any
    ) -> None:
        row = make_rich_row()
        with django_assert_max_num_queries(self.detail_query_budget):
            assert reader.get(self.detail_url(row)).status_code == 200


class CreateContract(ResourceContract):
    def create_payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def bad_create_payload(self) -> tuple[dict[str, Any], Iterable[str]]:
        raise NotImplementedError

    def test_create_returns_201_and_the_row(self, writer: Any) -> None:
        # when
        response = send_json(writer, "POST", self.list_url, self.create_payload())
        # then
        assert response.status_code == 201, response.content[:1000]
        created = response.json()
        assert response["Location"].endswith(f"/{created['id']}/")
        assert writer.get(response["Location"]).json()["id"] == created["id"]

    def test_create_needs_credentials(self, api: Any) -> None:
        before = self.unchanged()
        assert_problem(send_json(api, "POST", self.list_url, self.create_payload()), 401)
        assert self.unchanged() == before

    def test_create_is_refused_to_a_reader(self, reader: Any) -> None:
        before = self.unchanged()
        assert_problem(send_json(reader, "POST", self.list_url, self.create_payload()), 403)
        assert self.unchanged() == before

    def test_create_is_refused_to_an_outsider(self, outsider: Any) -> None:
        before = self.unchanged()
        assert_problem(send_json(outsider, "POST", self.list_url, self.create_payload()), 403)
        assert self.unchanged() == before

    def test_create_with_bad_input_is_400_with_field_errors(self, writer: Any) -> None:
        # given
        payload, fields = self.bad_create_payload()
        before = self.unchanged()
        # when
        response = send_json(writer, "POST", self.list_url, payload)
        # then
        assert_problem(response, 400, *fields)
        assert self.unchanged() == before

    def test_create_with_an_unknown_field_is_400(self, writer: Any) -> None:
        before = self.unchanged()
        response = send_json(writer, "POST", self.list_url, {**self.create_payload(), "no_such_field": 1})
        assert_problem(response, 400, "no_such_field")
        assert self.unchanged() == before

    @pytest.mark.parametrize("body", [*NON_OBJECT_BODIES, ""])
    def test_create_with_a_body_that_is_not_an_object_is_400(self, writer: Any, body: str) -> None:
        before = self.unchanged()
        assert_problem(send_json(writer, "POST", self.list_url, body), 400)
        assert self.unchanged() == before

    def test_create_with_a_form_body_is_415(self, writer: Any) -> None:
        before = self.unchanged()
        response = writer.generic("POST", self.list_url, "a=1", "application/x-www-form-urlencoded")
        assert_problem(response, 415)
        assert self.unchanged() == before


class VersionedUpdateContract(ResourceContract):
    """PUT/PATCH with If-Match: 428 without it, 412 when stale, and nothing written."""

    def update_payload(self, row: Any) -> dict[str, Any]:
        raise NotImplementedError

    def bad_update_payload(self, row: Any) -> tuple[dict[str, Any], Iterable[str]]:
        raise NotImplementedError

    def _etag(self, client: Any, row: Any) -> str:
        return client.get(self.detail_url(row))["ETag"]

    def test_update_with_the_current_etag_returns_200_and_a_new_etag(
        self, writer: Any, make_row: Callable[[], Any]
    ) -> None:
        # given
        row = make_row()
        etag = self._etag(writer, row)
        # when
        response = send_json(
            writer, "PATCH", self.detail_url(row), self.update_payload(row), HTTP_IF_MATCH=etag
        )
        # then
        assert response.status_code == 200, response.content[:1000]
        assert response["ETag"] != etag
        assert writer.get(self.detail_url(row))["ETag"] == response["ETag"]

    def test_update_without_if_match_is_428_and_writes_nothing(
        self, writer: Any, make_row: Callable[[], Any]
    ) -> None:
        row = make_row()
        before = self.unchanged()
        for method in ("PATCH", "PUT"):
            assert_problem(send_json(writer, method, self.detail_url(row), self.update_payload(row)), 428)
        assert self.unchanged() == before

    # Rows start at version 1; after the update below they are at 2.
    @pytest.mark.parametrize("stale", ['"0"', '"1"', '"999"', '"abc"', "W/", '"²"', '"1", "7"', "x" * 5000])
    def test_update_with_a_stale_etag_is_412_and_writes_nothing(
        self, writer: Any, make_row: Callable[[], Any], stale: str
    ) -> None:
        # given: the row changed since the client read it
        row = make_row()
        send_json(
            writer,
            "PATCH",
            self.detail_url(row),
            self.update_payload(row),
            HTTP_IF_MATCH=self._etag(writer, row),
        )
        before = self.unchanged()
        # when
        response = send_json(
            writer, "PATCH", self.detail_url(row), self.update_payload(row), HTTP_IF_MATCH=stale
        )
        # then
        assert_problem(response, 412)
        assert self.unchanged() == before

    def test_update_with_bad_input_is_400_and_writes_nothing(
        self, writer: Any, make_row: Callable[[], Any]
    ) -> None:
        row = make_row()
        payload, fields = self.bad_update_payload(row)
        etag = self._etag(writer, row)
        before = self.unchanged()
        assert_problem(
            send_json(writer, "PATCH", self.detail_url(row), payload, HTTP_IF_MATCH=etag), 400, *fields
        )
        assert self.unchanged() == before

    @pytest.mark.parametrize("body", NON_OBJECT_BODIES)
    def test_update_with_a_body_that_is_not_an_object_is_400(
        self, writer: Any, make_row: Callable[[], Any], body: str
    ) -> None:
        row = make_row()
        etag = self._etag(writer, row)
        before = self.unchanged()
        assert_problem(send_json(writer, "PATCH", self.detail_url(row), body, HTTP_IF_MATCH=etag), 400)
        assert self.unchanged() == before

    def test_update_is_refused_to_a_reader(self, reader: Any, make_row: Callable[[], Any]) -> None:
        row = make_row()
        etag = self._etag(reader, row)
        before = self.unchanged()
        response = send_json(
            reader, "PATCH", self.detail_url(row), self.update_payload(row), HTTP_IF_MATCH=etag
        )
        assert_problem(response, 403)
        assert self.unchanged() == before

    def test_update_needs_credentials(self, api: Any, make_row: Callable[[], Any]) -> None:
        row = make_row()
        before = self.unchanged()
        response = send_json(
            api, "PATCH", self.detail_url(row), self.update_payload(row), HTTP_IF_MATCH='"1"'
        )
        assert_problem(response, 401)
        assert self.unchanged() == before


class DeleteContract(ResourceContract):
    writer_may_delete: bool = False

    def test_delete_returns_204_and_the_row_is_gone(self, deleter: Any, make_row: Callable[[], Any]) -> None:
        row = make_row()
        response = deleter.delete(self.detail_url(row))
        assert response.status_code == 204, response.content[:1000]
        assert_problem(deleter.get(self.detail_url(row)), 404)

    def test_delete_is_refused_to_a_writer_without_the_right(
        self, reader: Any, writer: Any, make_row: Callable[[], Any]
    ) -> None:
        row = make_row()
        before = self.unchanged()
        for client in (reader,) if self.writer_may_delete else (reader, writer):
            assert_problem(client.delete(self.detail_url(row)), 403)
        assert self.unchanged() == before

    def test_delete_with_a_stale_etag_is_412_and_deletes_nothing(
        self, deleter: Any, make_row: Callable[[], Any]
    ) -> None:
        row = make_row()
        before = self.unchanged()
        assert_problem(deleter.delete(self.detail_url(row), HTTP_IF_MATCH='"999"'), 412)
        assert self.unchanged() == before
