"""The hottest statements on PostgreSQL, run on psycopg directly (issue 9).

Through SQLAlchemy a statement costs the hub about half a millisecond of Python (building it, its cache key,
the execution context, two greenlet hops, result processing); psycopg alone about a tenth of that. Every statement
here runs on the unit of work's own psycopg connection, inside its transaction (or in its autocommit):
`DriverQuery` is a Core SELECT compiled once, its rows shaped like SQLAlchemy's (`row._mapping[column]`, by
unambiguous name, as attributes) so that the repositories map them with the same code; `execute`,
`insert_returning_id` and `update_by_id` run written-out statements with values converted as their column types
convert them. psycopg's errors are raised as SQLAlchemy's, and the engine's before_cursor_execute listeners hear
of every statement. SQLite keeps the SQLAlchemy path (`DriverQuery.rows` takes it on any other driver).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import AsyncConnection as PsycopgConnection
from psycopg.types.json import Jsonb
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator

from payhub.kernel.adapters.db.types import UtcDateTime

_DIALECT: sa.Dialect = psycopg_dialect.dialect()  # type: ignore[no-untyped-call]


class _Positions:
    """Where each selected column sits in a row: by column object, and by name where the name is unambiguous."""

    def __init__(self, columns: Sequence[Any]) -> None:
        names = [column.key for column in columns]
        self.by_key: dict[Any, int] = {column: i for i, column in enumerate(columns)}
        self.names = [name for name in names if names.count(name) == 1]
        self.by_key.update({name: names.index(name) for name in self.names})


class _RowMapping(Mapping[Any, Any]):
    __slots__ = ("_positions", "_values")

    def __init__(self, positions: _Positions, values: Sequence[Any]) -> None:
        self._positions, self._values = positions, values

    def __getitem__(self, key: Any) -> Any:
        return self._values[self._positions.by_key[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions.names)

    def __len__(self) -> int:
        return len(self._positions.names)


class DriverRow:
    """A result row as the repositories read SQLAlchemy's: `row._mapping[column or name]`, `row.name`."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: _RowMapping) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


def psycopg_of(conn: AsyncConnection) -> PsycopgConnection[Any] | None:
    """The psycopg connection under conn (already checked out: no I/O), or None on another driver."""
    if conn.dialect.driver != "psycopg":
        return None
    driver = conn.sync_connection.connection.driver_connection if conn.sync_connection else None
    return driver if isinstance(driver, PsycopgConnection) else None


class DriverQuery:
    """A SELECT with named bind parameters (sa.bindparam), compiled for psycopg once."""

    def __init__(self, statement: sa.Select[Any]) -> None:
        self._statement = statement
        self._sql = str(statement.compile(dialect=_DIALECT))
        columns = list(statement.selected_columns)
        self._positions = _Positions(columns)
        self._utc = [i for i, column in enumerate(columns) if isinstance(column.type, UtcDateTime)]

    async def rows(self, conn: AsyncConnection, **params: Any) -> Sequence[Any]:
        """The rows, each with `_mapping` by selected column."""
        driver = psycopg_of(conn)
        if driver is None:
            result: Sequence[Any] = (await conn.execute(self._statement, params)).all()
            return result
        async with driver.cursor() as cursor:
            _announce(conn, cursor, self._sql, params)
            with _as_sqlalchemy_errors(conn, driver, self._sql, params):
                await cursor.execute(self._sql, params)
                found = await cursor.fetchall()
        return [DriverRow(_RowMapping(self._positions, self._utc_values(row))) for row in found]

    def _utc_values(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i in self._utc:
            value = values[i]
            if isinstance(value, datetime):
                values[i] = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return values


def bind(column: sa.Column[Any], value: Any) -> Any:
    """A column's value as psycopg takes it: the column type's own conversion (UTC datetimes, naive ones refused),
    JSON documents wrapped."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        value = kind.process_bind_param(value, _DIALECT)
    return Jsonb(value) if isinstance(kind, sa.JSON) and value is not None else value


@cache
def _insert_returning_id(table: sa.Table, columns: tuple[str, ...], taken: tuple[str, ...]) -> str:
    values = ", ".join(f"%({name})s" for name in columns)
    unless = f" ON CONFLICT ({', '.join(taken)}) DO NOTHING" if taken else ""
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values}){unless} RETURNING id"


@cache
def _update_by_id(table: sa.Table, columns: tuple[str, ...]) -> str:
    return f"UPDATE {table.name} SET {', '.join(f'{name} = %({name})s' for name in columns)} WHERE id = %(w_id)s"


async def insert_returning_id(conn: AsyncConnection, table: sa.Table, row: Mapping[str, Any], *,
                              taken: tuple[str, ...] = ()) -> int | None:
    """INSERT one row (psycopg); its id, or None when the unique key on the `taken` columns is already used."""
    done = await execute(conn, sql=_insert_returning_id(table, tuple(row), taken),
                         params={name: bind(table.c[name], value) for name, value in row.items()})
    return int(done.rows[0][0]) if done.rows else None


async def update_by_id(conn: AsyncConnection, table: sa.Table, id_: int, row: Mapping[str, Any]) -> int:
    """UPDATE one row by id (psycopg); how many rows it found."""
    done = await execute(conn, sql=_update_by_id(table, tuple(row)),
                         params={**{name: bind(table.c[name], value) for name, value in row.items()}, "w_id": id_})
    return done.rowcount


@dataclass(frozen=True)
class Executed:
    """What a statement run on the driver gave back."""

    rows: Sequence[tuple[Any, ...]]
    rowcount: int


async def execute(conn: AsyncConnection, *, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> Executed:
    """A PostgreSQL statement written for psycopg (%s or %(name)s parameters) on the driver."""
    driver = psycopg_of(conn)
    assert driver is not None, "driver.execute is for PostgreSQL"
    async with driver.cursor() as cursor:
        _announce(conn, cursor, sql, params)
        with _as_sqlalchemy_errors(conn, driver, sql, params):
            await cursor.execute(sql, params)
            return Executed(await cursor.fetchall() if cursor.description else [], cursor.rowcount)


@contextmanager
def _as_sqlalchemy_errors(conn: AsyncConnection, driver: PsycopgConnection[Any], sql: str,
                          params: Any) -> Iterator[None]:
    """psycopg's errors raised as SQLAlchemy raises them (IntegrityError, OperationalError…), so that callers tell
    duplicates, deadlocks and an unreachable database apart the same way on both paths; parameters stay hidden.
    A lost connection is handled as SQLAlchemy handles one on its own path (see _replace_lost_connections)."""
    try:
        yield
    except psycopg.Error as error:
        lost = driver.closed or driver.broken
        if lost:
            _replace_lost_connections(conn, error)
        raise sa_exc.DBAPIError.instance(sql, params, error, psycopg.Error, hide_parameters=True,
                                         connection_invalidated=lost) from error


def _replace_lost_connections(conn: AsyncConnection, error: psycopg.Error) -> None:
    """This connection is dropped, and every pooled one opened before it is replaced at its next checkout: a lost
    connection usually means a restarted or failed-over database, which ended them all, and each would otherwise
    fail one request of its own. The pool call is the one SQLAlchemy makes for a disconnect it sees itself."""
    sync = conn.sync_connection
    if sync is None or sync.invalidated:
        return
    pooled = sync.connection
    sync.invalidate(error)
    conn.sync_engine.pool._invalidate(pooled, error, _checkin=False)


def _announce(conn: AsyncConnection, cursor: Any, sql: str, params: Any) -> None:
    """Tell the engine's before_cursor_execute listeners (statement counts in tests, tracing), if any."""
    sync = conn.sync_connection
    if sync is not None and sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, cursor, sql, params, None, False)
