"""The double-entry ledger in the database: accounts locked in id order, legs carrying balances and versions."""
from __future__ import annotations

import weakref
from functools import cache
from dataclasses import fields
from datetime import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.db import bulk, driver
from payhub.kernel.adapters.db.driver import DriverQuery
from payhub.kernel.adapters.db.errors import is_unique_violation
from payhub.kernel.adapters.db.tables import journal_entries, journal_legs, ledger_accounts
from payhub.kernel.domain.errors import NotFound
from payhub.kernel.domain.ledger import AccountLine, AccountSpec, JournalEntry, LedgerAccount, NormalSide
from payhub.kernel.domain.ledger_batch import AccountState, LegRow, Postings

# (merchant_id, code) -> id per engine, of committed accounts only: ids never change. An id taken from a transaction
# that opened its account would go stale if that transaction rolled back, and whoever used it next would find its
# row missing only after locking the others, then open the account while holding those locks (a deadlock with the
# transaction opening it). A stale entry (a database reset under a running process) is still noticed and resolved.
_ids: weakref.WeakKeyDictionary[Any, dict[tuple[int, str], int]] = weakref.WeakKeyDictionary()
_LEG_COLUMNS = tuple(f.name for f in fields(LegRow))
_ACCOUNT_STATES = sa.select(
    ledger_accounts.c.id, ledger_accounts.c.merchant_id, ledger_accounts.c.code, ledger_accounts.c.balance,
    ledger_accounts.c.version, ledger_accounts.c.normal_side, ledger_accounts.c.non_negative,
).order_by(ledger_accounts.c.id)
_LOCK = DriverQuery(_ACCOUNT_STATES.where(
    ledger_accounts.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger)))).with_for_update())
_ENTRY_COLUMNS = ["id", "merchant_id", "kind", "ref", "memo", "created_at"]
_UPDATE_BALANCES = (
    "UPDATE ledger_accounts AS a SET balance = b.balance, version = b.new_version FROM "
    "unnest(%(b_id)s::BIGINT[], %(b_version)s::BIGINT[], %(b_balance)s::BIGINT[], %(b_new_version)s::BIGINT[]) "
    "AS b(id, version, balance, new_version) WHERE a.id = b.id AND a.version = b.version RETURNING a.id")


@cache
def _write_postings_sql(dialect: sa.Dialect) -> str:
    """Balances, legs and entries in one statement (PostgreSQL). The entries' WHERE reads the legs' CTE through an
    InitPlan, which runs it to completion before the first entry is inserted: the entry guard's trigger (a volatile
    function) then sees every leg, as it would have after a statement of their own."""
    legs = ", ".join(_LEG_COLUMNS)
    entries = ", ".join(_ENTRY_COLUMNS)
    return (
        f"WITH balances AS ({_UPDATE_BALANCES}), "
        f"legs AS (INSERT INTO journal_legs ({legs}) SELECT {legs} FROM "
        f"{bulk.unnest_for(dialect, journal_legs, list(_LEG_COLUMNS), prefix='leg_')} RETURNING entry_id) "
        f"INSERT INTO journal_entries ({entries}) SELECT {entries} FROM "
        f"{bulk.unnest_for(dialect, journal_entries, _ENTRY_COLUMNS, prefix='entry_')} "
        "WHERE (SELECT count(*) FROM legs) = %(legs)s RETURNING (SELECT count(*) FROM balances)")


def _leg_values(leg: LegRow) -> dict[str, Any]:
    return {name: getattr(leg, name) for name in _LEG_COLUMNS}


class SqlLedgerRepository:
    def __init__(self, conn: AsyncConnection, *,
                 before_locking: Callable[[], Awaitable[None]] | None = None) -> None:
        self._conn = conn
        self._before_locking = before_locking  # the unit of work's writes that should not wait under these locks
        self._opened: set[tuple[int, str]] = set()  # accounts this transaction opened: uncommitted, so not cached

    async def open_account(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> None:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    sa.insert(ledger_accounts).values(
                        merchant_id=merchant_id, code=spec.code, name=spec.name, normal_side=spec.normal_side.value,
                        non_negative=spec.non_negative, balance=0, version=0, created_at=at,
                    )
                )
            self._opened.add((merchant_id, spec.code))
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise

    async def _account_ids(self, *, merchant_id: int, specs: set[AccountSpec], at: datetime) -> dict[str, int]:
        codes = [spec.code for spec in specs]
        query = sa.select(ledger_accounts.c.code, ledger_accounts.c.id).where(
            ledger_accounts.c.merchant_id == merchant_id, ledger_accounts.c.code.in_(codes)
        )
        found = dict(list(await self._conn.execute(query)))
        # by code: concurrent first postings in different processes (each its own set order) open their
        # accounts in the same order, so one waits for the other instead of deadlocking on the unique key
        missing = sorted((spec for spec in specs if spec.code not in found), key=lambda spec: spec.code)
        for spec in missing:
            await self.open_account(merchant_id=merchant_id, spec=spec, at=at)
        if missing:
            found = dict(list(await self._conn.execute(query)))
        return found

    async def book(self, *, entry: JournalEntry, at: datetime) -> bool:
        """Post the entry unless its (merchant, kind, ref) was booked before; False then."""
        e = journal_entries.c
        booked = (await self._conn.execute(sa.select(e.id).where(
            e.merchant_id == entry.merchant_id, e.kind == entry.kind, e.ref == entry.ref))).first()
        if booked:
            return False
        await self.post(entry=entry, at=at)
        return True

    async def post(self, *, entry: JournalEntry, at: datetime) -> dict[str, int]:
        """Lock the entry's accounts, apply it and write it; each account's new balance.

        For callers that already hold the entry's idempotency (a unique business row in the same transaction);
        the journal's unique (merchant, kind, ref) stays the backstop.
        """
        postings = Postings(await self.lock_accounts(
            merchant_id=entry.merchant_id, specs={leg.account for leg in entry.legs}, at=at))
        balances = postings.apply(entry)
        await self.write_postings(postings=postings, at=at)
        return balances

    async def lock_accounts(self, *, merchant_id: int, specs: set[AccountSpec], at: datetime) -> dict[str, AccountState]:
        """Lock the accounts (opened if new) in id order, in one statement; their states by code."""
        cache = _ids.setdefault(self._conn.sync_engine, {})
        ids = {spec.code: cache[merchant_id, spec.code] for spec in specs if (merchant_id, spec.code) in cache}
        if len(ids) < len(specs):
            ids = await self._account_ids(merchant_id=merchant_id, specs=specs, at=at)
            cache.update({(merchant_id, code): id_ for code, id_ in ids.items()
                          if (merchant_id, code) not in self._opened})
        a = ledger_accounts.c
        wanted = {id_: code for code, id_ in ids.items()}
        if self._before_locking is not None:
            await self._before_locking()
        if bulk.is_postgres(self._conn):
            rows = await _LOCK.rows(self._conn, ids=sorted(wanted))
        else:
            rows = (await self._conn.execute(_ACCOUNT_STATES.where(a.id.in_(sorted(wanted))))).all()
        if len(rows) != len(wanted) or any(
                (row._mapping[a.merchant_id], wanted[row._mapping[a.id]]) != (merchant_id, row._mapping[a.code])
                for row in rows):
            for spec in specs:
                cache.pop((merchant_id, spec.code), None)
            return await self.lock_accounts(merchant_id=merchant_id, specs=specs, at=at)
        return {m[a.code]: AccountState(id=m[a.id], balance=m[a.balance], version=m[a.version],
                                        normal_side=NormalSide(m[a.normal_side]), non_negative=m[a.non_negative])
                for m in (row._mapping for row in rows)}

    async def write_postings(self, *, postings: Postings, at: datetime) -> None:
        """Write what Postings applied to accounts locked by lock_accounts: balances, legs, entries (set-based; one
        statement on PostgreSQL). Legs go first and entries last: the database's guards check each entry against its
        legs on insert."""
        if not postings.entries:
            return
        changed = [{"id": s.id, "version": s.read_version, "balance": s.balance, "new_version": s.version}
                   for s in postings.changed()]
        entries = [{"id": entry_id, "merchant_id": e.merchant_id, "kind": e.kind, "ref": e.ref, "memo": e.memo,
                    "created_at": at} for entry_id, e in zip(postings.entry_ids, postings.entries, strict=True)]
        legs = [_leg_values(leg) for leg in postings.legs]
        if bulk.is_postgres(self._conn):
            params: dict[str, Any] = {f"b_{key}": [row[key] for row in changed] for key in changed[0]}
            params |= {f"leg_{k}": v for k, v in bulk.arrays(self._conn, journal_legs, list(_LEG_COLUMNS), legs).items()}
            params |= {f"entry_{k}": v for k, v in bulk.arrays(self._conn, journal_entries, _ENTRY_COLUMNS, entries).items()}
            params["legs"] = len(legs)
            written = (await driver.execute(self._conn, sql=_write_postings_sql(self._conn.dialect), params=params)).rows
            if len(written) != len(entries) or written[0][0] != len(changed):
                raise RuntimeError("ledger accounts changed under their lock")
            return
        a = ledger_accounts.c
        updated = (await self._conn.execute(
            sa.update(ledger_accounts).where(a.id == sa.bindparam("b_id"), a.version == sa.bindparam("b_version"))
            .values(balance=sa.bindparam("b_balance"), version=sa.bindparam("b_new_version")),
            [{f"b_{k}": v for k, v in row.items()} for row in changed])).rowcount
        if updated != len(changed):
            raise RuntimeError("ledger accounts changed under their lock")
        await bulk.insert_rows(self._conn, journal_legs, legs)
        await bulk.insert_rows(self._conn, journal_entries, entries)

    async def account_id(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> int:
        """The id of an account, opened if new."""
        return (await self._account_ids(merchant_id=merchant_id, specs={spec}, at=at))[spec.code]

    async def balance(self, *, merchant_id: int, account: str) -> LedgerAccount:
        row = (
            await self._conn.execute(
                sa.select(ledger_accounts).where(ledger_accounts.c.merchant_id == merchant_id, ledger_accounts.c.code == account)
            )
        ).first()
        if row is None:
            raise NotFound("UNKNOWN_LEDGER_ACCOUNT", code=account)
        return LedgerAccount(**row._mapping)

    async def accounts(self, *, merchant_id: int) -> list[LedgerAccount]:
        rows = await self._conn.execute(
            sa.select(ledger_accounts).where(ledger_accounts.c.merchant_id == merchant_id).order_by(ledger_accounts.c.code)
        )
        return [LedgerAccount(**r._mapping) for r in rows]

    async def entries(self, *, merchant_id: int, account: str, limit: int) -> list[AccountLine]:
        a, legs, entries = ledger_accounts, journal_legs, journal_entries
        rows = await self._conn.execute(
            sa.select(
                entries.c.id.label("entry_id"), entries.c.kind, entries.c.ref, entries.c.memo, entries.c.created_at,
                legs.c.amount, legs.c.balance_before, legs.c.balance_after, legs.c.account_version,
            )
            .join(legs, legs.c.entry_id == entries.c.id)
            .join(a, a.c.id == legs.c.account_id)
            .where(a.c.merchant_id == merchant_id, a.c.code == account)
            .order_by(legs.c.account_version.desc())
            .limit(limit)
        )
        return [AccountLine(**r._mapping) for r in rows]
