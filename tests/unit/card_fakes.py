"""In-memory card repositories (payhub.kernel.ports.CardRepository and CardMoneyRepository), with the SQL repositories'
rules: unique keys raise or answer as SQL does, guarded saves raise StaleState, rows are the ports' typed rows.

They keep their tables in CardTables inside the FakeDatabase and write through its rollback journal, so a unit of
work left without commit() keeps none of their writes. Aggregates handed out are copies; rows are frozen.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from payhub.cards.domain.limits import Limits
from payhub.cards.domain.recharges import RechargeOrder
from payhub.cards.domain.replacements import CardReplacement
from payhub.cards.domain.rows import (
    CardEvent, CardMerchant, CardProgram, CardTx, CardView, CustodySettlement, LimitSetting, LockedCard, Member,
    PayingMerchant, PoolBatch, RechargeSum, Refunded, SmsCode,
)
from payhub.cards.domain.risk import SuspiciousCase
from payhub.cards.domain.cards import Card, CardKind, card_account
from payhub.kernel.domain.errors import Conflict, StaleState
from payhub.cards.domain.funds import FundsAccount
from payhub.kernel.domain.transitions import StateMachine

if TYPE_CHECKING:
    from .fakes import FakeDatabase, _Writes

TX_FILTERS = ("kind", "channel", "card_merchant_code", "terminal_code", "card_no", "out_no")
Aggregate = TypeVar("Aggregate", bound=StateMachine)


@dataclass
class CardTables:
    """The committed card tables, keyed by their unique keys."""

    programs: dict[int, dict[str, Any]] = field(default_factory=dict)
    card_merchants: dict[int, dict[str, Any]] = field(default_factory=dict)
    limits: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    accounts: dict[int, FundsAccount] = field(default_factory=dict)
    cards: dict[tuple[int, str], tuple[Card, int]] = field(default_factory=dict)  # with its ledger account id
    pool: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    sms_codes: dict[int, dict[str, Any]] = field(default_factory=dict)
    txs: dict[str, CardTx] = field(default_factory=dict)
    usage: dict[tuple[int, str, date], int] = field(default_factory=dict)
    events: dict[int, CardEvent] = field(default_factory=dict)
    cases: dict[str, SuspiciousCase] = field(default_factory=dict)
    recharges: dict[str, RechargeOrder] = field(default_factory=dict)
    replacements: dict[str, CardReplacement] = field(default_factory=dict)
    settlements: dict[tuple[int, date], CustodySettlement] = field(default_factory=dict)


class _CardStore:
    def __init__(self, db: FakeDatabase, writes: _Writes) -> None:
        self._db, self._writes, self._t = db, writes, db.card_tables

    def _insert(self, aggregate: StateMachine) -> None:
        aggregate.id = self._db.next_id()
        aggregate.updated_at = aggregate.updated_at or aggregate.created_at  # type: ignore[attr-defined]
        self._record(aggregate)

    def _guard(self, aggregate: Aggregate, stored: StateMachine | None) -> Aggregate:
        """The guarded update: StaleState unless the stored state and version are the ones read; the copy to store,
        whose updated_at (not the caller's, as in SQL) is the last move's."""
        if stored is None or stored.state != aggregate.saved_state or stored.version != aggregate.version:
            raise StaleState(aggregate.aggregate, aggregate.key)
        aggregate.version += 1
        moved_at = aggregate.transitions[-1].at if aggregate.transitions else None
        self._record(aggregate)
        saved = copy.deepcopy(aggregate)
        if moved_at is not None:
            saved.updated_at = moved_at  # type: ignore[attr-defined]
        return saved

    def _record(self, aggregate: StateMachine) -> None:
        for move in aggregate.transitions:
            self._writes.put(self._db.history, self._db.next_id(), move)
        aggregate.transitions = []
        aggregate.saved_state = aggregate.state

    def _change(self, table: dict[Any, dict[str, Any]], key: Any, **values: Any) -> dict[str, Any]:
        row = table[key] | values
        self._writes.put(table, key, row)
        return row


def _restored(aggregate: Aggregate | None) -> Aggregate | None:
    return copy.deepcopy(aggregate) if aggregate is not None else None


class FakeCards(_CardStore):
    """Cards, funds accounts, members, the card pool, card merchants, issuer programs and limits."""

    async def set_program(self, *, merchant_id: int, push_url: str | None, push_secret_sealed: str | None,
                          password_tries: int, at: datetime) -> None:
        created = self._t.programs.get(merchant_id, {}).get("created_at", at)
        self._writes.put(self._t.programs, merchant_id, dict(
            merchant_id=merchant_id, push_url=push_url, push_secret_sealed=push_secret_sealed,
            password_tries=password_tries, created_at=created, updated_at=at))

    async def program(self, *, merchant_id: int) -> CardProgram | None:
        found = self._t.programs.get(merchant_id)
        return CardProgram(**found) if found else None

    async def add_card_merchant(self, *, merchant_id: int, code: str, name: str, at: datetime) -> int:
        if any(m["merchant_id"] == merchant_id and m["code"] == code for m in self._t.card_merchants.values()):
            raise Conflict("DUPLICATE", what="卡系统商户", key=code)
        merchant_id_ = self._db.next_id()
        self._writes.put(self._t.card_merchants, merchant_id_, dict(
            id=merchant_id_, merchant_id=merchant_id, code=code, name=name, active=True, pinless_offline_max=None,
            created_at=at, updated_at=at))
        return merchant_id_

    def _card_merchant(self, merchant_id: int, code: str) -> dict[str, Any] | None:
        return next((m for m in self._t.card_merchants.values()
                     if m["merchant_id"] == merchant_id and m["code"] == code), None)

    async def card_merchant(self, *, merchant_id: int, code: str) -> PayingMerchant | None:
        found = self._card_merchant(merchant_id, code)
        if found is None:
            return None
        program = self._t.programs.get(merchant_id) or {}
        return PayingMerchant(found["id"], found["code"], found["name"], found["active"], found["pinless_offline_max"],
                              program.get("push_url"))

    async def card_merchants(self, *, merchant_id: int) -> list[CardMerchant]:
        found = [m for m in self._t.card_merchants.values() if m["merchant_id"] == merchant_id]
        return [CardMerchant(**m) for m in sorted(found, key=lambda m: m["code"])]

    async def set_pinless_offline(self, *, merchant_id: int, code: str, max_amount: int | None, at: datetime) -> bool:
        found = self._card_merchant(merchant_id, code)
        if found is None:
            return False
        self._change(self._t.card_merchants, found["id"], pinless_offline_max=max_amount, updated_at=at)
        return True

    async def set_limit(self, *, merchant_id: int, subject: str, limits: Limits, at: datetime) -> None:
        created = self._t.limits.get((merchant_id, subject), {}).get("created_at", at)
        self._writes.put(self._t.limits, (merchant_id, subject), dict(
            merchant_id=merchant_id, subject=subject, per_txn=limits.per_txn, per_day=limits.per_day,
            created_at=created, updated_at=at))

    async def limits(self, *, merchant_id: int, subjects: list[str]) -> dict[str, Limits]:
        return {subject: Limits(row["per_txn"], row["per_day"]) for subject in subjects
                if (row := self._t.limits.get((merchant_id, subject)))}

    async def all_limits(self, *, merchant_id: int) -> list[LimitSetting]:
        return [LimitSetting(**row) for (m, _), row in sorted(self._t.limits.items()) if m == merchant_id]

    # --- funds accounts ----------------------------------------------------------------------------------

    async def add_account(self, *, merchant_id: int, account_no: str, holder_name: str, phone: str,
                          password_hash: str, at: datetime) -> FundsAccount:
        if any(a.merchant_id == merchant_id and a.account_no == account_no for a in self._t.accounts.values()):
            raise Conflict("DUPLICATE", what="资金账户", key=account_no)
        account = FundsAccount(self._db.next_id(), merchant_id, account_no, holder_name, phone, password_hash, 0, 1, at)
        self._writes.put(self._t.accounts, account.id, account)
        return account

    async def account(self, *, merchant_id: int, account_no: str | None = None, account_id: int | None = None,
                      lock: bool = False) -> FundsAccount | None:
        return next((a for a in self._t.accounts.values() if a.merchant_id == merchant_id
                     and (account_no is None or a.account_no == account_no)
                     and (account_id is None or a.id == account_id)), None)

    async def set_password(self, *, account_id: int, password_hash: str, at: datetime) -> None:
        if (account := self._t.accounts.get(account_id)) is not None:
            self._writes.put(self._t.accounts, account_id, replace(
                account, password_hash=password_hash, wrong_tries=0, password_version=account.password_version + 1))

    async def set_wrong_tries(self, *, account_id: int, tries: int, at: datetime) -> None:
        if (account := self._t.accounts.get(account_id)) is not None:
            self._writes.put(self._t.accounts, account_id, replace(account, wrong_tries=tries))

    async def take_password_try(self, *, account_id: int, allowed: int, at: datetime) -> FundsAccount | None:
        account = self._t.accounts.get(account_id)
        if account is None or account.wrong_tries >= allowed:
            return None
        counted = replace(account, wrong_tries=account.wrong_tries + 1)
        self._writes.put(self._t.accounts, account_id, counted)
        return counted

    # --- cards -----------------------------------------------------------------------------------------------

    async def add_card(self, card: Card, *, ledger_account_id: int) -> None:
        if (card.merchant_id, card.card_no) in self._t.cards:
            raise Conflict("CARD_TAKEN", card_no=card.card_no)
        self._insert(card)
        self._writes.put(self._t.cards, (card.merchant_id, card.card_no), (copy.deepcopy(card), ledger_account_id))

    async def card(self, *, merchant_id: int, card_no: str) -> Card | None:
        stored = self._t.cards.get((merchant_id, card_no))
        return _restored(stored[0] if stored else None)

    async def cards_of(self, *, account_id: int) -> list[Card]:
        found = [card for card, _ in self._t.cards.values() if card.account_id == account_id]
        return copy.deepcopy(sorted(found, key=lambda card: card.id or 0))

    async def save_card(self, card: Card) -> None:
        stored = self._t.cards.get((card.merchant_id, card.card_no))
        saved = self._guard(card, stored[0] if stored else None)
        assert stored is not None
        self._writes.put(self._t.cards, (card.merchant_id, card.card_no), (saved, stored[1]))

    async def lock_cards(self, *, merchant_id: int, card_nos: list[str]) -> dict[str, LockedCard]:
        found = sorted((stored for no in set(card_nos) if (stored := self._t.cards.get((merchant_id, no)))),
                       key=lambda stored: stored[0].id or 0)
        rows = {}
        for card, ledger_account_id in found:
            account = self._t.accounts[card.account_id]
            assert card.id is not None  # stored
            rows[card.card_no] = LockedCard(card.id, card.card_no, card.state.value, card.account_id, ledger_account_id,
                                            account.password_version, account.wrong_tries)
        return rows

    async def card_view(self, *, merchant_id: int, card_no: str) -> CardView | None:
        stored = self._t.cards.get((merchant_id, card_no))
        if stored is None:
            return None
        card, account = stored[0], self._t.accounts[stored[0].account_id]
        ledger = self._db.accounts.get((merchant_id, card_account(card_no).code))
        assert card.updated_at is not None  # stored
        return CardView(card.card_no, card.kind.value, card.state.value, card.created_at, card.updated_at,
                        account.account_no, account.holder_name, account.phone, ledger.balance if ledger else 0,
                        ledger.version if ledger else 0)

    # --- pool ------------------------------------------------------------------------------------------------

    async def add_to_pool(self, *, merchant_id: int, card_nos: list[str], kind: CardKind, batch: str,
                          at: datetime) -> int:
        added = 0
        for no in card_nos:
            if (merchant_id, no) not in self._t.pool:
                self._writes.put(self._t.pool, (merchant_id, no), dict(
                    merchant_id=merchant_id, card_no=no, kind=kind.value, batch=batch, taken_at=None, created_at=at))
                added += 1
        return added

    async def take_from_pool(self, *, merchant_id: int, kind: CardKind, at: datetime) -> str | None:
        free = sorted(no for (m, no), row in self._t.pool.items()
                      if m == merchant_id and row["kind"] == kind.value and row["taken_at"] is None)
        if not free:
            return None
        self._change(self._t.pool, (merchant_id, free[0]), taken_at=at)
        return free[0]

    async def pool_stats(self, *, merchant_id: int) -> list[PoolBatch]:
        groups: dict[tuple[str, str], PoolBatch] = {}
        for (m, _), row in self._t.pool.items():
            if m == merchant_id:
                group = groups.get((row["kind"], row["batch"])) or PoolBatch(row["kind"], row["batch"], 0, 0)
                groups[(row["kind"], row["batch"])] = replace(group, total=group.total + 1,
                                                              taken=group.taken + (row["taken_at"] is not None))
        return sorted(groups.values(), key=lambda group: group.batch)

    # --- members and SMS codes ----------------------------------------------------------------------------------

    async def add_member(self, *, merchant_id: int, phone: str, name: str, account_id: int, at: datetime) -> int:
        if any(m["merchant_id"] == merchant_id and m["phone"] == phone for m in self._t.members.values()):
            raise Conflict("MEMBER_EXISTS")
        member_id = self._db.next_id()
        self._writes.put(self._t.members, member_id, dict(
            id=member_id, merchant_id=merchant_id, phone=phone, name=name, account_id=account_id, card_no=None,
            created_at=at, updated_at=at))
        return member_id

    async def member(self, *, merchant_id: int, phone: str, lock: bool = False) -> Member | None:
        found = next((m for m in self._t.members.values() if m["merchant_id"] == merchant_id and m["phone"] == phone),
                     None)
        return Member(**found) if found else None

    async def bind_card(self, *, member_id: int, card_no: str, at: datetime) -> None:
        if member_id in self._t.members:
            self._change(self._t.members, member_id, card_no=card_no, updated_at=at)

    async def add_sms_code(self, *, merchant_id: int, phone: str, purpose: str, code_hash: str,
                           expires_at: datetime, at: datetime) -> None:
        code_id = self._db.next_id()
        self._writes.put(self._t.sms_codes, code_id, dict(
            id=code_id, merchant_id=merchant_id, phone=phone, purpose=purpose, code_hash=code_hash,
            expires_at=expires_at, attempts=0, used_at=None, created_at=at))

    async def latest_sms_code(self, *, merchant_id: int, phone: str, purpose: str) -> SmsCode | None:
        found = [row for row in self._t.sms_codes.values()
                 if (row["merchant_id"], row["phone"], row["purpose"]) == (merchant_id, phone, purpose)]
        latest = max(found, key=lambda row: row["id"], default=None)
        return SmsCode(**latest) if latest else None

    async def mark_sms_code(self, *, code_id: int, attempts: int, used_at: datetime | None) -> None:
        if code_id in self._t.sms_codes:
            self._change(self._t.sms_codes, code_id, attempts=attempts, used_at=used_at)


class FakeCardMoney(_CardStore):
    """Card transactions, daily usage, the push outbox, suspicious cases, recharges, replacements, custody."""

    # --- transactions ------------------------------------------------------------------------------------------

    def _tx(self, merchant_id: int, card_merchant_id: int, kind: str, out_no: str) -> CardTx | None:
        return next((tx for tx in self._t.txs.values()
                     if (tx.merchant_id, tx.card_merchant_id, tx.kind, tx.out_no)
                     == (merchant_id, card_merchant_id, kind, out_no)), None)

    async def claim_tx(self, *, row: CardTx) -> bool:
        if self._tx(row.merchant_id, row.card_merchant_id, row.kind, row.out_no) is not None:
            return False
        if row.tx_no in self._t.txs:
            raise Conflict("DUPLICATE", what="卡交易", key=row.tx_no)
        self._writes.put(self._t.txs, row.tx_no, replace(row, id=self._db.next_id()))
        return True

    async def claim_txs(self, *, rows: list[CardTx]) -> set[str]:
        return {row.out_no for row in rows if await self.claim_tx(row=row)}

    async def tx_by_out_no(self, *, merchant_id: int, card_merchant_id: int, kind: str, out_no: str) -> CardTx | None:
        return self._tx(merchant_id, card_merchant_id, kind, out_no)

    async def txs_by_out_nos(self, *, merchant_id: int, card_merchant_id: int, kind: str,
                             out_nos: list[str]) -> dict[str, CardTx]:
        return {no: tx for no in out_nos if (tx := self._tx(merchant_id, card_merchant_id, kind, no)) is not None}

    async def add_refunded(self, *, tx_no: str, amount: int) -> Refunded | None:
        tx = self._t.txs.get(tx_no)
        if tx is None or tx.refunded + amount > tx.amount:
            return None
        self._writes.put(self._t.txs, tx_no, replace(tx, refunded=tx.refunded + amount))
        return Refunded(tx.amount, tx.refunded + amount)

    async def refunds_of(self, *, tx_no: str) -> list[CardTx]:
        return sorted((tx for tx in self._t.txs.values() if tx.original_tx_no == tx_no), key=lambda tx: tx.id or 0)

    def _matching(self, merchant_id: int, since: datetime | None, until: datetime | None,
                  equal: dict[str, str | None]) -> list[CardTx]:
        return [tx for tx in self._t.txs.values() if tx.merchant_id == merchant_id
                and all(getattr(tx, name) == value for name, value in equal.items() if value is not None)
                and (since is None or tx.created_at >= since) and (until is None or tx.created_at < until)]

    async def find_txs(self, *, merchant_id: int, since: datetime | None, until: datetime | None, limit: int,
                       offset: int, **equal: str | None) -> list[CardTx]:
        found = self._matching(merchant_id, since, until, {k: v for k, v in equal.items() if k in TX_FILTERS})
        found.sort(key=lambda tx: (tx.created_at, tx.id or 0), reverse=True)
        return found[offset:offset + limit]

    async def recharge_total(self, *, merchant_id: int, since: datetime | None, until: datetime | None,
                             **equal: str | None) -> tuple[int, int]:
        wanted = {k: v for k, v in equal.items() if k in ("card_merchant_code", "terminal_code", "card_no")}
        found = self._matching(merchant_id, since, until, wanted | {"kind": "recharge"})
        return len(found), sum(tx.amount for tx in found)

    async def count_recent(self, *, merchant_id: int, card_no: str, kind: str, since: datetime) -> int:
        return len(self._matching(merchant_id, since, None, {"card_no": card_no, "kind": kind}))

    async def count_recent_by_card(self, *, merchant_id: int, card_nos: list[str], kind: str,
                                   since: datetime) -> dict[str, int]:
        counts = {no: await self.count_recent(merchant_id=merchant_id, card_no=no, kind=kind, since=since)
                  for no in set(card_nos)}
        return {no: count for no, count in counts.items() if count}

    async def recharges_by_day(self, *, merchant_id: int, day: date) -> list[RechargeSum]:
        groups: dict[tuple[str, int], RechargeSum] = {}
        for tx in self._t.txs.values():
            if tx.merchant_id == merchant_id and tx.business_date == day and tx.kind == "recharge":
                assert tx.funding is not None  # every recharge has one
                group = groups.get((tx.funding, tx.shard)) or RechargeSum(tx.funding, tx.shard, 0, 0)
                groups[(tx.funding, tx.shard)] = replace(group, count=group.count + 1, amount=group.amount + tx.amount)
        return [groups[key] for key in sorted(groups)]

    # --- daily usage --------------------------------------------------------------------------------------------

    async def lock_usage(self, *, merchant_id: int, subjects: list[str], day: date) -> dict[str, int]:
        used = {}
        for subject in sorted(set(subjects)):
            if (merchant_id, subject, day) not in self._t.usage:
                self._writes.put(self._t.usage, (merchant_id, subject, day), 0)
            used[subject] = self._t.usage[(merchant_id, subject, day)]
        return used

    async def catch_up_usage(self, *, merchant_id: int, subject: str, day: date) -> None:
        scope, _, name = subject.partition(":")
        spent: dict[str, int] = defaultdict(int)
        for tx in self._t.txs.values():
            key = tx.card_no if scope == "card" else tx.card_merchant_code
            if (tx.merchant_id, tx.business_date, tx.kind) == (merchant_id, day, "consume") and name in ("*", key):
                spent[f"{scope}:{key}"] += tx.amount
        for subject_key, total in spent.items():
            key = (merchant_id, subject_key, day)
            if self._t.usage.get(key, 0) < total:
                self._writes.put(self._t.usage, key, total)

    async def add_usage(self, *, merchant_id: int, day: date, amounts: dict[str, int]) -> None:
        for subject, amount in amounts.items():
            key = (merchant_id, subject, day)
            if amount and key in self._t.usage:
                self._writes.put(self._t.usage, key, self._t.usage[key] + amount)

    # --- events (the push outbox) --------------------------------------------------------------------------------

    async def add_event(self, *, merchant_id: int, event_id: str, type: str, tx_no: str | None, payload: str,
                        at: datetime) -> None:
        await self.add_events(rows=[CardEvent(merchant_id, event_id, type, tx_no, payload, at)])

    async def add_events(self, *, rows: list[CardEvent]) -> None:
        for row in rows:
            if self._event(row.event_id) is not None:
                raise Conflict("DUPLICATE", what="事件", key=row.event_id)
            event_key = self._db.next_id()
            self._writes.put(self._t.events, event_key, replace(row, id=event_key, delivered_at=None, attempts=0,
                                                                last_status=None))

    def _event(self, event_id: str) -> CardEvent | None:
        return next((event for event in self._t.events.values() if event.event_id == event_id), None)

    async def event(self, *, event_id: str) -> CardEvent | None:
        return self._event(event_id)

    async def events(self, *, merchant_id: int, limit: int, undelivered: bool = False) -> list[CardEvent]:
        found = [event for _, event in sorted(self._t.events.items(), reverse=True)
                 if event.merchant_id == merchant_id and not (undelivered and event.delivered_at)]
        return found[:limit]

    async def mark_event(self, *, event_id: str, status: str, delivered_at: datetime | None) -> None:
        event = self._event(event_id)
        if event is not None and event.id is not None:
            self._writes.put(self._t.events, event.id, replace(
                event, attempts=event.attempts + 1, last_status=status[:64],
                delivered_at=event.delivered_at or delivered_at))

    # --- suspicious cases ----------------------------------------------------------------------------------------

    async def add_case(self, case: SuspiciousCase) -> bool:
        if any((c.merchant_id, c.rule, c.tx_no) == (case.merchant_id, case.rule, case.tx_no)
               for c in self._t.cases.values()):
            return False
        await self.add_new_cases(cases=[case])
        return True

    async def add_new_cases(self, *, cases: list[SuspiciousCase]) -> None:
        for case in cases:
            stored = replace(case, id=self._db.next_id(), version=0, updated_at=case.created_at, transitions=[],
                             saved_state=case.state)
            self._writes.put(self._t.cases, case.case_no, stored)

    async def case(self, *, merchant_id: int, case_no: str) -> SuspiciousCase | None:
        stored = self._t.cases.get(case_no)
        return _restored(stored if stored and stored.merchant_id == merchant_id else None)

    async def cases(self, *, merchant_id: int, state: str | None, limit: int) -> list[SuspiciousCase]:
        found = sorted((c for c in self._t.cases.values()
                        if c.merchant_id == merchant_id and (not state or c.state == state)),
                       key=lambda c: c.id or 0, reverse=True)[:limit]
        return [copy.deepcopy(c) for c in found]

    async def save_case(self, case: SuspiciousCase) -> None:
        self._writes.put(self._t.cases, case.case_no, self._guard(case, self._t.cases.get(case.case_no)))

    # --- online recharges ----------------------------------------------------------------------------------------

    async def add_recharge(self, order: RechargeOrder) -> bool:
        if any((r.merchant_id, r.merchant_code, r.out_trade_no) == (order.merchant_id, order.merchant_code,
                                                                     order.out_trade_no)
               for r in self._t.recharges.values()):
            return False
        self._insert(order)
        self._writes.put(self._t.recharges, order.recharge_no, copy.deepcopy(order))
        return True

    async def recharge(self, *, recharge_no: str | None = None, merchant_id: int | None = None,
                       merchant_code: str | None = None, out_trade_no: str | None = None) -> RechargeOrder | None:
        if recharge_no is not None:
            return _restored(self._t.recharges.get(recharge_no))
        return _restored(next((r for r in self._t.recharges.values() if (r.merchant_id, r.merchant_code, r.out_trade_no)
                               == (merchant_id, merchant_code, out_trade_no)), None))

    async def save_recharge(self, order: RechargeOrder) -> None:
        self._writes.put(self._t.recharges, order.recharge_no,
                         self._guard(order, self._t.recharges.get(order.recharge_no)))

    # --- card replacements ---------------------------------------------------------------------------------------

    async def add_replacement(self, replacement: CardReplacement) -> None:
        if replacement.replacement_no in self._t.replacements:
            raise Conflict("DUPLICATE", what="换卡", key=replacement.replacement_no)
        self._insert(replacement)
        self._writes.put(self._t.replacements, replacement.replacement_no, copy.deepcopy(replacement))

    async def replacement(self, *, replacement_no: str) -> CardReplacement | None:
        return _restored(self._t.replacements.get(replacement_no))

    async def save_replacement(self, replacement: CardReplacement) -> None:
        self._writes.put(self._t.replacements, replacement.replacement_no,
                         self._guard(replacement, self._t.replacements.get(replacement.replacement_no)))

    # --- custody --------------------------------------------------------------------------------------------------

    async def settlement(self, *, merchant_id: int, day: date) -> CustodySettlement | None:
        return self._t.settlements.get((merchant_id, day))

    async def add_settlement(self, *, row: CustodySettlement) -> None:
        key = (row.merchant_id, row.business_date)
        if key in self._t.settlements:
            raise Conflict("DUPLICATE", what="托管结算", key=str(row.business_date))
        self._writes.put(self._t.settlements, key, replace(row, id=self._db.next_id()))
