"""Merchants, terminals, operators, operator sessions and terminal nonces in the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.adapters.db.errors import duplicate_as, is_unique_violation
from payhub.adapters.db.tables import merchants, operator_sessions, operators, terminal_nonces, terminals
from payhub.domain.errors import Conflict
from payhub.domain.tenancy import Merchant, Operator, Role, Terminal


def _merchant(row: Any) -> Merchant:
    return Merchant(id=row.id, code=row.code, name=row.name, channel=row.channel, biller=row.biller, active=row.active)


def _operator(row: Any) -> Operator:
    return Operator(
        id=row.id, merchant_id=row.merchant_id, username=row.username, display_name=row.display_name,
        role=Role(row.role), active=row.active,
    )


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

    async def session(self, *, token_hash: str) -> dict[str, Any] | None:
        row = (await self._conn.execute(
            sa.select(operator_sessions).where(operator_sessions.c.token_hash == token_hash))).first()
        return dict(row._mapping) if row else None

    async def revoke_session(self, *, token_hash: str, at: datetime) -> None:
        await self._conn.execute(
            sa.update(operator_sessions).where(operator_sessions.c.token_hash == token_hash).values(revoked_at=at)
        )

    async def use_nonce(self, *, merchant_id: int, terminal_id: int, nonce: str, at: datetime) -> bool:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(sa.insert(terminal_nonces).values(
                    merchant_id=merchant_id, terminal_id=terminal_id, nonce=nonce, seen_at=at))
            return True
        except IntegrityError as error:
            if is_unique_violation(error):
                return False
            raise

    async def forget_nonces(self, *, before: datetime) -> int:
        result = await self._conn.execute(sa.delete(terminal_nonces).where(terminal_nonces.c.seen_at < before))
        return result.rowcount
