"""Set-based writes of many rows. On PostgreSQL: one short statement over unnest() of one array per column, so
the text is the same whatever the number of rows and psycopg prepares it once (executemany would send one
statement per row, a multi-row VALUES a new long text per batch size). On SQLite, in process: executemany."""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator

from payhub.kernel.adapters.db import driver


def upsert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT … ON CONFLICT for the connection's engine (SQLite ≥ 3.24 and PostgreSQL)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def arrays(conn: AsyncConnection, table: sa.Table, columns: list[str],
           rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """One list of bind values per column (custom column types applied)."""
    found: dict[str, list[Any]] = {}
    for name in columns:
        kind = table.c[name].type
        values = [row[name] for row in rows]
        if isinstance(kind, TypeDecorator):
            values = [kind.process_bind_param(value, conn.dialect) for value in values]
        found[name] = values
    return found


def unnest(conn: AsyncConnection, table: sa.Table, columns: list[str], *, prefix: str = "") -> str:
    """unnest(%(a)s::type[], …) over the columns' arrays, as a FROM item v with the columns' names (for psycopg);
    prefix goes before each parameter's name, for two tables' arrays in one statement."""
    return unnest_for(conn.dialect, table, columns, prefix=prefix)


def unnest_for(dialect: sa.Dialect, table: sa.Table, columns: list[str], *, prefix: str = "") -> str:
    """unnest() as above, for a dialect (statements built once per dialect)."""
    return _unnest(table, tuple(columns), dialect, prefix)


@cache
def _unnest(table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect, prefix: str) -> str:
    casts = ", ".join(f"%({prefix}{name})s::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    return f"unnest({casts}) AS v({', '.join(columns)})"


async def insert_rows(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows (all with the same keys), set-based on either engine."""
    if is_postgres(conn):
        await unnest_insert(conn, table, rows)
    else:
        await conn.execute(sa.insert(table), rows)


async def unnest_insert(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]], *,
                        suffix: str = "") -> Sequence[tuple[Any, ...]]:
    """PostgreSQL, on psycopg directly: INSERT the rows from unnest(); suffix: an ON CONFLICT and/or RETURNING
    clause, whose rows come back."""
    columns = list(rows[0])
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM " \
          f"{unnest(conn, table, columns)} {suffix}"
    return (await driver.execute(conn, sql=sql, params=arrays(conn, table, columns, rows))).rows
