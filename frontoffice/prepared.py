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

On PostgreSQL the kept statement is also prepared on the server, once per connection
(`PREPARE`, then `EXECUTE` with each call's values): planning these small reads cost
about as much as running them (the token lookup: 0.37 ms to plan, 0.22 ms to run).
The connections keep `prepare_threshold=None` for everything else, so that searches
are planned for their values (a generic plan of a trigram `ILIKE` is 1,000x slower);
the reads kept here compare ids and keys, whose plan is the same for every value.
`DATABASE_PREPARED_STATEMENTS=0` turns this off (a pooler in transaction mode does
not keep a session's prepared statements). A migration that changes the type of a
column a prepared statement reads makes PostgreSQL refuse it on that connection; it is
then prepared again (`_execute_kept`), so a deploy's migration does not fail every
request of the processes already running until their connections end.

Only the values passed as `args` may change; anything else that shapes the SQL (a
permission list, a kind filter present or not) belongs in `key`. A statement whose
stand-ins do not come back as parameters, or that uses what this does not rebuild
(extra select, rows other than model instances), is never kept: it runs through the
queryset every time.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import NotSupportedError, connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

_INT_MARKS = 1_900_000_000  # within every integer column's range: the ORM keeps it as it is
_MAX_STATEMENTS = 512  # per thread; past it, the cache starts again (shapes are few)
_MAX_SERVER_STATEMENTS = 256  # per connection; past it, DEALLOCATE ALL and start again
_local = threading.local()
_written_local = threading.local()  # prepared_sql_rows's statements, by their SQL
_names = itertools.count(1)
_PLACEHOLDER = re.compile(r"%%|%s")


@dataclass
class _Statement:
    sql: str
    params: list[Any]
    slots: list[tuple[int, int]]  # (position in params, index in args)
    compiler: Any
    converters: dict[int, Any]  # the ORM's, per column (the compiler's `get_converters`)
    init_list: list[str]
    start: int
    end: int
    model: type[Model]
    populators: list[Any]
    annotations: dict[str, int]  # attribute -> position in a row
    # On PostgreSQL: the name it is prepared under; the PREPARE, whose other values
    # (`fixed`) are bound once into it, the call's values becoming $1..$n; the EXECUTE
    # that runs it with a call's values; and that EXECUTE with the statement in a
    # comment, for where queries are logged (set when it is first prepared).
    server_name: str | None = None
    prepare_sql: str | None = None
    fixed: list[Any] = field(default_factory=list)
    execute_sql: str | None = None
    logged_sql: str | None = None


@dataclass
class _Written:
    """A hand-written statement (`prepared_sql_rows`): its PostgreSQL forms, as a
    `_Statement`'s, every value of a call being one of its $1..$n."""

    server_name: str
    prepare_sql: str
    execute_sql: str
    fixed: list[Any] = field(default_factory=list)
    logged_sql: str | None = None


def _server_forms(statement: _Statement, count: int) -> None:
    """Fills `statement`'s PostgreSQL forms; `count` is the number of a call's values."""
    slot_of = dict(statement.slots)
    positions = itertools.count()

    def placeholder(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%%"
        position = next(positions)
        return f"${slot_of[position] + 1}" if position in slot_of else "%s"

    name = f"fo_prepared_{next(_names)}"
    statement.server_name = name
    statement.prepare_sql = f"PREPARE {name} AS {_PLACEHOLDER.sub(placeholder, statement.sql)}"
    statement.fixed = [value for position, value in enumerate(statement.params) if position not in slot_of]
    statement.execute_sql = f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"


def _execute_sql(connection: Any, statement: _Statement | _Written) -> str:
    """The EXECUTE of `statement`: where the connection logs queries (DEBUG, tests that
    capture them), with the statement it runs in a comment, so that what a request ran
    stays readable; elsewhere bare."""
    if connection.queries_logged and statement.logged_sql:
        return statement.logged_sql
    return statement.execute_sql  # type: ignore[return-value]


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
    statement = _Statement(
        sql=sql,
        params=params,
        slots=slots,
        compiler=compiler,
        converters=compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]]),
        init_list=[column[0].target.attname for column in compiler.select[start:end]],
        start=start,
        end=end,
        model=klass_info["model"],
        populators=get_related_populators(klass_info, compiler.select, alias),
        annotations=dict(compiler.annotation_col_map or {}),
    )
    if _prepares(connections[alias]):
        _server_forms(statement, len(marks))
    return statement


def _prepares(database: Any) -> bool:
    """Whether statements are prepared on `database`'s server: PostgreSQL, unless the
    setting turns it off. The PREPARE takes its other values bound by the driver on the
    client (Django's default); a connection set to bind on the server keeps the plain
    statement."""
    return bool(
        database.vendor == "postgresql"
        and getattr(settings, "DATABASE_PREPARED_STATEMENTS", True)
        and not database.settings_dict.get("OPTIONS", {}).get("server_side_binding")
    )


def prepared_sql_rows(sql: str, args: list[Any], *, using: str) -> list[tuple[Any, ...]]:
    """The rows of the hand-written `sql` run with `args` (one per `%s`) on the database
    `using`, through Django's cursor (counted and logged as one query). Where statements
    are prepared (`prepared_rows`), it is PREPAREd once per connection and run with
    EXECUTE: for a read whose planning costs about as much as running it. The SQL must
    be the same on every call (a list of ids as one array value, `= ANY(%s)`, not a
    placeholder per id) and its plan good for every value."""
    database = connections[using]
    with database.cursor() as cursor:
        if _prepares(database):
            _execute_kept(database, cursor, _written(sql, len(args)), args)
        else:
            cursor.execute(sql, args)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _written(sql: str, count: int) -> _Written:
    """`sql`'s PostgreSQL forms, kept per thread; `count` is the number of its values."""
    kept: dict[str, _Written] = _written_local.__dict__
    statement = kept.get(sql)
    if statement is None:
        if len(kept) >= _MAX_STATEMENTS:
            kept.clear()
        name = f"fo_prepared_{next(_names)}"
        positions = itertools.count(1)
        statement = kept[sql] = _Written(
            server_name=name,
            prepare_sql=f"PREPARE {name} AS "
            + _PLACEHOLDER.sub(lambda m: "%%" if m.group(0) == "%%" else f"${next(positions)}", sql),
            execute_sql=f"EXECUTE {name}({', '.join(['%s'] * count)})",
        )
    return statement


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


Call = tuple[Hashable, Callable[..., QuerySet[Any]], tuple[Any, ...]]


def prepared_rows_together(*calls: Call) -> list[list[Any]]:
    """`[prepared_rows(key, build, *args) for key, build, args in calls]`, with the
    reads already compiled sent to the server together where the database allows it
    (PostgreSQL's pipeline mode: one round trip for all of them instead of one each;
    each is still one query to Django's counters and logs). A read not yet compiled in
    this thread, or routed to another database, runs on its own."""
    cache: dict[Any, dict[str, Any]] = _local.__dict__
    kept: dict[int, tuple[_Statement, tuple[Any, ...]]] = {}
    aliases: set[str] = set()
    for index, (key, _build, args) in enumerate(calls):
        shapes = cache.get(key)
        if shapes is None:
            continue
        alias = router.db_for_read(shapes["model"])
        statement = shapes.get(alias)
        if isinstance(statement, _Statement) and statement.execute_sql is not None:
            kept[index] = (statement, args)
            aliases.add(alias)
    if len(kept) < 2 or len(aliases) != 1 or not _pipelines():
        return [prepared_rows(key, build, *args) for key, build, args in calls]
    alias = aliases.pop()
    connection = connections[alias]
    results: dict[int, list[Any]] = {}
    try:
        with contextlib.ExitStack() as cursors:
            sent = []
            first = cursors.enter_context(connection.cursor())
            for statement, _args in kept.values():
                _prepare_on_server(connection, first, statement)
            with connection.wrap_database_errors, connection.connection.pipeline():
                for index, (statement, args) in kept.items():
                    cursor = cursors.enter_context(connection.cursor())
                    cursor.execute(_execute_sql(connection, statement), args)
                    sent.append((index, statement, cursor))
            # The pipeline's end waited for every result: each cursor holds its rows.
            for index, statement, cursor in sent:
                results[index] = _rows(statement, alias, cursor.fetchall())
    except NotSupportedError as error:
        # A statement whose result columns changed type (`_execute_kept`): which one is
        # not told, so each is prepared again; outside a transaction, each runs alone.
        if not _stale_plan(error):
            raise
        for statement, _args in kept.values():
            _rename(statement)
        if connection.in_atomic_block:
            raise
        return [prepared_rows(key, build, *args) for key, build, args in calls]
    return [
        results[index] if index in results else prepared_rows(key, build, *args)
        for index, (key, build, args) in enumerate(calls)
    ]


@cache
def _pipelines() -> bool:
    """Whether the driver's libpq has pipeline mode (14 and later)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _values(statement: _Statement, args: tuple[Any, ...]) -> list[Any]:
    params = list(statement.params)
    for position, index in statement.slots:
        params[position] = args[index]
    return params


def _run(statement: _Statement, alias: str, args: tuple[Any, ...]) -> list[Any]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        if statement.execute_sql is None:
            cursor.execute(statement.sql, _values(statement, args))
        else:
            _execute_kept(connection, cursor, statement, args)
        fetched = cursor.fetchall()
    return _rows(statement, alias, fetched)


def _execute_kept(connection: Any, cursor: Any, statement: _Statement | _Written, args: Any) -> None:
    """The EXECUTE of `statement`, PREPAREd on this connection first where it is not yet.

    PostgreSQL refuses to run a prepared statement whose result columns changed type
    since it was prepared (a migration widened a column it reads: "cached plan must not
    change result type"), on every call, for as long as the connection lasts. Such a
    statement is prepared again under a new name and, outside a transaction, run again
    at once; inside one the transaction has failed, so the error stands and the next
    use prepares it afresh."""
    _prepare_on_server(connection, cursor, statement)
    try:
        cursor.execute(_execute_sql(connection, statement), args)
    except NotSupportedError as error:
        if not _stale_plan(error):
            raise
        _rename(statement)
        if connection.in_atomic_block:
            raise
        _prepare_on_server(connection, cursor, statement)
        cursor.execute(_execute_sql(connection, statement), args)


def _stale_plan(error: BaseException) -> bool:
    """Whether `error` is PostgreSQL's refusal of a prepared statement whose result
    columns changed type (SQLSTATE 0A000, feature not supported: the only such refusal
    of an EXECUTE of a read)."""
    return getattr(error.__cause__, "sqlstate", None) == "0A000"


def _rename(statement: _Statement | _Written) -> None:
    """A new server name for `statement`, so that its next use PREPAREs it again (the
    old one stays on the server, unused, until DEALLOCATE ALL or the connection ends)."""
    old, new = statement.server_name, f"fo_prepared_{next(_names)}"
    statement.server_name = new
    statement.prepare_sql = f"PREPARE {new} AS " + str(statement.prepare_sql).split(" AS ", 1)[1]
    statement.execute_sql = f"EXECUTE {new}" + str(statement.execute_sql)[len(f"EXECUTE {old}") :]
    statement.logged_sql = None


def _rows(statement: _Statement, alias: str, fetched: list[Any]) -> list[Any]:
    """The model instances of `fetched`, as the queryset builds them (`results_iter`,
    with the converters found once instead of on every call)."""
    rows: list[Any] = []
    model, init_list, start, end = statement.model, statement.init_list, statement.start, statement.end
    converted = (
        statement.compiler.apply_converters(fetched, statement.converters)
        if statement.converters
        else fetched
    )
    for row in converted:
        obj = model.from_db(alias, init_list, row[start:end])
        for populator in statement.populators:
            populator.populate(row, obj)
        for attribute, position in statement.annotations.items():
            setattr(obj, attribute, row[position])
        rows.append(obj)
    return rows


def _prepare_on_server(connection: Any, cursor: Any, statement: _Statement | _Written) -> None:
    """PREPAREs `statement` on this connection's session unless it already holds it.

    Sent on the driver's cursor, beside Django's query log and counters: it reads no
    rows (the EXECUTE that follows is the query). A prepared statement lasts as long
    as the session, whatever happens to the transaction it was made in; a new
    connection (a reconnect, CONN_MAX_AGE) starts with none."""
    held = getattr(connection, "_prepared_on_server", None)
    if held is None or held[0] is not connection.connection:
        held = connection._prepared_on_server = (connection.connection, set())
    names: set[str] = held[1]
    name = statement.server_name
    if name is None or name in names:
        return
    driver = cursor.cursor
    with connection.wrap_database_errors:
        if len(names) >= _MAX_SERVER_STATEMENTS:
            driver.execute("DEALLOCATE ALL")
            names.clear()
        driver.execute(statement.prepare_sql, statement.fixed)
        if statement.logged_sql is None:
            shown = driver.mogrify(statement.prepare_sql, statement.fixed).split(" AS ", 1)[1]
            comment = shown.replace("*/", "* /").replace("%", "%%")  # read by the driver's %s binding
            statement.logged_sql = f"{statement.execute_sql} /* {comment} */"
    names.add(name)
