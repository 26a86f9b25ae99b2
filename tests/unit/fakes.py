"""In-memory implementations of the ports in payhub.kernel.ports: honest enough to run the services, small enough to read.

    FakeDatabase          the committed tables (plain dicts)
    FakeUnitOfWork        write-through with a rollback journal: leaving without commit() undoes its writes;
                          save() is the guarded update (StaleState when the stored state/version moved);
                          the card repositories are in card_fakes.py. tests/contract/test_*_repository.py runs
                          the same cases against these and SQL.
    FakeChannel/Biller    answer from scripts a test queues per operation, and record every call
    FixedClock, FakeSignals, PlainSealer, PlainHasher

Stored aggregates are deep copies: what a service holds is never the row itself.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from payhub.counter.domain.billing import Arrears, PostingRequest, PostingResult, PostingStatus
from payhub.kernel.domain.errors import Conflict, NotFound, StaleState
from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.jobs import (
    Done, Job, JobOutcome, JobState, JobType, ParkedJob, Retry, RunAgain, backoff,
)
from payhub.kernel.domain.ledger import AccountLine, AccountSpec, JournalEntry, LedgerAccount
from payhub.kernel.domain.ledger_batch import AccountState, LegRow, Postings
from payhub.kernel.domain.orders import Order, OrderState
from payhub.kernel.domain.payments import (
    Capability, CloseResult, CloseStatus, NativeQr, PayResult, PayStatus, RefundResult, RefundStatus,
)
from payhub.kernel.domain.refunds import Refund
from payhub.kernel.domain.sign_in_throttle import Event, Purpose, SignInRules, Tally
from payhub.kernel.domain.tenancy import Merchant, NonceUse, Operator, OperatorSession, Role, StaffNames, Terminal
from payhub.kernel.domain.transitions import StateMachine, Transition
from payhub.kernel.ports import OrderView, SignatureInvalid
from payhub.counter.ports import BillerAccountUnknown, BillerUnavailable

from .card_fakes import CardTables, FakeCardMoney, FakeCards

_MISSING = object()


# --- storage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredJob:
    id: int
    merchant_id: int
    kind: str
    ref: str
    state: JobState
    attempts: int
    max_attempts: int
    run_at: datetime
    lease_until: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class StoredRefund:
    refund: Refund
    terminal_id: int | None
    request_no: str | None
    request_hash: str | None


@dataclass(frozen=True)
class StoredAccount:
    spec: AccountSpec
    balance: int = 0
    version: int = 0
    id: int = 0
    merchant_id: int = 0
    created_at: datetime | None = None


@dataclass
class FakeDatabase:
    """The committed state. Tables are dicts so that one rollback journal serves them all."""

    orders: dict[str, Order] = field(default_factory=dict)
    refunds: dict[str, StoredRefund] = field(default_factory=dict)
    jobs: dict[tuple[str, str], StoredJob] = field(default_factory=dict)
    entries: dict[tuple[int, str, str], JournalEntry] = field(default_factory=dict)
    journal: dict[str, tuple[JournalEntry, datetime, tuple[LegRow, ...]]] = field(default_factory=dict)  # by entry id
    accounts: dict[tuple[int, str], StoredAccount] = field(default_factory=dict)
    history: dict[int, Transition] = field(default_factory=dict)
    merchants: dict[int, Merchant] = field(default_factory=dict)
    terminals: dict[str, tuple[Terminal, str]] = field(default_factory=dict)
    operators: dict[int, tuple[Operator, str]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    nonces: dict[tuple[int, str], datetime] = field(default_factory=dict)
    sign_in_counters: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    sign_in_audit: dict[int, dict[str, Any]] = field(default_factory=dict)
    receipt_originals: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # by order id
    card_tables: CardTables = field(default_factory=CardTables)
    commits: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self._ids)


class _Writes:
    """The rollback journal of one unit of work."""

    def __init__(self, *, read_only: bool) -> None:
        self.read_only = read_only
        self.undo: list[tuple[dict, Any, Any]] = []

    def put(self, table: dict, key: Any, value: Any) -> None:
        assert not self.read_only, "a write in a read-only unit of work"
        self.undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def delete(self, table: dict, key: Any) -> None:
        assert not self.read_only, "a write in a read-only unit of work"
        self.undo.append((table, key, table.pop(key)))

    def rollback(self) -> None:
        for table, key, old in reversed(self.undo):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        self.undo.clear()


class _Aggregates:
    """Insert and guarded update shared by orders and refunds."""

    def __init__(self, db: FakeDatabase, writes: _Writes) -> None:
        self._db, self._writes = db, writes

    def _record(self, aggregate: StateMachine) -> None:
        for move in aggregate.transitions:
            self._writes.put(self._db.history, self._db.next_id(), move)
        aggregate.transitions = []
        aggregate.saved_state = aggregate.state

    def _insert(self, aggregate: StateMachine) -> None:
        aggregate.id = self._db.next_id()
        aggregate.updated_at = aggregate.updated_at or aggregate.created_at
        self._record(aggregate)

    def _check_and_bump(self, aggregate: StateMachine, stored: StateMachine | None) -> Any:
        """The guarded update; the copy to store, whose updated_at (not the caller's, as in SQL) is the last move's."""
        if stored is None or stored.state != aggregate.saved_state or stored.version != aggregate.version:
            raise StaleState(aggregate.aggregate, aggregate.key)
        aggregate.version += 1
        moved_at = aggregate.transitions[-1].at if aggregate.transitions else None
        self._record(aggregate)
        saved = copy.deepcopy(aggregate)
        if moved_at is not None:
            saved.updated_at = moved_at
        return saved


class FakeOrders(_Aggregates):
    def _keep_payments(self, order: Order) -> None:
        """New payments get their ids, as the SQL repository gives them."""
        order.payments = order.saved_payments = tuple(
            p if p.id is not None else dataclasses.replace(p, id=self._db.next_id()) for p in order.payments
        )

    async def add(self, order: Order) -> None:
        if any(o.terminal_id == order.terminal_id and o.terminal_order_no == order.terminal_order_no
               for o in self._db.orders.values()):
            raise Conflict("DUPLICATE", what="订单", key=order.terminal_order_no)
        self._insert(order)
        self._keep_payments(order)
        self._writes.put(self._db.orders, order.order_no, copy.deepcopy(order))

    async def get(self, *, order_no: str) -> Order | None:
        return copy.deepcopy(self._db.orders.get(order_no))

    async def by_terminal_order_no(self, *, terminal_id: int, terminal_order_no: str) -> Order | None:
        for order in self._db.orders.values():
            if order.terminal_id == terminal_id and order.terminal_order_no == terminal_order_no:
                return copy.deepcopy(order)
        return None

    async def save(self, order: Order) -> None:
        self._keep_payments(order)
        self._writes.put(self._db.orders, order.order_no, self._check_and_bump(order, self._db.orders.get(order.order_no)))

    async def claim_receipt_original(self, *, order_id: int, terminal_id: int, at: datetime) -> bool:
        if order_id in self._db.receipt_originals:
            return False
        self._writes.put(self._db.receipt_originals, order_id, (terminal_id, at))
        return True

    async def expired_unpaid(self, *, now: datetime, limit: int) -> list[str]:
        due = [o for o in self._db.orders.values() if o.state is OrderState.CREATED and o.expires_at <= now]
        return [o.order_no for o in sorted(due, key=lambda o: (o.expires_at, o.id))][:limit]

    async def totals(self, *, filters: Any) -> tuple[int, int]:
        found = await self.search(filters=filters, limit=len(self._db.orders), offset=0)
        return len(found), sum(o.amount for o in found)

    async def search(self, *, filters: Any, limit: int, offset: int) -> list[Order]:
        f = filters
        found = [o for o in self._db.orders.values() if o.merchant_id == f.merchant_id
                 and (f.terminal_id is None or o.terminal_id == f.terminal_id)
                 and (f.operator_id is None or o.operator_id == f.operator_id)
                 and (not f.states or o.state in f.states) and (not f.fee_type or o.product == f.fee_type)
                 and (not f.account_no or o.account_no == f.account_no)
                 and (not f.created_from or o.created_at >= f.created_from)
                 and (not f.created_to or o.created_at < f.created_to)]
        found.sort(key=lambda o: (o.created_at, o.id), reverse=True)
        return copy.deepcopy(found[offset:offset + limit])

    async def paid_between(self, *, merchant_id: int, operator_id: int, start: datetime,
                           end: datetime) -> list[Order]:
        paid = {o.order_no: o.paid_payment.paid_at for o in self._db.orders.values()
                if o.merchant_id == merchant_id and o.operator_id == operator_id
                and o.paid_payment is not None and o.paid_payment.paid_at is not None}
        found = [o for o in self._db.orders.values() if o.order_no in paid and start <= paid[o.order_no] < end]
        return copy.deepcopy(sorted(found, key=lambda o: (paid[o.order_no], o.id)))

    async def history(self, *, key: str) -> list[Transition]:
        return [move for _, move in sorted(self._db.history.items()) if move.key == key]

    async def view(self, *, order_no: str) -> OrderView | None:
        order = self._db.orders.get(order_no)
        if order is None:
            return None
        refunds = sorted((s.refund for s in self._db.refunds.values() if s.refund.order_id == order.id),
                         key=lambda r: r.seq)
        history = [move for key in [order_no, *(r.refund_no for r in refunds)] for move in await self.history(key=key)]
        return copy.deepcopy(OrderView(order, refunds, history))

    async def count_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for order in self._db.orders.values():
            counts[str(order.state)] += 1
        return dict(counts)


class FakeRefunds(_Aggregates):
    async def add(self, refund: Refund, *, terminal_id: int | None = None, request_no: str | None = None,
                  request_hash: str | None = None) -> None:
        taken = refund.refund_no in self._db.refunds or (request_no is not None and any(
            s.terminal_id == terminal_id and s.request_no == request_no for s in self._db.refunds.values()))
        if taken:
            raise Conflict("DUPLICATE", what="退款", key=request_no or refund.refund_no)
        self._insert(refund)
        stored = StoredRefund(copy.deepcopy(refund), terminal_id, request_no, request_hash)
        self._writes.put(self._db.refunds, refund.refund_no, stored)

    async def get(self, *, refund_no: str) -> Refund | None:
        stored = self._db.refunds.get(refund_no)
        return copy.deepcopy(stored.refund) if stored else None

    async def by_request(self, *, terminal_id: int, request_no: str) -> tuple[Refund, str] | None:
        for stored in self._db.refunds.values():
            if stored.terminal_id == terminal_id and stored.request_no == request_no:
                return copy.deepcopy(stored.refund), stored.request_hash or ""
        return None

    async def for_order(self, *, order_id: int) -> list[Refund]:
        found = [s.refund for s in self._db.refunds.values() if s.refund.order_id == order_id]
        return copy.deepcopy(sorted(found, key=lambda r: r.seq))

    async def of_operator_between(self, *, merchant_id: int, operator_id: int, start: datetime,
                                  end: datetime) -> list[Refund]:
        operators = {o.id: o.operator_id for o in self._db.orders.values()}
        found = [r for r in (s.refund for s in self._db.refunds.values()) if r.merchant_id == merchant_id
                 and start <= r.created_at < end
                 and (r.requested_by == operator_id or (r.automatic and operators.get(r.order_id) == operator_id))]
        return copy.deepcopy(sorted(found, key=lambda r: (r.created_at, r.id)))

    async def save(self, refund: Refund) -> None:
        stored = self._db.refunds.get(refund.refund_no)
        saved = self._check_and_bump(refund, stored.refund if stored else None)
        self._writes.put(self._db.refunds, refund.refund_no, replace(stored, refund=saved))


class FakeJobs:
    """The outbox with the SQL repository's rules: one job per (kind, ref), attempts counted by claims."""

    def __init__(self, db: FakeDatabase, writes: _Writes) -> None:
        self._db, self._writes = db, writes

    async def enqueue(self, *, merchant_id: int, kind: JobType, ref: str, run_at: datetime) -> None:
        existing = self._db.jobs.get((kind.value, ref))
        if existing is None:
            job = StoredJob(self._db.next_id(), merchant_id, kind.value, ref, JobState.PENDING, 0, kind.max_attempts,
                            run_at)
        elif existing.state is JobState.PENDING:
            job = replace(existing, run_at=run_at)
        elif existing.state in (JobState.DONE, JobState.PARKED):
            job = replace(existing, state=JobState.PENDING, attempts=0, run_at=run_at, lease_until=None)
        else:
            return  # a running job keeps running
        self._writes.put(self._db.jobs, (kind.value, ref), job)

    async def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Job]:
        due = sorted(
            (j for j in self._db.jobs.values()
             if (j.state is JobState.PENDING and j.run_at <= now)
             or (j.state is JobState.RUNNING and j.lease_until is not None and j.lease_until < now)),
            key=lambda j: (j.run_at, j.id),
        )[:limit]
        claimed = []
        for stored in due:
            running = replace(stored, state=JobState.RUNNING, attempts=stored.attempts + 1, lease_until=lease_until)
            self._writes.put(self._db.jobs, (stored.kind, stored.ref), running)
            claimed.append(Job(stored.id, stored.merchant_id, stored.kind, stored.ref, running.attempts,
                               stored.max_attempts, stored.run_at))
        return claimed

    async def drop_pending(self, *, kind: JobType, ref: str, now: datetime) -> None:
        stored = self._db.jobs.get((kind.value, ref))
        if stored is not None and stored.state is JobState.PENDING:
            self._writes.put(self._db.jobs, (kind.value, ref), replace(stored, state=JobState.DONE))

    async def hand_over(self, *, merchant_id: int, ref: str, dropping: JobType, kind: JobType, run_at: datetime) -> None:
        await self.drop_pending(kind=dropping, ref=ref, now=run_at)
        await self.enqueue(merchant_id=merchant_id, kind=kind, ref=ref, run_at=run_at)

    async def finish(self, *, job: Job, outcome: JobOutcome, now: datetime) -> bool:
        stored = self._db.jobs.get((job.kind, job.ref))
        if stored is None or stored.state is not JobState.RUNNING or stored.attempts != job.attempts:
            return False
        match outcome:
            case Done():
                done = replace(stored, state=JobState.DONE, last_error=None, lease_until=None)
            case RunAgain(at=at):
                done = replace(stored, state=JobState.PENDING, run_at=at, attempts=job.attempts - 1, lease_until=None)
            case Retry(error=error) if job.attempts >= job.max_attempts:
                done = replace(stored, state=JobState.PARKED, last_error=error, lease_until=None)
            case Retry(error=error):
                done = replace(stored, state=JobState.PENDING, last_error=error, lease_until=None,
                               run_at=now + backoff(attempt=job.attempts))
        self._writes.put(self._db.jobs, (job.kind, job.ref), done)
        return True

    async def queue_stats(self, *, now: datetime) -> tuple[int, float]:
        open_jobs = [j for j in self._db.jobs.values() if j.state in (JobState.PENDING, JobState.RUNNING)]
        oldest = min((j.run_at for j in open_jobs), default=None)
        return len(open_jobs), max((now - oldest).total_seconds(), 0.0) if oldest else 0.0

    async def parked(self, *, limit: int) -> list[ParkedJob]:
        return [ParkedJob(j.id, j.merchant_id, j.kind, j.ref, j.state, j.attempts, j.max_attempts, j.run_at, j.last_error)
                for j in self._db.jobs.values() if j.state is JobState.PARKED][:limit]


class FakeLedger:
    """The ledger port over dicts: accounts, entries unique per (merchant, kind, ref), and the legs that
    ledger_batch.Postings builds, as the SQL ledger writes them."""

    def __init__(self, db: FakeDatabase, writes: _Writes) -> None:
        self._db, self._writes = db, writes

    async def open_account(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> None:
        if (merchant_id, spec.code) not in self._db.accounts:
            self._writes.put(self._db.accounts, (merchant_id, spec.code),
                             StoredAccount(spec, id=self._db.next_id(), merchant_id=merchant_id, created_at=at))

    async def account_id(self, *, merchant_id: int, spec: AccountSpec, at: datetime) -> int:
        await self.open_account(merchant_id=merchant_id, spec=spec, at=at)
        return self._db.accounts[merchant_id, spec.code].id

    async def book(self, *, entry: JournalEntry, at: datetime) -> bool:
        if (entry.merchant_id, entry.kind, entry.ref) in self._db.entries:
            return False
        await self.post(entry=entry, at=at)
        return True

    async def post(self, *, entry: JournalEntry, at: datetime) -> dict[str, int]:
        postings = Postings(await self.lock_accounts(
            merchant_id=entry.merchant_id, specs={leg.account for leg in entry.legs}, at=at))
        balances = postings.apply(entry)
        await self.write_postings(postings=postings, at=at)
        return balances

    async def lock_accounts(self, *, merchant_id: int, specs: set[AccountSpec], at: datetime) -> dict[str, AccountState]:
        for spec in specs:
            await self.open_account(merchant_id=merchant_id, spec=spec, at=at)
        stored = [self._db.accounts[merchant_id, spec.code] for spec in specs]
        return {a.spec.code: AccountState(id=a.id, balance=a.balance, version=a.version, normal_side=a.spec.normal_side,
                                          non_negative=a.spec.non_negative) for a in stored}

    async def write_postings(self, *, postings: Postings, at: datetime) -> None:
        by_id = {a.id: key for key, a in self._db.accounts.items()}
        for state in postings.changed():
            stored = self._db.accounts[by_id[state.id]]
            assert stored.version == state.read_version, "ledger accounts changed under their lock"
            self._writes.put(self._db.accounts, by_id[state.id], replace(stored, balance=state.balance, version=state.version))
        for entry_id, entry in zip(postings.entry_ids, postings.entries, strict=True):
            key = (entry.merchant_id, entry.kind, entry.ref)
            assert key not in self._db.entries, f"journal entry {key} booked twice"
            self._writes.put(self._db.entries, key, entry)
            legs = tuple(leg for leg in postings.legs if leg.entry_id == entry_id)
            self._writes.put(self._db.journal, entry_id, (entry, at, legs))

    async def balance(self, *, merchant_id: int, account: str) -> LedgerAccount:
        stored = self._db.accounts.get((merchant_id, account))
        if stored is None:
            raise NotFound("UNKNOWN_LEDGER_ACCOUNT", code=account)
        assert stored.created_at is not None  # set when opened
        return LedgerAccount(stored.id, merchant_id, account, stored.spec.name, stored.spec.normal_side.value,
                             stored.spec.non_negative, stored.balance, stored.version, stored.created_at)

    async def accounts(self, *, merchant_id: int) -> list[LedgerAccount]:
        codes = sorted(code for m, code in self._db.accounts if m == merchant_id)
        return [await self.balance(merchant_id=merchant_id, account=code) for code in codes]

    async def entries(self, *, merchant_id: int, account: str, limit: int) -> list[AccountLine]:
        stored = self._db.accounts.get((merchant_id, account))
        found = [(leg, entry, at) for entry, at, legs in self._db.journal.values()
                 for leg in legs if stored is not None and leg.account_id == stored.id]
        found.sort(key=lambda row: row[0].account_version, reverse=True)
        return [AccountLine(leg.entry_id, entry.kind, entry.ref, entry.memo, at, leg.amount, leg.balance_before,
                            leg.balance_after, leg.account_version) for leg, entry, at in found[:limit]]


class FakeTenancy:
    def __init__(self, db: FakeDatabase, writes: _Writes) -> None:
        self._db, self._writes = db, writes

    async def add_merchant(self, *, code: str, name: str, channel: str, biller: str, at: datetime) -> Merchant:
        if any(m.code == code for m in self._db.merchants.values()):
            raise Conflict("DUPLICATE", what="商户", key=code)
        merchant = Merchant(self._db.next_id(), code, name, channel, biller)
        self._writes.put(self._db.merchants, merchant.id, merchant)
        return merchant

    async def merchant(self, *, merchant_id: int | None = None, code: str | None = None) -> Merchant | None:
        return next((m for m in self._db.merchants.values()
                     if (m.id == merchant_id if merchant_id is not None else m.code == code)), None)

    async def set_service_phone(self, *, merchant_id: int, phone: str, at: datetime) -> None:
        merchant = self._db.merchants[merchant_id]
        self._writes.put(self._db.merchants, merchant_id, dataclasses.replace(merchant, service_phone=phone))

    async def names(self, *, merchant_id: int) -> StaffNames:
        return StaffNames(
            operators={o.id: o.display_name for o, _ in self._db.operators.values() if o.merchant_id == merchant_id},
            terminals={t.id: f"{t.name} {t.code}" for t, _ in self._db.terminals.values() if t.merchant_id == merchant_id})

    async def add_terminal(self, *, merchant_id: int, code: str, name: str, key_sealed: str, at: datetime) -> Terminal:
        if code in self._db.terminals:
            raise Conflict("DUPLICATE", what="终端", key=code)
        terminal = Terminal(self._db.next_id(), merchant_id, code, name)
        self._writes.put(self._db.terminals, code, (terminal, key_sealed))
        return terminal

    async def terminal(self, *, code: str) -> tuple[Terminal, str] | None:
        return self._db.terminals.get(code)

    async def add_operator(self, *, merchant_id: int, username: str, display_name: str, role: str,
                           password_hash: str, at: datetime) -> Operator:
        if await self.operator(merchant_id=merchant_id, username=username) is not None:
            raise Conflict("DUPLICATE", what="操作员", key=username)
        operator = Operator(self._db.next_id(), merchant_id, username, display_name, Role(role))
        self._writes.put(self._db.operators, operator.id, (operator, password_hash))
        return operator

    async def operator(self, *, merchant_id: int, username: str | None = None,
                       operator_id: int | None = None) -> tuple[Operator, str] | None:
        return next((found for found in self._db.operators.values() if found[0].merchant_id == merchant_id
                     and (found[0].id == operator_id if operator_id is not None else found[0].username == username)),
                    None)

    async def set_password_hash(self, *, operator_id: int, password_hash: str, at: datetime) -> None:
        operator, _ = self._db.operators[operator_id]
        self._writes.put(self._db.operators, operator_id, (operator, password_hash))

    async def add_session(self, *, merchant_id: int, operator_id: int, terminal_id: int, token_hash: str,
                          at: datetime, expires_at: datetime) -> None:
        self._writes.put(self._db.sessions, token_hash, {
            "id": self._db.next_id(), "merchant_id": merchant_id, "operator_id": operator_id,
            "terminal_id": terminal_id, "token_hash": token_hash, "created_at": at, "expires_at": expires_at,
            "revoked_at": None,
        })

    async def session(self, *, token_hash: str) -> OperatorSession | None:
        found = self._db.sessions.get(token_hash)
        return OperatorSession(**found) if found else None

    async def revoke_session(self, *, token_hash: str, at: datetime) -> None:
        if token_hash in self._db.sessions:
            self._writes.put(self._db.sessions, token_hash, self._db.sessions[token_hash] | {"revoked_at": at})

    async def use_nonce(self, *, merchant_id: int, terminal_id: int, nonce: str, at: datetime) -> bool:
        if (terminal_id, nonce) in self._db.nonces:
            return False
        self._writes.put(self._db.nonces, (terminal_id, nonce), at)
        return True

    async def use_nonces(self, *, uses: Sequence[NonceUse]) -> list[bool]:
        return [await self.use_nonce(merchant_id=use.merchant_id, terminal_id=use.terminal_id, nonce=use.nonce,
                                     at=use.at) for use in uses]

    async def forget_nonces(self, *, before: datetime) -> int:
        old = [key for key, at in self._db.nonces.items() if at < before]
        for key in old:
            self._writes.delete(self._db.nonces, key)
        return len(old)

    def _change_counter(self, merchant_id: int, subject: str, **values: Any) -> dict[str, Any]:
        key = (merchant_id, subject)
        row = self._db.sign_in_counters[key] | values
        self._writes.put(self._db.sign_in_counters, key, row)
        return row

    async def count_sign_in(self, *, merchant_id: int, subject: str, at: datetime, rules: SignInRules) -> Tally:
        row = self._db.sign_in_counters.get((merchant_id, subject))
        if row is None:
            self._writes.put(self._db.sign_in_counters, (merchant_id, subject), row := dict(
                failures=1, lockouts=0, window_started_at=at, locked_until=None, updated_at=at))
        elif row["locked_until"] and row["locked_until"] > at:
            row = self._change_counter(merchant_id, subject, updated_at=at)  # counted nothing, but touched (as SQL)
        else:
            stale = row["window_started_at"] < rules.window_start(at)
            long_ago = row["locked_until"] is not None and row["locked_until"] < rules.backoff_since(at)
            row = self._change_counter(
                merchant_id, subject, failures=1 if stale else row["failures"] + 1, updated_at=at,
                window_started_at=at if stale else row["window_started_at"], lockouts=0 if long_ago else row["lockouts"])
        return Tally(failures=row["failures"], locked_until=row["locked_until"])

    async def uncount_sign_in(self, *, merchant_id: int, subject: str) -> None:
        row = self._db.sign_in_counters.get((merchant_id, subject))
        if row and row["failures"] > 0:
            self._change_counter(merchant_id, subject, failures=row["failures"] - 1)

    async def clear_sign_in(self, *, merchant_id: int, subject: str) -> None:
        if (merchant_id, subject) in self._db.sign_in_counters:
            self._change_counter(merchant_id, subject, failures=0, lockouts=0)

    async def lock_sign_in(self, *, merchant_id: int, subject: str, at: datetime,
                           rules: SignInRules) -> tuple[datetime, bool]:
        row = self._db.sign_in_counters[(merchant_id, subject)]
        if row["locked_until"] and row["locked_until"] > at:
            return row["locked_until"], False
        lockouts = row["lockouts"] + 1
        until = at + rules.lockout(lockouts=lockouts)
        self._change_counter(merchant_id, subject, lockouts=lockouts, failures=0, window_started_at=at,
                             locked_until=until, updated_at=at)
        return until, True

    async def record_sign_in(self, *, merchant_id: int, terminal_id: int, username: str, purpose: Purpose,
                             event: Event, at: datetime, subject: str | None = None,
                             locked_until: datetime | None = None) -> None:
        self._writes.put(self._db.sign_in_audit, self._db.next_id(), dict(
            merchant_id=merchant_id, terminal_id=terminal_id, username=username, purpose=purpose, event=event,
            subject=subject, locked_until=locked_until, at=at))

    async def forget_sign_in_counters(self, *, before: datetime) -> int:
        old = [key for key, row in self._db.sign_in_counters.items()
               if row["updated_at"] < before and not (row["locked_until"] and row["locked_until"] >= before)]
        for key in old:
            self._writes.delete(self._db.sign_in_counters, key)
        return len(old)

    async def forget_sign_in_audit(self, *, before: datetime) -> int:
        old = [key for key, row in self._db.sign_in_audit.items() if row["at"] < before]
        for key in old:
            self._writes.delete(self._db.sign_in_audit, key)
        return len(old)


class FakeUnitOfWork:
    """One transaction: writes go straight to the tables and are undone on exit unless committed."""

    def __init__(self, db: FakeDatabase, *, read_only: bool) -> None:
        self._db, self._read_only = db, read_only
        self._writes: _Writes | None = None

    async def __aenter__(self) -> FakeUnitOfWork:
        self._writes = _Writes(read_only=self._read_only)
        self.orders = FakeOrders(self._db, self._writes)
        self.refunds = FakeRefunds(self._db, self._writes)
        self.jobs = FakeJobs(self._db, self._writes)
        self.ledger = FakeLedger(self._db, self._writes)
        self.tenancy = FakeTenancy(self._db, self._writes)
        self.cards = FakeCards(self._db, self._writes)
        self.card_money = FakeCardMoney(self._db, self._writes)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._writes is not None
        self._writes.rollback()

    async def commit(self) -> None:
        assert self._writes is not None
        self._writes.undo.clear()
        self._db.commits += 1


class FakeUnitOfWorkFactory:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def __call__(self, *, read_only: bool = False, autocommit: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, read_only=read_only)


# --- far systems ---------------------------------------------------------------------------------


class FixedClock:
    """Stands still until a test (or a fake far system's latency) moves it."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


class _Scripted:
    """Answers queued per operation; an unscripted call is a test error, an Exception answer is raised."""

    def __init__(self, clock: FixedClock, latency_seconds: float) -> None:
        self.clock, self.latency_seconds = clock, latency_seconds
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._answers: dict[str, list[tuple[Any, dict[str, Any]]]] = defaultdict(list)

    def answer(self, operation: str, status: Any, **overrides: Any) -> None:
        """Queue the answer to the next call of operation: a status (the result is built) or an exception."""
        self._answers[operation].append((status, overrides))

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def _next(self, operation: str, call: dict[str, Any], *, optional: bool = False) -> tuple[Any, dict[str, Any]]:
        self.calls.append((operation, call))
        self.clock.advance(seconds=self.latency_seconds)
        queue = self._answers[operation]
        if not queue:
            assert optional, f"unscripted call {operation}({call})"
            return None, {}
        status, overrides = queue.pop(0)
        if isinstance(status, BaseException):
            raise status
        return status, overrides


class FakeChannel(_Scripted):
    """A payment channel that remembers each trade's amount, so a PAID answer carries the right total_fee."""

    name = "fakepay"
    supports = frozenset({Capability.QR, Capability.PAYMENT_CODE})

    def __init__(self, clock: FixedClock, latency_seconds: float = 0) -> None:
        super().__init__(clock, latency_seconds)
        self.amounts: dict[str, int] = {}
        self._notifies: dict[bytes, tuple[str, PayResult]] = {}

    def _pay_result(self, operation: str, out_trade_no: str, call: dict[str, Any]) -> PayResult:
        status, overrides = self._next(operation, call)
        paid = status is PayStatus.PAID
        fields: dict[str, Any] = {
            "transaction_id": f"T{out_trade_no}" if paid else None, "trade_type": "pay.fake" if paid else None,
            "total_fee": self.amounts.get(out_trade_no) if paid else None, "paid_at": self.clock.now() if paid else None,
        }
        return PayResult(status, out_trade_no, **(fields | overrides))

    async def micropay(self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, auth_code: str,
                       client_ip: str, device_info: str | None = None, op_user_id: str | None = None) -> PayResult:
        self.amounts[out_trade_no] = total_fee
        return self._pay_result("micropay", out_trade_no, {"out_trade_no": out_trade_no, "auth_code": auth_code})

    async def native(self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, notify_url: str,
                     client_ip: str, time_expire: datetime | None = None) -> NativeQr:
        self.amounts[out_trade_no] = total_fee
        self._next("native", {"out_trade_no": out_trade_no}, optional=True)
        return NativeQr(out_trade_no, f"weixin://fake/{out_trade_no}")

    async def query(self, *, merchant: str, out_trade_no: str) -> PayResult:
        return self._pay_result("query", out_trade_no, {"out_trade_no": out_trade_no})

    async def close(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        status, overrides = self._next("close", {"out_trade_no": out_trade_no})
        return CloseResult(CloseStatus(status), out_trade_no, **overrides)

    async def reverse(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        status, overrides = self._next("reverse", {"out_trade_no": out_trade_no})
        return CloseResult(CloseStatus(status), out_trade_no, **overrides)

    def _refund_result(self, operation: str, out_refund_no: str, call: dict[str, Any]) -> RefundResult:
        status, overrides = self._next(operation, call)
        ok = status is RefundStatus.SUCCESS
        return RefundResult(status, out_refund_no, **({"refund_id": f"RF{out_refund_no}" if ok else None} | overrides))

    async def refund(self, *, merchant: str, out_trade_no: str, out_refund_no: str, total_fee: int, refund_fee: int,
                     op_user_id: str) -> RefundResult:
        call = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "refund_fee": refund_fee}
        return self._refund_result("refund", out_refund_no, call)

    async def refund_query(self, *, merchant: str, out_refund_no: str) -> RefundResult:
        return self._refund_result("refund_query", out_refund_no, {"out_refund_no": out_refund_no})

    def signed_notify(self, result: PayResult, *, merchant: str = "shop-1") -> bytes:
        """The body of a notify this channel would sign for result with merchant's key."""
        body = f"notify-{len(self._notifies)}".encode()
        self._notifies[body] = (merchant, result)
        return body

    def notify_trade_no(self, *, body: bytes) -> str:
        if body not in self._notifies:
            raise SignatureInvalid("unknown body")
        return self._notifies[body][1].out_trade_no

    def parse_notify(self, *, body: bytes, merchant: str) -> PayResult:
        if body not in self._notifies or self._notifies[body][0] != merchant:
            raise SignatureInvalid("not signed by this merchant")
        return self._notifies[body][1]

    async def bill(self, *, merchant: str, bill_date: Any, bill_type: str = "ALL") -> str:
        return ""


class FakeBiller(_Scripted):
    """A billing system with a table of arrears and scripted answers about postings."""

    name = "fakebill"

    def __init__(self, clock: FixedClock, latency_seconds: float = 0) -> None:
        super().__init__(clock, latency_seconds)
        self.arrears: dict[str, Arrears] = {}
        self.unavailable = False

    async def query_arrears(self, *, account_no: str, fee_type: FeeType) -> Arrears:
        if self.unavailable:
            raise BillerUnavailable("down")
        if account_no not in self.arrears:
            raise BillerAccountUnknown(account_no)
        return self.arrears[account_no]

    def _posting(self, operation: str, posting_no: str, call: dict[str, Any]) -> PostingResult:
        status, overrides = self._next(operation, call)
        posted = status is PostingStatus.POSTED
        fields = {"biller_ref": f"B{posting_no}" if posted else None, "posted_at": self.clock.now() if posted else None}
        return PostingResult(status, posting_no, **(fields | overrides))

    async def post_payment(self, *, request: PostingRequest) -> PostingResult:
        return self._posting("post_payment", request.posting_no, {"request": request})

    async def query_posting(self, *, posting_no: str) -> PostingResult:
        return self._posting("query_posting", posting_no, {"posting_no": posting_no})

    async def reverse_posting(self, *, posting_no: str, reversal_no: str, amount: int, reason: str) -> PostingResult:
        call = {"posting_no": posting_no, "reversal_no": reversal_no, "amount": amount}
        return self._posting("reverse_posting", posting_no, call)


@dataclass
class FakeRegistry:
    channel_: FakeChannel
    biller_: FakeBiller

    def channel(self, name: str) -> FakeChannel:
        assert name == self.channel_.name, name
        return self.channel_

    def biller(self, name: str) -> FakeBiller:
        assert name == self.biller_.name, name
        return self.biller_

    def has_biller(self, name: str) -> bool:
        return name == self.biller_.name


class FakeSignals:
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, order_no: str, *, moving_on_at: int | None = None) -> None:
        self.published.append(order_no)

    @contextmanager
    def watch(self, order_no: str) -> Iterator[FakeWatch]:
        yield FakeWatch()


class FakeWatch:
    moving_on_at: int | None = None

    async def next_signal(self, *, timeout: float) -> bool:
        return False


class PlainSealer:
    def seal(self, plain: str) -> str:
        return f"sealed:{plain}"

    def unseal(self, sealed: str) -> str:
        assert sealed.startswith("sealed:")
        return sealed.removeprefix("sealed:")


class PlainHasher:
    """hash(p) = 'plain$' + p; hashes without the current prefix need a rehash."""

    def hash(self, password: str) -> str:
        return f"plain${password}"

    def verify(self, password_hash: str | None, password: str) -> bool:
        return password_hash is not None and password_hash == self.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith("plain$")
