"""Shared persistence of state-machine aggregates: guarded update plus the transition record."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.domain.errors import StaleState
from payhub.kernel.domain.transitions import StateMachine, Transition
from payhub.kernel.adapters.db import driver
from payhub.kernel.adapters.db.bulk import upsert
from payhub.kernel.adapters.db.driver import psycopg_of
from payhub.kernel.adapters.db.tables import state_transitions

NOT_COLUMNS = {"saved_state", "transitions", "id"}


def to_row(aggregate: Any, table: sa.Table) -> dict[str, Any]:
    """The aggregate's fields that are columns of table, enums as their values."""
    row: dict[str, Any] = {}
    kind: type = type(aggregate)
    for name in _column_fields(kind, table):
        value = getattr(aggregate, name)
        if isinstance(value, StrEnum):
            value = value.value
        elif isinstance(value, tuple):
            value = ",".join(value)
        row[name] = value
    return row


@cache
def _column_fields(kind: type, table: sa.Table) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind)
                 if field.name not in NOT_COLUMNS and field.name in table.c)


def remember_saved(aggregate: StateMachine, table: sa.Table) -> None:
    """The aggregate as read is what is saved: its state, and its columns (so that a save writes what changed)."""
    aggregate.saved_state = aggregate.state
    aggregate.saved_row = to_row(aggregate, table)


def _changed(row: dict[str, Any], saved: dict[str, Any] | None) -> dict[str, Any]:
    """The columns to set: the version always (it is what the guard moves on), documents always (one changed in
    place is the very object that was saved: not copied on every read, so not comparable), the others if they
    differ."""
    if saved is None:
        return row
    return {name: value for name, value in row.items()
            if name == "version" or isinstance(value, dict | list) or name not in saved or saved[name] != value}


async def insert_aggregate(conn: AsyncConnection, table: sa.Table, aggregate: StateMachine, **extra: Any) -> None:
    """Insert a new aggregate and remember its id and saved state."""
    if not await insert_aggregate_unless(conn, table, aggregate, taken=(), **extra):
        raise AssertionError("an insert without ON CONFLICT inserted nothing")


async def insert_aggregate_unless(conn: AsyncConnection, table: sa.Table, aggregate: StateMachine, *,
                                  taken: tuple[str, ...], **extra: Any) -> bool:
    """Insert a new aggregate unless its `taken` columns' unique key is already used (then False, nothing
    written, the transaction still usable: ON CONFLICT DO NOTHING, no savepoint); remember its id and state."""
    row = to_row(aggregate, table) | extra
    row["updated_at"] = row.get("updated_at") or row["created_at"]
    if psycopg_of(conn) is not None:
        found = await driver.insert_returning_id(conn, table, row, taken=taken)
    else:
        insert = upsert(conn, table).values(**row)
        if taken:
            insert = insert.on_conflict_do_nothing(index_elements=list(taken))
        found = (await conn.execute(insert.returning(table.c.id))).scalar()
    if found is None:
        return False
    aggregate.id = found
    aggregate.updated_at = row["updated_at"]
    await _record(conn, aggregate)
    aggregate.saved_state = aggregate.state
    aggregate.saved_row = row
    return True


@dataclass(frozen=True)
class RowWrite:
    """A row of another table that belongs to an aggregate's move (an order's payment): inserted when id is None,
    else updated by id, and only if the guarded update found the aggregate's row."""

    table: sa.Table
    values: Mapping[str, Any]
    id: int | None = None


async def save_aggregate(conn: AsyncConnection, table: sa.Table, aggregate: StateMachine, *,
                         rows: Sequence[RowWrite] = ()) -> list[int]:
    """UPDATE … WHERE state = :expected AND version = :version; StaleState if another writer got there first. The
    rows are written with it; the id of each comes back (the new one of an insert).

    Only the version, the documents and the columns that differ from `saved_row` are set (all when it is not kept);
    the guard on state and version makes that safe. On PostgreSQL the update, the record of its moves and the rows are one statement run on
    psycopg directly (moves and rows are written only when the guarded update found its row); SQLite, in process,
    runs them one after the other."""
    whole = to_row(aggregate, table)
    whole["version"] = aggregate.version + 1
    if aggregate.transitions:
        whole["updated_at"] = aggregate.transitions[-1].at
    row = _changed(whole, aggregate.saved_row)
    if aggregate.transitions and psycopg_of(conn) is not None:
        moves = _transition_rows(aggregate)
        shapes = tuple((write.table, tuple(write.values), write.id is None) for write in rows)
        found = (await driver.execute(conn, sql=_guarded_move(table, tuple(row), shapes), params={
            **{f"s_{name}": driver.bind(table.c[name], value) for name, value in row.items()},
            "w_id": aggregate.id, "w_state": str(aggregate.saved_state), "w_version": aggregate.version,
            **{f"t_{name}": [move[name] for move in moves] for name in _MOVE_COLUMNS},
            **{f"r{i}_{name}": driver.bind(write.table.c[name], value)
               for i, write in enumerate(rows) for name, value in write.values.items()},
            **{f"r{i}_id": write.id for i, write in enumerate(rows) if write.id is not None},
        })).rows[0]
        if found[0] != len(moves):
            raise StaleState(aggregate.aggregate, aggregate.key)
        if None in found[1:]:
            raise RuntimeError("a row written with an aggregate's move was not found")
        ids = [int(found_id) for found_id in found[1:]]
        aggregate.transitions = []
    else:
        result = await conn.execute(
            sa.update(table)
            .where(table.c.id == aggregate.id)
            .where(table.c.state == str(aggregate.saved_state))
            .where(table.c.version == aggregate.version)
            .values(**row)
        )
        if result.rowcount != 1:
            raise StaleState(aggregate.aggregate, aggregate.key)
        await _record(conn, aggregate)
        ids = [await write_row(conn, write) for write in rows]
    aggregate.version += 1
    aggregate.saved_state = aggregate.state
    aggregate.saved_row = whole
    return ids


async def write_row(conn: AsyncConnection, write: RowWrite) -> int:
    """Insert or update one row on its own (psycopg on PostgreSQL); its id."""
    if psycopg_of(conn) is not None:
        if write.id is None:
            new_id = await driver.insert_returning_id(conn, write.table, write.values)
            assert new_id is not None
            return new_id
        await driver.update_by_id(conn, write.table, write.id, write.values)
        return write.id
    if write.id is None:
        return int((await conn.execute(sa.insert(write.table).values(**write.values)
                                       .returning(write.table.c.id))).scalar_one())
    await conn.execute(sa.update(write.table).where(write.table.c.id == write.id).values(**write.values))
    return write.id


_MOVE_COLUMNS = ("merchant_id", "aggregate", "aggregate_key", "from_state", "to_state", "reason", "actor", "at")


@cache
def _guarded_move(table: sa.Table, columns: tuple[str, ...],
                  rows: tuple[tuple[sa.Table, tuple[str, ...], bool], ...]) -> str:
    """The guarded update of an aggregate's row, the insert of its moves and the writes of its rows (each done only
    when the update found its row), as one statement for psycopg that returns how many moves it recorded and each
    row's id; the moves come as one array per column, so one text serves any number."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    sets = ", ".join(f"{name} = %(s_{name})s" for name in columns)
    moves = ", ".join(f"%(t_{name})s::{state_transitions.c[name].type.compile(dialect=dialect)}[]"
                      for name in _MOVE_COLUMNS)
    names = ", ".join(_MOVE_COLUMNS)
    ctes = [f"moved AS (UPDATE {table.name} SET {sets} WHERE id = %(w_id)s AND state = %(w_state)s"
            f" AND version = %(w_version)s RETURNING id)",
            f"moves AS (INSERT INTO state_transitions ({names}) SELECT {names} FROM unnest({moves}) AS v({names})"
            f" WHERE EXISTS (SELECT 1 FROM moved) RETURNING id)"]
    for i, (other, row_columns, insert) in enumerate(rows):
        if insert:
            values = ", ".join(f"%(r{i}_{name})s::{other.c[name].type.compile(dialect=dialect)}" for name in row_columns)
            ctes.append(f"r{i} AS (INSERT INTO {other.name} ({', '.join(row_columns)}) SELECT {values}"
                        f" WHERE EXISTS (SELECT 1 FROM moved) RETURNING id)")
        else:
            row_sets = ", ".join(f"{name} = %(r{i}_{name})s" for name in row_columns)
            ctes.append(f"r{i} AS (UPDATE {other.name} SET {row_sets} WHERE id = %(r{i}_id)s"
                        f" AND EXISTS (SELECT 1 FROM moved) RETURNING id)")
    found = "".join(f", (SELECT id FROM r{i})" for i in range(len(rows)))
    return f"WITH {', '.join(ctes)} SELECT (SELECT count(*) FROM moves){found}"


def _transition_rows(aggregate: StateMachine) -> list[dict[str, Any]]:
    return [
        {
            "merchant_id": aggregate.merchant_id, "aggregate": type(aggregate).__name__.lower(),
            "aggregate_key": t.key, "from_state": t.from_state, "to_state": t.to_state,
            "reason": t.reason[:2000], "actor": t.actor[:64], "at": t.at,
        }
        for t in aggregate.transitions
    ]


async def _record(conn: AsyncConnection, aggregate: StateMachine) -> None:
    if aggregate.transitions:
        await conn.execute(sa.insert(state_transitions), _transition_rows(aggregate))
    aggregate.transitions = []


async def load_history(conn: AsyncConnection, *, key: str) -> list[Transition]:
    """Every recorded move of the aggregate with this key, oldest first."""
    rows = await conn.execute(
        sa.select(state_transitions).where(state_transitions.c.aggregate_key == key).order_by(state_transitions.c.id)
    )
    return [
        Transition(r.aggregate, r.aggregate_key, r.from_state, r.to_state, r.reason, r.actor, r.at)
        for r in rows
    ]
