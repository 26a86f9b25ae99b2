"""Suspicious transactions: rules screened inside each money transaction, a review list, a push per case."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from payhub.cards.domain.limits import Limits
from payhub.cards.domain.money import TxKind
from payhub.cards.domain.risk import Rule, SuspiciousCase, at_night, near_limit
from payhub.cards.domain.rows import CardTx
from payhub.kernel.domain.errors import NotFound
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services import events as card_events
from payhub.cards.services.context import CardHub


async def _hits(*, uow: CardUnitOfWork, hub: CardHub, merchant_id: int, tx: CardTx,
                limits: dict[str, Limits]) -> list[tuple[Rule, str]]:
    rules, at, card_no = hub.cards.risk, tx.created_at, tx.card_no
    consumes = recharges = 0
    if tx.kind == TxKind.CONSUME and rules.burst_count:
        since = at - timedelta(minutes=rules.burst_minutes)
        consumes = await uow.card_money.count_recent(merchant_id=merchant_id, card_no=card_no, kind=TxKind.CONSUME,
                                                     since=since)
    if tx.kind == TxKind.TRANSFER and rules.recharge_transfer_minutes:
        since = at - timedelta(minutes=rules.recharge_transfer_minutes)
        recharges = await uow.card_money.count_recent(merchant_id=merchant_id, card_no=card_no, kind=TxKind.RECHARGE,
                                                      since=since)
    return rule_hits(hub=hub, tx=tx, limits=limits, recent_consumes=consumes, recent_recharges=recharges)


def rule_hits(*, hub: CardHub, tx: CardTx, limits: dict[str, Limits], recent_consumes: int,
              recent_recharges: int) -> list[tuple[Rule, str]]:
    """The rules a transaction hits, given the card's consumes (this one included) and recharges in the rules' windows."""
    rules, at = hub.cards.risk, tx.created_at
    hits: list[tuple[Rule, str]] = []
    if tx.kind == TxKind.CONSUME and rules.burst_count and recent_consumes >= rules.burst_count:
        hits.append((Rule.BURST, f"{recent_consumes} consumes within {rules.burst_minutes} min"))
    if tx.kind == TxKind.TRANSFER and rules.recharge_transfer_minutes and recent_recharges:
        hits.append((Rule.RECHARGE_THEN_TRANSFER, f"transfer out within {rules.recharge_transfer_minutes} min of a recharge"))
    for subject, limit in limits.items():
        if near_limit(amount=tx.amount, limit=limit.per_txn, rules=rules):
            hits.append((Rule.NEAR_LIMIT, f"{tx.amount} fen just under the {subject} limit of {limit.per_txn}"))
    local_hour = at.astimezone(ZoneInfo(hub.cards.business_tz)).hour
    if at_night(local_hour=local_hour, rules=rules):
        hits.append((Rule.NIGHT, f"at {local_hour:02d}h local time"))
    return hits


async def screen(*, uow: CardUnitOfWork, hub: CardHub, merchant_id: int, tx: CardTx, limits: dict[str, Limits],
                 push: bool) -> list[str]:
    """Apply the rules to a transaction being written; each hit becomes an open case and an event."""
    raised = []
    for rule, detail in await _hits(uow=uow, hub=hub, merchant_id=merchant_id, tx=tx, limits=limits):
        case = SuspiciousCase(merchant_id=merchant_id, case_no="SC" + uuid.uuid4().hex[:24], rule=rule, tx_no=tx.tx_no,
                              card_no=tx.card_no, detail=detail, created_at=tx.created_at)
        if await uow.card_money.add_case(case):
            await card_events.emit(uow=uow, merchant_id=merchant_id, type="card.suspicious", tx_no=tx.tx_no, push=push,
                                   at=tx.created_at, data={"case_no": case.case_no, "rule": rule.value,
                                                              "card_no": case.card_no, "detail": detail})
            raised.append(case.case_no)
    return raised


async def list_cases(*, hub: CardHub, merchant_id: int, state: str | None, limit: int) -> list[SuspiciousCase]:
    """The review list (newest first), optionally of one state."""
    async with hub.uow(read_only=True) as uow:
        return await uow.card_money.cases(merchant_id=merchant_id, state=state, limit=limit)


async def review(*, hub: CardHub, merchant_id: int, case_no: str, decision: str, note: str, actor: str) -> SuspiciousCase:
    """Take a case ('take') or decide it ('confirm' / 'dismiss')."""
    async with hub.uow() as uow:
        case = await uow.card_money.case(merchant_id=merchant_id, case_no=case_no)
        if case is None:
            raise NotFound("CASE_NOT_FOUND", case_no=case_no)
        now: datetime = hub.clock.now()
        if decision == "take":
            case.take(at=now, actor=actor)
        else:
            case.decide(confirmed=decision == "confirm", note=note, at=now, actor=actor)
        await uow.card_money.save_case(case)
        await uow.commit()
    return case
