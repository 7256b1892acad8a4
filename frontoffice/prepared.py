"""Reads compiled by the ORM once per process and run again with new values.

A small read (one customer's tags, contact points, timeline page) costs more in
Python than in the database: building the queryset and compiling it to SQL take
longer than running it. For a read whose SQL is the same on every call but for a few
values (the customer's id), `prepared_rows` builds the queryset once with stand-in
values, keeps the compiled statement, and on every later call runs it with the real
values through Django's cursor (so query counting, logging and the router's choice of
database apply) and builds the rows as the queryset would: the same model instances
(`from_db`, `select_related` objects and deferred fields included) and the same values
(the ORM's converters), annotations set on them.

Only the values passed as `args` may change; anything else that shapes the SQL (a
permission list, a kind filter present or not) belongs in `key`. A statement whose
stand-ins do not come back as parameters, or that uses what this does not rebuild
(extra select, rows other than model instances), is never kept: it runs through the
queryset every time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

_INT_MARKS = 1_900_000_000  # within every integer column's range: the ORM keeps it as it is
_MAX_STATEMENTS = 512  # per thread; past it, the cache starts again (shapes are few)
_local = threading.local()


@dataclass
class _Statement:
    sql: str
    params: list[Any]
    slots: list[tuple[int, int]]  # (position in params, index in args)
    compiler: Any
    init_list: list[str]
    start: int
    end: int
    model: type[Model]
    populators: list[Any]
    annotations: dict[str, int]  # attribute -> position in a row


_UNPREPARABLE = object()


def _mark(index: int, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("prepared_rows takes int and str values only.")
    return _INT_MARKS + index if isinstance(value, int) else f"\x1fprepared-{index}\x1f"


def _prepare(queryset: QuerySet[Any], marks: list[Any], alias: str) -> _Statement | None:
    if queryset._iterable_class is not ModelIterable or queryset._known_related_objects:  # type: ignore[attr-defined]
        return None
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    if compiler.has_extra_select or compiler.klass_info is None:
        return None
    params = list(params)
    slots = [
        (position, marks.index(value))
        for position, value in enumerate(params)
        if any(value == mark and type(value) is type(mark) for mark in marks)
    ]
    if {index for _, index in slots} != set(range(len(marks))):
        return None  # a value the ORM changed on its way to a parameter: not safe to replace
    klass_info = compiler.klass_info
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    return _Statement(
        sql=sql,
        params=params,
        slots=slots,
        compiler=compiler,
        init_list=[column[0].target.attname for column in compiler.select[start:end]],
        start=start,
        end=end,
        model=klass_info["model"],
        populators=get_related_populators(klass_info, compiler.select, alias),
        annotations=dict(compiler.annotation_col_map or {}),
    )


def prepared_rows(key: Hashable, build: Callable[..., QuerySet[M]], *args: Any) -> list[M]:
    """`list(build(*args))`, compiled once per `key` (per thread and database): `build`
    must make the same SQL for every call with this `key` but for the values of `args`
    (ints and strs, each a value the queryset compares a column with)."""
    cache: dict[Any, dict[str, Any]] = _local.__dict__
    shapes = cache.get(key)
    if shapes is not None:
        alias = router.db_for_read(shapes["model"])
        statement = shapes.get(alias)
        if isinstance(statement, _Statement):
            return _run(statement, alias, args)
        if statement is _UNPREPARABLE:
            return list(build(*args))
    queryset = build(*args)
    alias = queryset.db
    if len(cache) >= _MAX_STATEMENTS:
        cache.clear()
    shapes = cache.setdefault(key, {"model": queryset.model})
    marks = [_mark(index, value) for index, value in enumerate(args)]
    prepared = None
    # A stand-in the ORM answers without SQL (out of a column's range): nothing kept.
    with contextlib.suppress(EmptyResultSet, FullResultSet):
        if alias == router.db_for_read(queryset.model):
            prepared = _prepare(build(*marks), marks, alias)
    shapes[alias] = prepared if prepared is not None else _UNPREPARABLE
    return list(queryset)


def _run(statement: _Statement, alias: str, args: tuple[Any, ...]) -> list[Any]:
    params = list(statement.params)
    for position, index in statement.slots:
        params[position] = args[index]
    with connections[alias].cursor() as cursor:
        cursor.execute(statement.sql, params)
        fetched = cursor.fetchall()
    rows: list[Any] = []
    model, init_list, start, end = statement.model, statement.init_list, statement.start, statement.end
    for row in statement.compiler.results_iter([fetched]):
        obj = model.from_db(alias, init_list, row[start:end])
        for populator in statement.populators:
            populator.populate(row, obj)
        for attribute, position in statement.annotations.items():
            setattr(obj, attribute, row[position])
        rows.append(obj)
    return rows
