"""Card events: one outbox row per transaction (and per suspicious case), written in the business transaction."""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from payhub.cards.domain.jobs import CardJobKind
from payhub.cards.domain.rows import CardEvent

from payhub.cards.ports import CardUnitOfWork


async def emit(*, uow: CardUnitOfWork, merchant_id: int, type: str, tx_no: str | None, data: dict[str, Any],
               push: bool, at: datetime) -> str:
    """Write an event and, when the issuer has a push URL, the job that delivers it; returns the event id."""
    row = event_row(merchant_id=merchant_id, type=type, tx_no=tx_no, data=data, at=at)
    await uow.card_money.add_event(merchant_id=merchant_id, event_id=row.event_id, type=type, tx_no=tx_no,
                                   payload=row.payload, at=at)
    if push:
        await uow.jobs.enqueue(merchant_id=merchant_id, kind=CardJobKind.CARD_PUSH, ref=row.event_id, run_at=at)
    return row.event_id


def event_row(*, merchant_id: int, type: str, tx_no: str | None, data: dict[str, Any], at: datetime) -> CardEvent:
    """A new event's outbox row."""
    event_id = "EV" + uuid.uuid4().hex[:30]
    payload = json.dumps({"event_id": event_id, "type": type, "created_at": at.isoformat(), "data": data},
                         ensure_ascii=False, default=str)
    return CardEvent(merchant_id=merchant_id, event_id=event_id, type=type, tx_no=tx_no, payload=payload, created_at=at)


async def emit_many(*, uow: CardUnitOfWork, rows: list[CardEvent], push: bool) -> None:
    """Write many event rows in one statement and, with a push URL, a delivery job for each."""
    if rows:
        await uow.card_money.add_events(rows=rows)
    for row in rows if push else ():
        await uow.jobs.enqueue(merchant_id=row.merchant_id, kind=CardJobKind.CARD_PUSH, ref=row.event_id,
                               run_at=row.created_at)
