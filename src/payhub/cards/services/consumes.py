"""消费 booked in batches: many consumes in one transaction with set-based statements, each still idempotent by
(merchant, out_trade_no) and refused on its own (card state, pay password, limits, balance) without failing the
others, because every check runs against rows locked once for the whole batch before anything is written.

Locks, in the same order in every transaction: card rows (id order), daily usage rows (subject order), ledger
accounts (id order). ConsumeBatcher groups the consumes that arrive while a batch is being booked (group commit)."""
from __future__ import annotations

import asyncio
import contextvars
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial

from payhub.cards.domain.limits import Limits, check_per_txn
from payhub.cards.domain.money import TxChannel, TxKind, business_date, consume_entry
from payhub.cards.domain.risk import SuspiciousCase
from payhub.cards.domain.rows import CardEvent, CardTx, LockedCard, PayingMerchant
from payhub.cards.domain.cards import card_account, require_transactable
from payhub.kernel.domain.errors import Conflict, Contention, Forbidden, InvalidInput, NotFound, PayhubError
from payhub.kernel.domain.ledger_batch import Postings
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services import events as card_events
from payhub.cards.services import limits as card_limits
from payhub.cards.services import suspicious as card_suspicious
from payhub.cards.services.tx import TxResult, event_data, new_tx_no, result_of
from payhub.cards.services.context import CardHub
from payhub.kernel.services.retries import retrying

Outcome = TxResult | PayhubError


@dataclass(frozen=True)
class ConsumeRequest:
    """One validated consume; password_version is set when its pay password was checked."""

    merchant_id: int
    merchant_code: str
    card_no: str
    out_no: str
    amount: int
    channel: TxChannel
    request_hash: str
    password_version: int | None = None
    terminal_code: str | None = None


async def book(*, hub: CardHub, requests: Sequence[ConsumeRequest]) -> list[Outcome]:
    """Book consumes of one card merchant; each gets its result, a replay, or its own refusal."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    pending = list(range(len(requests)))
    while pending:
        # a number twice in one batch: the repeat waits for the next round, where it replays the first
        batch: list[int] = []
        later: list[int] = []
        seen: set[str] = set()
        for i in pending:
            (later if requests[i].out_no in seen else batch).append(i)
            seen.add(requests[i].out_no)
        results = await retrying(partial(_attempt, hub, [requests[i] for i in batch]))
        for i, outcome in zip(batch, results, strict=True):
            outcomes[i] = outcome
        pending = later
    return [outcome for outcome in outcomes if outcome is not None]  # every one is set by now


def _replay(first: CardTx, request: ConsumeRequest) -> Outcome:
    if first.request_hash != request.request_hash:
        return Conflict("IDEMPOTENCY_CONFLICT", key=request.out_no)
    return result_of(first, replayed=True)


async def known(*, hub: CardHub, request: ConsumeRequest) -> TxResult | None:
    """The answer to a retry of a booked consume (raises the conflict if its content differs); None if new."""
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.cards.card_merchant(merchant_id=request.merchant_id, code=request.merchant_code)
        first = merchant and await uow.card_money.tx_by_out_no(
            merchant_id=request.merchant_id, card_merchant_id=merchant.id, kind=TxKind.CONSUME.value,
            out_no=request.out_no)
    if not first:
        return None
    outcome = _replay(first, request)
    if isinstance(outcome, PayhubError):
        raise outcome
    return outcome


async def _attempt(hub: CardHub, requests: list[ConsumeRequest]) -> list[Outcome]:
    merchant_id, code = requests[0].merchant_id, requests[0].merchant_code
    async with hub.uow() as uow:
        merchant = await uow.cards.card_merchant(merchant_id=merchant_id, code=code)
        if merchant is None or not merchant.active:
            return [NotFound("CARD_MERCHANT_NOT_FOUND", merchant_code=code) for _ in requests]
        # the numbers are looked up under the card locks: a retry racing its first request waits for it here
        locked = await uow.cards.lock_cards(merchant_id=merchant_id, card_nos=sorted({r.card_no for r in requests}))
        known = await uow.card_money.txs_by_out_nos(merchant_id=merchant_id, card_merchant_id=merchant.id,
                                                    kind=TxKind.CONSUME.value, out_nos=[r.out_no for r in requests])
        fresh = [r for r in requests if r.out_no not in known]
        booked = iter(await _book_fresh(uow, hub, merchant, locked, fresh) if fresh else [])
        outcomes = [_replay(known[r.out_no], r) if r.out_no in known else next(booked) for r in requests]
        await uow.commit()
        return outcomes


@dataclass
class _Batch:
    """What the accepted consumes of a batch will write."""

    txs: list[CardTx] = field(default_factory=list)
    events: list[CardEvent] = field(default_factory=list)
    cases: list[SuspiciousCase] = field(default_factory=list)


async def _book_fresh(uow: CardUnitOfWork, hub: CardHub, merchant: PayingMerchant, locked: dict[str, LockedCard],
                      requests: list[ConsumeRequest]) -> list[Outcome]:
    merchant_id, code, cards = requests[0].merchant_id, requests[0].merchant_code, hub.cards
    now = hub.clock.now()
    day = business_date(now, cards.business_tz)
    card_nos = sorted({r.card_no for r in requests})
    limits = await card_limits.applied(uow=uow, merchant_id=merchant_id, merchant_code=code, card_nos=card_nos)
    daily = sorted({s for applied in limits.values() for s, limit in applied.items() if limit.per_day is not None})
    used = await uow.card_money.lock_usage(merchant_id=merchant_id, subjects=daily, day=day) if daily else {}
    used_before = dict(used)
    shard = random.randrange(cards.shards)  # one per batch: concurrent batches mostly credit different shards
    rows = [_tx_row(r, merchant, now, day, shard) for r in requests]
    entries = [consume_entry(merchant_id=merchant_id, tx_no=row.tx_no, card_no=r.card_no, merchant_code=code,
                             amount=r.amount, shards=cards.shards, shard=shard) for r, row in zip(requests, rows, strict=True)]
    postings = Postings(await uow.ledger.lock_accounts(merchant_id=merchant_id, at=now, specs={
        leg.account for r, entry in zip(requests, entries, strict=True) if r.card_no in locked for leg in entry.legs}))
    recent: dict[str, int] = defaultdict(int)
    if cards.risk.burst_count:
        recent.update(await uow.card_money.count_recent_by_card(
            merchant_id=merchant_id, card_nos=card_nos, kind=TxKind.CONSUME.value,
            since=now - timedelta(minutes=cards.risk.burst_minutes)))
    batch, outcomes = _Batch(), list[Outcome]()
    for request, row, entry in zip(requests, rows, entries, strict=True):
        applied = limits[request.card_no]
        try:
            _check(request, merchant, locked.get(request.card_no), applied, used)
            booked = replace(row, balance_after=postings.apply(entry)[card_account(request.card_no).code])
        except PayhubError as refusal:
            outcomes.append(refusal)
            continue
        for subject in used.keys() & applied.keys():
            used[subject] += request.amount
        recent[request.card_no] += 1
        _accept(hub, batch, booked, applied, recent[request.card_no])
        outcomes.append(result_of(booked, replayed=False))
    if batch.txs:
        await uow.ledger.write_postings(postings=postings, at=now)
        await uow.card_money.add_usage(merchant_id=merchant_id, day=day,
                                       amounts={s: used[s] - was for s, was in used_before.items()})
        if len(await uow.card_money.claim_txs(rows=batch.txs)) != len(batch.txs):
            raise Contention()  # another transaction took one of the numbers: the next attempt replays it
        if batch.cases:
            await uow.card_money.add_new_cases(cases=batch.cases)
        await card_events.emit_many(uow=uow, rows=batch.events, push=bool(merchant.push_url))
    return outcomes


def _check(request: ConsumeRequest, merchant: PayingMerchant, card: LockedCard | None, applied: dict[str, Limits],
           used: dict[str, int]) -> None:
    """Refuse a consume as booking it alone would: card, state, pay password, per-transaction and daily limits."""
    if card is None:
        raise NotFound("CARD_NOT_FOUND", card_no=request.card_no)
    require_transactable(card_no=request.card_no, state=card.state)
    if request.password_version is None:
        _check_pinless(request, merchant.pinless_offline_max)
    elif card.password_version != request.password_version:
        raise Forbidden("PAY_PASSWORD_CHANGED")
    for subject, limit in applied.items():
        check_per_txn(amount=request.amount, limits=limit, who=subject)
    for subject, limit in applied.items():
        if limit.per_day is not None and used[subject] + request.amount > limit.per_day:
            raise Conflict("LIMIT_PER_DAY", who=subject, limit=limit.per_day)


def _check_pinless(request: ConsumeRequest, cap: int | None) -> None:
    """Without the pay password only offline, where the card merchant allows it, up to its cap."""
    if request.channel is not TxChannel.OFFLINE or cap is None:
        raise InvalidInput("PAY_PASSWORD_REQUIRED")
    if request.amount > cap:
        raise InvalidInput("PINLESS_OVER_CAP", max_fen=cap)


def _tx_row(request: ConsumeRequest, merchant: PayingMerchant, now: datetime, day: date, shard: int) -> CardTx:
    return CardTx(
        merchant_id=request.merchant_id, tx_no=new_tx_no(now), kind=TxKind.CONSUME.value,
        channel=request.channel.value, funding=None, card_merchant_id=merchant.id,
        card_merchant_code=request.merchant_code, terminal_code=request.terminal_code, card_no=request.card_no,
        counter_card_no=None, out_no=request.out_no, request_hash=request.request_hash, amount=request.amount,
        refunded=0, balance_after=0, original_tx_no=None, shard=shard, business_date=day, created_at=now)


def _accept(hub: CardHub, batch: _Batch, row: CardTx, applied: dict[str, Limits], recent_consumes: int) -> None:
    """Queue an accepted consume's row, its event, and the suspicious cases it raises with theirs."""
    merchant_id, at = row.merchant_id, row.created_at
    batch.txs.append(row)
    batch.events.append(card_events.event_row(merchant_id=merchant_id, type=f"card.{TxKind.CONSUME}", tx_no=row.tx_no,
                                              data=event_data(row), at=at))
    for rule, detail in card_suspicious.rule_hits(hub=hub, tx=row, limits=applied, recent_consumes=recent_consumes,
                                                  recent_recharges=0):
        case = SuspiciousCase(merchant_id=merchant_id, case_no="SC" + uuid.uuid4().hex[:24], rule=rule,
                              tx_no=row.tx_no, card_no=row.card_no, detail=detail, created_at=at)
        batch.cases.append(case)
        batch.events.append(card_events.event_row(
            merchant_id=merchant_id, type="card.suspicious", tx_no=row.tx_no, at=at,
            data={"case_no": case.case_no, "rule": rule.value, "card_no": case.card_no, "detail": detail}))


class ConsumeBatcher:
    """Group commit: consumes that arrive while batches are being booked go together into the next one; up to
    `in_flight` batches of a card merchant are booked at once (each on its own connection and payable shard)."""

    def __init__(self, *, max_batch: int = 64, in_flight: int = 3) -> None:
        self._max, self._in_flight = max_batch, in_flight
        self._waiting: dict[tuple[int, str], list[tuple[ConsumeRequest, asyncio.Future[Outcome]]]] = {}
        self._drains: dict[tuple[int, str], set[asyncio.Task[None]]] = {}

    async def submit(self, *, hub: CardHub, request: ConsumeRequest) -> TxResult:
        """Book a consume together with the others of its card merchant; raises its own refusal."""
        key = (request.merchant_id, request.merchant_code)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((request, future))
        drains = self._drains.setdefault(key, set())
        if sum(not task.done() for task in drains) < self._in_flight:
            # a context of its own: the batch is nobody's request, so its commits store no request's nonce
            task = asyncio.create_task(self._drain(hub, key), context=contextvars.Context())
            drains.add(task)
            task.add_done_callback(drains.discard)
        outcome = await future
        if isinstance(outcome, PayhubError):
            raise outcome
        return outcome

    async def _drain(self, hub: CardHub, key: tuple[int, str]) -> None:
        await asyncio.sleep(0)  # let the requests of this turn of the event loop join the batch
        while queue := self._waiting.pop(key, None):
            taken, rest = queue[:self._max], queue[self._max:]
            if rest:
                self._waiting[key] = rest
            outcomes = await self._book(hub, [request for request, _ in taken])
            for (_, future), outcome in zip(taken, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, PayhubError) or not isinstance(outcome, Exception):
                    future.set_result(outcome)
                else:
                    future.set_exception(outcome)

    async def _book(self, hub: CardHub, requests: list[ConsumeRequest]) -> list[Outcome | Exception]:
        try:
            return list(await book(hub=hub, requests=requests))
        except Exception as error:  # noqa: BLE001 - a failure nobody foresaw: book alone so it fails only its own
            if len(requests) == 1:
                return [error]
            return [outcome for request in requests for outcome in await self._book(hub, [request])]
