"""Cards, funds accounts, members, the card pool, card merchants, programs and limits in the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.db import bulk
from payhub.kernel.adapters.db.aggregates_repo import insert_aggregate, save_aggregate
from payhub.kernel.adapters.db.driver import DriverQuery
from payhub.cards.adapters.db.tables import (
    card_limits, card_merchants, card_pool, card_programs, cards, funds_accounts, members, sms_codes,
)
from payhub.kernel.adapters.db.bulk import upsert
from payhub.kernel.adapters.db.errors import duplicate_as
from payhub.kernel.adapters.db.tables import ledger_accounts
from payhub.cards.domain.limits import Limits
from payhub.cards.domain.rows import (
    CardMerchant, CardProgram, CardView, LimitSetting, LockedCard, Member, PayingMerchant, PoolBatch, SmsCode,
)
from payhub.cards.domain.cards import Card, CardKind, CardState
from payhub.kernel.domain.errors import Conflict
from payhub.cards.domain.funds import FundsAccount


def _card(row: Any) -> Card:
    card = Card(merchant_id=row.merchant_id, card_no=row.card_no, account_id=row.account_id, kind=CardKind(row.kind),
                created_at=row.created_at, state=CardState(row.state), id=row.id, version=row.version,
                updated_at=row.updated_at)
    card.saved_state = card.state
    return card


def _account(row: Any) -> FundsAccount:
    return FundsAccount(row.id, row.merchant_id, row.account_no, row.holder_name, row.phone, row.password_hash,
                        row.wrong_tries, row.password_version, row.created_at)


# the statements of every consume, compiled once for psycopg (kernel/adapters/db/driver.py)
_PAYING_MERCHANT = DriverQuery(
    sa.select(card_merchants.c.id, card_merchants.c.code, card_merchants.c.name, card_merchants.c.active,
              card_merchants.c.pinless_offline_max, card_programs.c.push_url)
    .select_from(card_merchants.outerjoin(card_programs, card_programs.c.merchant_id == card_merchants.c.merchant_id))
    .where(card_merchants.c.merchant_id == sa.bindparam("merchant_id"), card_merchants.c.code == sa.bindparam("code")))
_LIMITS = DriverQuery(sa.select(card_limits).where(
    card_limits.c.merchant_id == sa.bindparam("merchant_id"),
    card_limits.c.subject == sa.any_(sa.bindparam("subjects", type_=postgresql.ARRAY(sa.String)))))
_LOCKED_CARDS = (
    sa.select(cards.c.id, cards.c.card_no, cards.c.state, cards.c.account_id, cards.c.ledger_account_id,
              funds_accounts.c.password_version, funds_accounts.c.wrong_tries)
    .join(funds_accounts, funds_accounts.c.id == cards.c.account_id)
    .where(cards.c.merchant_id == sa.bindparam("merchant_id"))
    .order_by(cards.c.id)
)
_LOCK_CARDS = DriverQuery(_LOCKED_CARDS.where(
    cards.c.card_no == sa.any_(sa.bindparam("card_nos", type_=postgresql.ARRAY(sa.String)))).with_for_update(of=cards))


class SqlCardRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- programs, card merchants, limits ---------------------------------------------------------

    async def set_program(self, *, merchant_id: int, push_url: str | None, push_secret_sealed: str | None,
                          password_tries: int, at: datetime) -> None:
        values = {"push_url": push_url, "push_secret_sealed": push_secret_sealed, "password_tries": password_tries,
                  "updated_at": at}
        stmt = upsert(self._conn, card_programs).values(merchant_id=merchant_id, created_at=at, **values)
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["merchant_id"], set_=values))

    async def program(self, *, merchant_id: int) -> CardProgram | None:
        row = (await self._conn.execute(sa.select(card_programs).where(card_programs.c.merchant_id == merchant_id))).first()
        return CardProgram(**row._mapping) if row else None

    async def add_card_merchant(self, *, merchant_id: int, code: str, name: str, at: datetime) -> int:
        async with duplicate_as(self._conn, Conflict("DUPLICATE", what="卡系统商户", key=code)):
            result = await self._conn.execute(sa.insert(card_merchants).values(
                merchant_id=merchant_id, code=code, name=name, active=True, created_at=at, updated_at=at,
            ).returning(card_merchants.c.id))
        card_merchant_id: int = result.scalar_one()
        return card_merchant_id

    async def card_merchant(self, *, merchant_id: int, code: str) -> PayingMerchant | None:
        """The card merchant with its issuer's push settings (one round trip on the money path)."""
        rows = await _PAYING_MERCHANT.rows(self._conn, merchant_id=merchant_id, code=code)
        return PayingMerchant(**rows[0]._mapping) if rows else None

    async def set_pinless_offline(self, *, merchant_id: int, code: str, max_amount: int | None, at: datetime) -> bool:
        """Set the card merchant's cap on offline consumes without the pay password (None: none); False if unknown."""
        m = card_merchants.c
        result = await self._conn.execute(sa.update(card_merchants).where(m.merchant_id == merchant_id, m.code == code)
                                          .values(pinless_offline_max=max_amount, updated_at=at))
        return result.rowcount == 1

    async def card_merchants(self, *, merchant_id: int) -> list[CardMerchant]:
        rows = await self._conn.execute(sa.select(card_merchants).where(card_merchants.c.merchant_id == merchant_id)
                                        .order_by(card_merchants.c.code))
        return [CardMerchant(**r._mapping) for r in rows]

    async def set_limit(self, *, merchant_id: int, subject: str, limits: Limits, at: datetime) -> None:
        values = {"per_txn": limits.per_txn, "per_day": limits.per_day, "updated_at": at}
        stmt = upsert(self._conn, card_limits).values(merchant_id=merchant_id, subject=subject, created_at=at, **values)
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["merchant_id", "subject"], set_=values))

    async def limits(self, *, merchant_id: int, subjects: list[str]) -> dict[str, Limits]:
        if bulk.is_postgres(self._conn):
            rows = await _LIMITS.rows(self._conn, merchant_id=merchant_id, subjects=subjects)
        else:
            rows = (await self._conn.execute(sa.select(card_limits).where(
                card_limits.c.merchant_id == merchant_id, card_limits.c.subject.in_(subjects)))).all()
        return {r.subject: Limits(r.per_txn, r.per_day) for r in rows}

    async def all_limits(self, *, merchant_id: int) -> list[LimitSetting]:
        rows = await self._conn.execute(sa.select(card_limits).where(card_limits.c.merchant_id == merchant_id)
                                        .order_by(card_limits.c.subject))
        return [LimitSetting(**r._mapping) for r in rows]

    # --- funds accounts -----------------------------------------------------------------------------

    async def add_account(self, *, merchant_id: int, account_no: str, holder_name: str, phone: str,
                          password_hash: str, at: datetime) -> FundsAccount:
        result = await self._conn.execute(sa.insert(funds_accounts).values(
            merchant_id=merchant_id, account_no=account_no, holder_name=holder_name, phone=phone,
            password_hash=password_hash, wrong_tries=0, password_version=1, created_at=at, updated_at=at,
        ).returning(funds_accounts))
        return _account(result.one())

    async def account(self, *, merchant_id: int, account_no: str | None = None, account_id: int | None = None,
                      lock: bool = False) -> FundsAccount | None:
        query = sa.select(funds_accounts).where(funds_accounts.c.merchant_id == merchant_id)
        if account_no is not None:
            query = query.where(funds_accounts.c.account_no == account_no)
        if account_id is not None:
            query = query.where(funds_accounts.c.id == account_id)
        if lock and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _account(row) if row else None

    async def set_password(self, *, account_id: int, password_hash: str, at: datetime) -> None:
        a = funds_accounts.c
        await self._conn.execute(sa.update(funds_accounts).where(a.id == account_id).values(
            password_hash=password_hash, wrong_tries=0, password_version=a.password_version + 1, updated_at=at))

    async def take_password_try(self, *, account_id: int, allowed: int, at: datetime) -> FundsAccount | None:
        """Count one pay password try before it is checked (wrong_tries + 1, in one statement) unless `allowed`
        tries are counted already; the account as it is now, or None."""
        a = funds_accounts.c
        row = (await self._conn.execute(
            sa.update(funds_accounts).where(a.id == account_id, a.wrong_tries < allowed)
            .values(wrong_tries=a.wrong_tries + 1, updated_at=at).returning(funds_accounts)
        )).first()
        return _account(row) if row else None

    async def set_wrong_tries(self, *, account_id: int, tries: int, at: datetime) -> None:
        await self._conn.execute(sa.update(funds_accounts).where(funds_accounts.c.id == account_id)
                                 .values(wrong_tries=tries, updated_at=at))

    # --- cards --------------------------------------------------------------------------------------

    async def add_card(self, card: Card, *, ledger_account_id: int) -> None:
        async with duplicate_as(self._conn, Conflict("CARD_TAKEN", card_no=card.card_no)):
            await insert_aggregate(self._conn, cards, card, ledger_account_id=ledger_account_id)

    async def card(self, *, merchant_id: int, card_no: str) -> Card | None:
        row = (await self._conn.execute(
            sa.select(cards).where(cards.c.merchant_id == merchant_id, cards.c.card_no == card_no))).first()
        return _card(row) if row else None

    async def cards_of(self, *, account_id: int) -> list[Card]:
        rows = await self._conn.execute(sa.select(cards).where(cards.c.account_id == account_id).order_by(cards.c.id))
        return [_card(r) for r in rows]

    async def save_card(self, card: Card) -> None:
        await save_aggregate(self._conn, cards, card)

    async def lock_cards(self, *, merchant_id: int, card_nos: list[str]) -> dict[str, LockedCard]:
        """Lock the cards' rows in id order; with each: state, funds account and its password version."""
        if bulk.is_postgres(self._conn):
            rows = await _LOCK_CARDS.rows(self._conn, merchant_id=merchant_id, card_nos=card_nos)
        else:  # SQLite: one writer at a time, nothing to lock
            rows = (await self._conn.execute(_LOCKED_CARDS.where(cards.c.card_no.in_(card_nos)),
                                             {"merchant_id": merchant_id})).all()
        return {r.card_no: LockedCard(**r._mapping) for r in rows}

    async def card_view(self, *, merchant_id: int, card_no: str) -> CardView | None:
        """The card with its holder and balance (no password needed)."""
        c, a, led = cards.c, funds_accounts.c, ledger_accounts.c
        row = (await self._conn.execute(
            sa.select(c.card_no, c.kind, c.state, c.created_at, c.updated_at, a.account_no, a.holder_name, a.phone,
                      led.balance, led.version.label("ledger_version"))
            .join(funds_accounts, a.id == c.account_id).join(ledger_accounts, led.id == c.ledger_account_id)
            .where(c.merchant_id == merchant_id, c.card_no == card_no)
        )).first()
        return CardView(**row._mapping) if row else None

    # --- pool ---------------------------------------------------------------------------------------

    async def add_to_pool(self, *, merchant_id: int, card_nos: list[str], kind: CardKind, batch: str, at: datetime) -> int:
        """Add the numbers not in the pool yet; how many were new (counted from RETURNING: an executemany's
        rowcount is -1 on psycopg)."""
        stmt = upsert(self._conn, card_pool).on_conflict_do_nothing(index_elements=["merchant_id", "card_no"]) \
            .returning(card_pool.c.card_no)
        result = await self._conn.execute(stmt, [
            {"merchant_id": merchant_id, "card_no": no, "kind": kind.value, "batch": batch, "created_at": at}
            for no in card_nos
        ])
        return len(result.all())

    async def take_from_pool(self, *, merchant_id: int, kind: CardKind, at: datetime) -> str | None:
        """Take one free number; concurrent takers get different ones (SKIP LOCKED / BEGIN IMMEDIATE)."""
        p = card_pool.c
        query = sa.select(p.card_no).where(p.merchant_id == merchant_id, p.kind == kind.value, p.taken_at.is_(None)) \
            .order_by(p.card_no).limit(1)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        card_no: str | None = (await self._conn.execute(query)).scalar()
        if card_no is None:
            return None
        await self._conn.execute(sa.update(card_pool).where(p.merchant_id == merchant_id, p.card_no == card_no)
                                 .values(taken_at=at))
        return card_no

    async def pool_stats(self, *, merchant_id: int) -> list[PoolBatch]:
        p = card_pool.c
        rows = await self._conn.execute(
            sa.select(p.kind, p.batch, sa.func.count().label("total"), sa.func.count(p.taken_at).label("taken"))
            .where(p.merchant_id == merchant_id).group_by(p.kind, p.batch).order_by(p.batch))
        return [PoolBatch(r.kind, r.batch, int(r.total), int(r.taken)) for r in rows]

    # --- members and SMS codes ------------------------------------------------------------------------

    async def add_member(self, *, merchant_id: int, phone: str, name: str, account_id: int, at: datetime) -> int:
        async with duplicate_as(self._conn, Conflict("MEMBER_EXISTS")):
            result = await self._conn.execute(sa.insert(members).values(
                merchant_id=merchant_id, phone=phone, name=name, account_id=account_id, created_at=at, updated_at=at,
            ).returning(members.c.id))
        member_id: int = result.scalar_one()
        return member_id

    async def member(self, *, merchant_id: int, phone: str, lock: bool = False) -> Member | None:
        query = sa.select(members).where(members.c.merchant_id == merchant_id, members.c.phone == phone)
        if lock and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return Member(**row._mapping) if row else None

    async def bind_card(self, *, member_id: int, card_no: str, at: datetime) -> None:
        await self._conn.execute(sa.update(members).where(members.c.id == member_id).values(card_no=card_no, updated_at=at))

    async def add_sms_code(self, *, merchant_id: int, phone: str, purpose: str, code_hash: str, expires_at: datetime,
                           at: datetime) -> None:
        await self._conn.execute(sa.insert(sms_codes).values(
            merchant_id=merchant_id, phone=phone, purpose=purpose, code_hash=code_hash, expires_at=expires_at,
            attempts=0, created_at=at))

    async def latest_sms_code(self, *, merchant_id: int, phone: str, purpose: str) -> SmsCode | None:
        s = sms_codes.c
        query = sa.select(sms_codes).where(s.merchant_id == merchant_id, s.phone == phone, s.purpose == purpose) \
            .order_by(s.id.desc()).limit(1)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return SmsCode(**row._mapping) if row else None

    async def mark_sms_code(self, *, code_id: int, attempts: int, used_at: datetime | None) -> None:
        await self._conn.execute(sa.update(sms_codes).where(sms_codes.c.id == code_id)
                                 .values(attempts=attempts, used_at=used_at))
