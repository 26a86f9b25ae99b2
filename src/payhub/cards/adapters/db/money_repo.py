"""Card transactions, daily usage, events (the push outbox), suspicious cases, recharges, replacements, custody."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.db import bulk, driver
from payhub.kernel.adapters.db.aggregates_repo import insert_aggregate, save_aggregate
from payhub.cards.adapters.db.tables import (
    card_events, card_replacements, card_transactions, card_usage, custody_settlements, recharge_orders,
    suspicious_cases,
)
from payhub.kernel.adapters.db.bulk import upsert
from payhub.kernel.adapters.db.driver import DriverQuery
from payhub.kernel.adapters.db.types import UtcDateTime
from payhub.kernel.adapters.db.errors import duplicate_as
from payhub.cards.domain.limits import usage_key
from payhub.cards.domain.recharges import RechargeOrder, RechargeState
from payhub.cards.domain.replacements import CardReplacement, ReplacementState
from payhub.cards.domain.rows import CardEvent, CardTx, CustodySettlement, RechargeSum, Refunded
from payhub.cards.domain.risk import ReviewState, Rule, SuspiciousCase
from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.transitions import StateMachine

TX_FILTERS = ("kind", "channel", "card_merchant_code", "terminal_code", "card_no", "out_no")


A = TypeVar("A", bound=StateMachine)


def _restore(aggregate: A) -> A:
    aggregate.saved_state = aggregate.state
    return aggregate


def _from_row(row: sa.Row[Any], aggregate: Callable[..., A], states: Callable[[str], StrEnum]) -> A:
    """An aggregate rebuilt from its row, its state column parsed, remembered as the saved state."""
    fields = {k: v for k, v in row._mapping.items() if k != "state"}
    return _restore(aggregate(**fields, state=states(row.state)))


def _case(row: sa.Row[Any]) -> SuspiciousCase:
    return _restore(SuspiciousCase(
        merchant_id=row.merchant_id, case_no=row.case_no, rule=Rule(row.rule), tx_no=row.tx_no, card_no=row.card_no,
        detail=row.detail, created_at=row.created_at, state=ReviewState(row.state), id=row.id, version=row.version,
        note=row.note, updated_at=row.updated_at))


def _stored(row: CardTx | CustodySettlement) -> dict[str, Any]:
    """A new row's column values (its id is the database's)."""
    values = dataclasses.asdict(row)
    del values["id"]
    return values


def _new_event(event: CardEvent) -> dict[str, Any]:
    return {"merchant_id": event.merchant_id, "event_id": event.event_id, "type": event.type, "tx_no": event.tx_no,
            "payload": event.payload, "created_at": event.created_at}


# the statements of every consume, compiled once for psycopg (kernel/adapters/db/driver.py)
_TXS_BY_OUT_NOS = DriverQuery(sa.select(card_transactions).where(
    card_transactions.c.merchant_id == sa.bindparam("merchant_id"),
    card_transactions.c.card_merchant_id == sa.bindparam("card_merchant_id"),
    card_transactions.c.kind == sa.bindparam("kind"),
    card_transactions.c.out_no == sa.any_(sa.bindparam("out_nos", type_=postgresql.ARRAY(sa.String)))))
_RECENT_BY_CARD = DriverQuery(
    sa.select(card_transactions.c.card_no, sa.func.count().label("count")).where(
        card_transactions.c.merchant_id == sa.bindparam("merchant_id"),
        card_transactions.c.card_no == sa.any_(sa.bindparam("card_nos", type_=postgresql.ARRAY(sa.String))),
        card_transactions.c.kind == sa.bindparam("kind"),
        card_transactions.c.created_at >= sa.bindparam("since", type_=UtcDateTime),
    ).group_by(card_transactions.c.card_no))


class SqlCardMoneyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- transactions -------------------------------------------------------------------------------

    async def claim_tx(self, *, row: CardTx) -> bool:
        """Insert a transaction row unless its (merchant, card merchant, kind, out_no) exists; True if inserted."""
        t = card_transactions
        stmt = upsert(self._conn, t).values(**_stored(row)).on_conflict_do_nothing(
            index_elements=["merchant_id", "card_merchant_id", "kind", "out_no"]).returning(t.c.id)
        return (await self._conn.execute(stmt)).first() is not None

    async def claim_txs(self, *, rows: list[CardTx]) -> set[str]:
        """claim_tx for many rows in one statement; the out_nos inserted."""
        t, values = card_transactions, [_stored(row) for row in rows]
        if bulk.is_postgres(self._conn):
            inserted = await bulk.unnest_insert(self._conn, t, values, suffix=(
                "ON CONFLICT (merchant_id, card_merchant_id, kind, out_no) DO NOTHING RETURNING out_no"))
            return {out_no for out_no, in inserted}
        stmt = upsert(self._conn, t).on_conflict_do_nothing(
            index_elements=["merchant_id", "card_merchant_id", "kind", "out_no"]).returning(t.c.out_no)
        return set((await self._conn.execute(stmt, values)).scalars())

    async def txs_by_out_nos(self, *, merchant_id: int, card_merchant_id: int, kind: str,
                             out_nos: list[str]) -> dict[str, CardTx]:
        """tx_by_out_no for many numbers in one statement, by out_no."""
        t = card_transactions.c
        if bulk.is_postgres(self._conn):
            rows = await _TXS_BY_OUT_NOS.rows(self._conn, merchant_id=merchant_id, card_merchant_id=card_merchant_id,
                                              kind=kind, out_nos=out_nos)
        else:
            rows = (await self._conn.execute(sa.select(card_transactions).where(
                t.merchant_id == merchant_id, t.card_merchant_id == card_merchant_id, t.kind == kind,
                t.out_no.in_(out_nos)))).all()
        return {r.out_no: CardTx(**r._mapping) for r in rows}

    async def tx_by_out_no(self, *, merchant_id: int, card_merchant_id: int, kind: str, out_no: str) -> CardTx | None:
        t = card_transactions.c
        row = (await self._conn.execute(sa.select(card_transactions).where(
            t.merchant_id == merchant_id, t.card_merchant_id == card_merchant_id, t.kind == kind, t.out_no == out_no,
        ))).first()
        return CardTx(**row._mapping) if row else None

    async def add_refunded(self, *, tx_no: str, amount: int) -> Refunded | None:
        """refunded += amount on a consume, guarded by refunded + amount <= amount; None if it would exceed."""
        t = card_transactions.c
        row = (await self._conn.execute(
            sa.update(card_transactions).where(t.tx_no == tx_no, t.refunded + amount <= t.amount)
            .values(refunded=t.refunded + amount).returning(t.amount, t.refunded)
        )).first()
        return Refunded(row.amount, row.refunded) if row else None

    async def refunds_of(self, *, tx_no: str) -> list[CardTx]:
        t = card_transactions.c
        rows = await self._conn.execute(sa.select(card_transactions).where(t.original_tx_no == tx_no).order_by(t.id))
        return [CardTx(**r._mapping) for r in rows]

    async def find_txs(self, *, merchant_id: int, since: datetime | None, until: datetime | None,
                       limit: int, offset: int, **equal: str | None) -> list[CardTx]:
        t = card_transactions.c
        query = sa.select(card_transactions).where(t.merchant_id == merchant_id)
        for name in TX_FILTERS:
            if equal.get(name) is not None:
                query = query.where(t[name] == equal[name])
        if since is not None:
            query = query.where(t.created_at >= since)
        if until is not None:
            query = query.where(t.created_at < until)
        rows = await self._conn.execute(query.order_by(t.created_at.desc(), t.id.desc()).limit(limit).offset(offset))
        return [CardTx(**r._mapping) for r in rows]

    async def recharge_total(self, *, merchant_id: int, since: datetime | None, until: datetime | None,
                             **equal: str | None) -> tuple[int, int]:
        t = card_transactions.c
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(t.amount), 0)).where(
            t.merchant_id == merchant_id, t.kind == "recharge")
        for name in ("card_merchant_code", "terminal_code", "card_no"):
            if equal.get(name) is not None:
                query = query.where(t[name] == equal[name])
        if since is not None:
            query = query.where(t.created_at >= since)
        if until is not None:
            query = query.where(t.created_at < until)
        count, total = (await self._conn.execute(query)).one()
        return int(count), int(total)

    async def count_recent(self, *, merchant_id: int, card_no: str, kind: str, since: datetime) -> int:
        t = card_transactions.c
        return (await self._conn.execute(sa.select(sa.func.count()).where(
            t.merchant_id == merchant_id, t.card_no == card_no, t.kind == kind, t.created_at >= since))).scalar_one()

    async def count_recent_by_card(self, *, merchant_id: int, card_nos: list[str], kind: str,
                                   since: datetime) -> dict[str, int]:
        """count_recent for many cards in one statement (cards without any are left out)."""
        t = card_transactions.c
        if bulk.is_postgres(self._conn):
            rows = await _RECENT_BY_CARD.rows(self._conn, merchant_id=merchant_id, card_nos=card_nos, kind=kind,
                                              since=since)
        else:
            rows = (await self._conn.execute(sa.select(t.card_no, sa.func.count().label("count")).where(
                t.merchant_id == merchant_id, t.card_no.in_(card_nos), t.kind == kind, t.created_at >= since,
            ).group_by(t.card_no))).all()
        return {r.card_no: int(r.count) for r in rows}

    async def recharges_by_day(self, *, merchant_id: int, day: date) -> list[RechargeSum]:
        """Recharges of one business day, summed by funding and collection shard."""
        t = card_transactions.c
        rows = await self._conn.execute(
            sa.select(t.funding, t.shard, sa.func.count().label("count"), sa.func.sum(t.amount).label("amount"))
            .where(t.merchant_id == merchant_id, t.business_date == day, t.kind == "recharge")
            .group_by(t.funding, t.shard).order_by(t.funding, t.shard))
        return [RechargeSum(r.funding, r.shard, int(r._mapping["count"]), int(r.amount)) for r in rows]

    # --- daily usage ----------------------------------------------------------------------------------

    async def lock_usage(self, *, merchant_id: int, subjects: list[str], day: date) -> dict[str, int]:
        """Lock the day's usage rows of the subjects (created at 0 if new), in subject order; used by subject."""
        u = card_usage
        rows = [{"merchant_id": merchant_id, "subject": subject, "business_date": day, "used": 0} for subject in sorted(subjects)]
        found: Sequence[Any]
        if bulk.is_postgres(self._conn):
            found = await bulk.unnest_insert(self._conn, u, rows, suffix=(
                "ORDER BY subject ON CONFLICT (merchant_id, subject, business_date) "
                "DO UPDATE SET used = card_usage.used RETURNING subject, used"))
        else:
            stmt = upsert(self._conn, u)
            found = (await self._conn.execute(stmt.on_conflict_do_update(
                index_elements=["merchant_id", "subject", "business_date"], set_={"used": u.c.used},
            ).returning(u.c.subject, u.c.used), rows)).all()
        return {subject: int(used) for subject, used in found}

    async def add_usage(self, *, merchant_id: int, day: date, amounts: dict[str, int]) -> None:
        """used += amount on usage rows locked by lock_usage (the caller checked the maximums)."""
        u = card_usage.c
        rows = [{"subject": s, "used": a} for s, a in sorted(amounts.items()) if a]
        if not rows:
            return
        if bulk.is_postgres(self._conn):
            values = bulk.arrays(self._conn, card_usage, ["subject", "used"], rows)
            await driver.execute(self._conn, sql=(
                f"UPDATE card_usage AS u SET used = u.used + v.used FROM {bulk.unnest(self._conn, card_usage, ['subject', 'used'])} "
                "WHERE u.merchant_id = %(merchant_id)s AND u.business_date = %(day)s AND u.subject = v.subject"),
                params=values | {"merchant_id": merchant_id, "day": day})
            return
        stmt = sa.update(card_usage).where(
            u.merchant_id == merchant_id, u.business_date == day, u.subject == sa.bindparam("b_subject"),
        ).values(used=u.used + sa.bindparam("b_amount"))
        await self._conn.execute(stmt, [{"b_subject": r["subject"], "b_amount": r["used"]} for r in rows])

    async def catch_up_usage(self, *, merchant_id: int, subject: str, day: date) -> None:
        t, u = card_transactions.c, card_usage.c
        scope, _, name = subject.partition(":")
        who = t.card_no if scope == "card" else t.card_merchant_code
        spent = sa.select(who, sa.func.sum(t.amount)).where(
            t.merchant_id == merchant_id, t.business_date == day, t.kind == "consume").group_by(who)
        if name != "*":
            spent = spent.where(who == name)
        rows = [{"merchant_id": merchant_id, "subject": usage_key(scope, key), "business_date": day, "used": int(total)}
                for key, total in await self._conn.execute(spent)]
        if not rows:
            return
        stmt = upsert(self._conn, card_usage)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["merchant_id", "subject", "business_date"],
            set_={"used": sa.case((u.used < stmt.excluded.used, stmt.excluded.used), else_=u.used)},
        ), rows)
    # --- events (the push outbox) -------------------------------------------------------------------------

    async def add_event(self, *, merchant_id: int, event_id: str, type: str, tx_no: str | None, payload: str,
                        at: datetime) -> None:
        await self._conn.execute(sa.insert(card_events).values(
            merchant_id=merchant_id, event_id=event_id, type=type, tx_no=tx_no, payload=payload, created_at=at))

    async def add_events(self, *, rows: list[CardEvent]) -> None:
        """add_event for many new events in one statement."""
        await bulk.insert_rows(self._conn, card_events, [_new_event(row) for row in rows])

    async def event(self, *, event_id: str) -> CardEvent | None:
        row = (await self._conn.execute(sa.select(card_events).where(card_events.c.event_id == event_id))).first()
        return CardEvent(**row._mapping) if row else None

    async def events(self, *, merchant_id: int, limit: int, undelivered: bool = False) -> list[CardEvent]:
        e = card_events.c
        query = sa.select(card_events).where(e.merchant_id == merchant_id)
        if undelivered:
            query = query.where(e.delivered_at.is_(None))
        rows = await self._conn.execute(query.order_by(e.id.desc()).limit(limit))
        return [CardEvent(**r._mapping) for r in rows]

    async def mark_event(self, *, event_id: str, status: str, delivered_at: datetime | None) -> None:
        e = card_events.c
        values: dict[str, Any] = {"attempts": e.attempts + 1, "last_status": status[:64]}
        if delivered_at is not None:
            values["delivered_at"] = sa.func.coalesce(e.delivered_at, delivered_at)
        await self._conn.execute(sa.update(card_events).where(e.event_id == event_id).values(**values))

    # --- suspicious cases -------------------------------------------------------------------------------

    async def add_case(self, case: SuspiciousCase) -> bool:
        """Record a rule hit once per (rule, transaction); False if it was recorded before."""
        s = suspicious_cases
        stmt = upsert(self._conn, s).values(
            merchant_id=case.merchant_id, case_no=case.case_no, rule=case.rule.value, tx_no=case.tx_no,
            card_no=case.card_no, detail=case.detail, state=case.state.value, version=0, note="",
            created_at=case.created_at, updated_at=case.created_at,
        ).on_conflict_do_nothing(index_elements=["merchant_id", "rule", "tx_no"]).returning(s.c.id)
        return (await self._conn.execute(stmt)).first() is not None

    async def add_new_cases(self, *, cases: list[SuspiciousCase]) -> None:
        """Record the cases of transactions written in this same transaction (so none can exist yet)."""
        rows = [{"merchant_id": c.merchant_id, "case_no": c.case_no, "rule": c.rule.value, "tx_no": c.tx_no,
                 "card_no": c.card_no, "detail": c.detail, "state": c.state.value, "version": 0, "note": "",
                 "created_at": c.created_at, "updated_at": c.created_at} for c in cases]
        await bulk.insert_rows(self._conn, suspicious_cases, rows)

    async def case(self, *, merchant_id: int, case_no: str) -> SuspiciousCase | None:
        s = suspicious_cases.c
        row = (await self._conn.execute(sa.select(suspicious_cases).where(
            s.merchant_id == merchant_id, s.case_no == case_no))).first()
        return _case(row) if row else None

    async def cases(self, *, merchant_id: int, state: str | None, limit: int) -> list[SuspiciousCase]:
        s = suspicious_cases.c
        query = sa.select(suspicious_cases).where(s.merchant_id == merchant_id)
        if state:
            query = query.where(s.state == state)
        rows = await self._conn.execute(query.order_by(s.id.desc()).limit(limit))
        return [_case(r) for r in rows]

    async def save_case(self, case: SuspiciousCase) -> None:
        await save_aggregate(self._conn, suspicious_cases, case)

    # --- online recharges ---------------------------------------------------------------------------------

    async def add_recharge(self, order: RechargeOrder) -> bool:
        """Insert a recharge order; False if its (merchant, card merchant, out_trade_no) was taken meanwhile."""
        try:
            async with duplicate_as(self._conn, Conflict("DUPLICATE", what="充值单", key=order.out_trade_no)):
                await insert_aggregate(self._conn, recharge_orders, order)
        except Conflict:
            return False
        return True

    async def recharge(self, *, recharge_no: str | None = None, merchant_id: int | None = None,
                       merchant_code: str | None = None, out_trade_no: str | None = None) -> RechargeOrder | None:
        r = recharge_orders.c
        query = sa.select(recharge_orders)
        if recharge_no is not None:
            query = query.where(r.recharge_no == recharge_no)
        else:
            query = query.where(r.merchant_id == merchant_id, r.merchant_code == merchant_code, r.out_trade_no == out_trade_no)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return _from_row(row, RechargeOrder, RechargeState)

    async def save_recharge(self, order: RechargeOrder) -> None:
        await save_aggregate(self._conn, recharge_orders, order)

    # --- card replacements --------------------------------------------------------------------------------

    async def add_replacement(self, replacement: CardReplacement) -> None:
        await insert_aggregate(self._conn, card_replacements, replacement)

    async def replacement(self, *, replacement_no: str) -> CardReplacement | None:
        row = (await self._conn.execute(sa.select(card_replacements).where(
            card_replacements.c.replacement_no == replacement_no))).first()
        if row is None:
            return None
        return _from_row(row, CardReplacement, ReplacementState)

    async def save_replacement(self, replacement: CardReplacement) -> None:
        await save_aggregate(self._conn, card_replacements, replacement)

    # --- custody ---------------------------------------------------------------------------------------------

    async def settlement(self, *, merchant_id: int, day: date) -> CustodySettlement | None:
        c = custody_settlements.c
        row = (await self._conn.execute(sa.select(custody_settlements).where(
            c.merchant_id == merchant_id, c.business_date == day))).first()
        return CustodySettlement(**row._mapping) if row else None

    async def add_settlement(self, *, row: CustodySettlement) -> None:
        await self._conn.execute(sa.insert(custody_settlements).values(**_stored(row)))
