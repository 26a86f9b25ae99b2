"""Merchants, terminals, operators, operator sessions, terminal nonces and sign-in throttling in the database."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.db import bulk, driver
from payhub.kernel.adapters.db.bulk import upsert
from payhub.kernel.adapters.db.driver import psycopg_of
from payhub.kernel.adapters.db.errors import duplicate_as
from payhub.kernel.adapters.db.tables import (
    merchants, operator_sessions, operators, sign_in_audit, sign_in_counters, terminal_nonces, terminals,
)
from payhub.kernel.adapters.db.types import UtcDateTime
from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.sign_in_throttle import Event, Purpose, SignInRules, Tally
from payhub.kernel.domain.tenancy import Merchant, NonceUse, Operator, OperatorSession, Role, StaffNames, Terminal


def _merchant(row: Any) -> Merchant:
    return Merchant(id=row.id, code=row.code, name=row.name, channel=row.channel, biller=row.biller, active=row.active,
                    service_phone=row.service_phone)


def _operator(row: Any) -> Operator:
    return Operator(
        id=row.id, merchant_id=row.merchant_id, username=row.username, display_name=row.display_name,
        role=Role(row.role), active=row.active,
    )


_USE_NONCE = ("INSERT INTO terminal_nonces (merchant_id, terminal_id, nonce, seen_at) VALUES (%s, %s, %s, %s)"
              " ON CONFLICT (terminal_id, nonce) DO NOTHING RETURNING nonce")


class SqlTenancyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _insert(self, table: sa.Table, what: str, key: str, values: dict[str, Any]) -> Any:
        async with duplicate_as(self._conn, Conflict("DUPLICATE", what=what, key=key)):
            result = await self._conn.execute(sa.insert(table).values(**values).returning(*table.c))
        return result.one()

    async def add_merchant(self, *, code: str, name: str, channel: str, biller: str, at: datetime) -> Merchant:
        row = await self._insert(merchants, "商户", code, dict(
            code=code, name=name, channel=channel, biller=biller, active=True, created_at=at, updated_at=at))
        return _merchant(row)

    async def merchant(self, *, merchant_id: int | None = None, code: str | None = None) -> Merchant | None:
        query = sa.select(merchants)
        query = query.where(merchants.c.id == merchant_id) if merchant_id is not None else query.where(merchants.c.code == code)
        row = (await self._conn.execute(query)).first()
        return _merchant(row) if row else None

    async def set_service_phone(self, *, merchant_id: int, phone: str, at: datetime) -> None:
        await self._conn.execute(sa.update(merchants).where(merchants.c.id == merchant_id)
                                 .values(service_phone=phone, updated_at=at))

    async def names(self, *, merchant_id: int) -> StaffNames:
        operator_rows = await self._conn.execute(
            sa.select(operators.c.id, operators.c.display_name).where(operators.c.merchant_id == merchant_id))
        terminal_rows = await self._conn.execute(
            sa.select(terminals.c.id, terminals.c.name, terminals.c.code).where(terminals.c.merchant_id == merchant_id))
        return StaffNames(operators={row.id: row.display_name for row in operator_rows},
                          terminals={row.id: f"{row.name} {row.code}" for row in terminal_rows})

    async def add_terminal(self, *, merchant_id: int, code: str, name: str, key_sealed: str, at: datetime) -> Terminal:
        row = await self._insert(terminals, "终端", code, dict(
            merchant_id=merchant_id, code=code, name=name, key_sealed=key_sealed, active=True, created_at=at, updated_at=at))
        return Terminal(id=row.id, merchant_id=row.merchant_id, code=row.code, name=row.name, active=row.active)

    async def terminal(self, *, code: str) -> tuple[Terminal, str] | None:
        row = (await self._conn.execute(sa.select(terminals).where(terminals.c.code == code))).first()
        if row is None:
            return None
        terminal = Terminal(id=row.id, merchant_id=row.merchant_id, code=row.code, name=row.name, active=row.active)
        return terminal, row.key_sealed

    async def add_operator(self, *, merchant_id: int, username: str, display_name: str, role: str,
                           password_hash: str, at: datetime) -> Operator:
        row = await self._insert(operators, "操作员", username, dict(
            merchant_id=merchant_id, username=username, display_name=display_name, role=role,
            password_hash=password_hash, active=True, created_at=at, updated_at=at))
        return _operator(row)

    async def operator(self, *, merchant_id: int, username: str | None = None,
                       operator_id: int | None = None) -> tuple[Operator, str] | None:
        query = sa.select(operators).where(operators.c.merchant_id == merchant_id)
        query = query.where(operators.c.id == operator_id) if operator_id is not None else query.where(operators.c.username == username)
        row = (await self._conn.execute(query)).first()
        return (_operator(row), row.password_hash) if row else None

    async def set_password_hash(self, *, operator_id: int, password_hash: str, at: datetime) -> None:
        await self._conn.execute(
            sa.update(operators).where(operators.c.id == operator_id).values(password_hash=password_hash, updated_at=at)
        )

    async def add_session(self, *, merchant_id: int, operator_id: int, terminal_id: int, token_hash: str,
                          at: datetime, expires_at: datetime) -> None:
        await self._conn.execute(sa.insert(operator_sessions).values(
            merchant_id=merchant_id, operator_id=operator_id, terminal_id=terminal_id, token_hash=token_hash,
            created_at=at, expires_at=expires_at))

    async def session(self, *, token_hash: str) -> OperatorSession | None:
        row = (await self._conn.execute(
            sa.select(operator_sessions).where(operator_sessions.c.token_hash == token_hash))).first()
        return OperatorSession(**row._mapping) if row else None

    async def revoke_session(self, *, token_hash: str, at: datetime) -> None:
        await self._conn.execute(
            sa.update(operator_sessions).where(operator_sessions.c.token_hash == token_hash).values(revoked_at=at)
        )

    async def use_nonce(self, *, merchant_id: int, terminal_id: int, nonce: str, at: datetime) -> bool:
        # one statement, no savepoint: a nonce already there inserts nothing and returns no row
        if psycopg_of(self._conn) is not None:  # every signed request makes this statement: the driver's path
            return bool((await driver.execute(self._conn, sql=_USE_NONCE,
                                              params=(merchant_id, terminal_id, nonce, at))).rows)
        stmt = upsert(self._conn, terminal_nonces).values(
            merchant_id=merchant_id, terminal_id=terminal_id, nonce=nonce, seen_at=at,
        ).on_conflict_do_nothing(index_elements=["terminal_id", "nonce"]).returning(terminal_nonces.c.nonce)
        return (await self._conn.execute(stmt)).first() is not None

    async def use_nonces(self, *, uses: Sequence[NonceUse]) -> list[bool]:
        if psycopg_of(self._conn) is None:
            return [await self.use_nonce(merchant_id=use.merchant_id, terminal_id=use.terminal_id, nonce=use.nonce,
                                         at=use.at) for use in uses]
        rows = [{"merchant_id": use.merchant_id, "terminal_id": use.terminal_id, "nonce": use.nonce, "seen_at": use.at}
                for use in uses]
        stored = set(await bulk.unnest_insert(self._conn, terminal_nonces, rows,
                                              suffix="ON CONFLICT (terminal_id, nonce) DO NOTHING RETURNING terminal_id, nonce"))
        firsts: list[bool] = []
        for use in uses:  # the same nonce twice in uses: inserted once, and the second is the replay
            key = (use.terminal_id, use.nonce)
            firsts.append(key in stored)
            stored.discard(key)
        return firsts

    async def forget_nonces(self, *, before: datetime) -> int:
        result = await self._conn.execute(sa.delete(terminal_nonces).where(terminal_nonces.c.seen_at < before))
        return result.rowcount

    def _counter(self, merchant_id: int, subject: str) -> sa.ColumnElement[bool]:
        return sa.and_(sign_in_counters.c.merchant_id == merchant_id, sign_in_counters.c.subject == subject)

    async def count_sign_in(self, *, merchant_id: int, subject: str, at: datetime, rules: SignInRules) -> Tally:
        c = sign_in_counters.c
        locked, stale = c.locked_until > at, c.window_started_at < rules.window_start(at)
        now = sa.literal(at, UtcDateTime)
        # one statement, so parallel tries each see the count of the ones before them
        stmt = upsert(self._conn, sign_in_counters).values(
            merchant_id=merchant_id, subject=subject, failures=1, lockouts=0, window_started_at=at, updated_at=at,
        ).on_conflict_do_update(index_elements=["merchant_id", "subject"], set_={
            "failures": sa.case((locked, c.failures), (stale, 1), else_=c.failures + 1),
            "window_started_at": sa.case((locked, c.window_started_at), (stale, now), else_=c.window_started_at),
            "lockouts": sa.case((c.locked_until < rules.backoff_since(at), 0), else_=c.lockouts),
            "updated_at": now,
        }).returning(c.failures, c.locked_until)
        row = (await self._conn.execute(stmt)).one()
        return Tally(failures=row.failures, locked_until=row.locked_until)

    async def uncount_sign_in(self, *, merchant_id: int, subject: str) -> None:
        c = sign_in_counters.c
        await self._conn.execute(sa.update(sign_in_counters).where(self._counter(merchant_id, subject), c.failures > 0)
                                 .values(failures=c.failures - 1))

    async def clear_sign_in(self, *, merchant_id: int, subject: str) -> None:
        await self._conn.execute(
            sa.update(sign_in_counters).where(self._counter(merchant_id, subject)).values(failures=0, lockouts=0))

    async def lock_sign_in(self, *, merchant_id: int, subject: str, at: datetime,
                           rules: SignInRules) -> tuple[datetime, bool]:
        c = sign_in_counters.c
        started = (await self._conn.execute(
            sa.update(sign_in_counters)
            .where(self._counter(merchant_id, subject), sa.or_(c.locked_until.is_(None), c.locked_until <= at))
            .values(lockouts=c.lockouts + 1, failures=0, window_started_at=at, updated_at=at)
            .returning(c.lockouts)
        )).first()
        if started is None:
            until = (await self._conn.execute(
                sa.select(c.locked_until).where(self._counter(merchant_id, subject)))).scalar_one()
            return until, False
        until = at + rules.lockout(lockouts=started.lockouts)
        await self._conn.execute(
            sa.update(sign_in_counters).where(self._counter(merchant_id, subject)).values(locked_until=until))
        return until, True

    async def record_sign_in(self, *, merchant_id: int, terminal_id: int, username: str, purpose: Purpose,
                             event: Event, at: datetime, subject: str | None = None,
                             locked_until: datetime | None = None) -> None:
        await self._conn.execute(sa.insert(sign_in_audit).values(
            merchant_id=merchant_id, terminal_id=terminal_id, username=username, purpose=purpose.value,
            event=event.value, subject=subject, locked_until=locked_until, at=at))

    async def forget_sign_in_counters(self, *, before: datetime) -> int:
        c = sign_in_counters.c
        result = await self._conn.execute(sa.delete(sign_in_counters).where(
            c.updated_at < before, sa.or_(c.locked_until.is_(None), c.locked_until < before)))
        return result.rowcount

    async def forget_sign_in_audit(self, *, before: datetime) -> int:
        result = await self._conn.execute(sa.delete(sign_in_audit).where(sign_in_audit.c.at < before))
        return result.rowcount
