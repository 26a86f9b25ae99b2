"""Real-time transaction push: the job that delivers one event, and the admin's replay."""
from __future__ import annotations

from payhub.cards.domain.jobs import CardJobKind
from payhub.cards.domain.rows import CardEvent
from payhub.kernel.domain.errors import InvalidInput, NotFound
from payhub.kernel.domain.jobs import Done, Job, JobOutcome, Retry
from payhub.kernel.ports import PushFailed
from payhub.cards.services.context import CardHub


async def deliver(*, hub: CardHub, job: Job) -> JobOutcome:
    """POST the event to the issuer's URL; a 2xx answer is delivery (the receiver dedupes repeats by event id)."""
    async with hub.uow(read_only=True) as uow:
        event = await uow.card_money.event(event_id=job.ref)
        program = await uow.cards.program(merchant_id=job.merchant_id)
    if event is None:
        return Done()
    if hub.notifier is None or not program or not program.push_url:
        return Retry("no push URL or notifier configured")
    secret = hub.sealer.unseal(program.push_secret_sealed) if program.push_secret_sealed else ""
    try:
        status = await hub.notifier.push(url=program.push_url, secret=secret, event_id=event.event_id,
                                         body=event.payload.encode())
        outcome: JobOutcome = Done() if 200 <= status < 300 else Retry(f"HTTP {status}")
        note = f"HTTP {status}"
    except PushFailed as error:
        outcome, note = Retry(str(error)), str(error)
    async with hub.uow() as uow:
        await uow.card_money.mark_event(event_id=event.event_id, status=note,
                                        delivered_at=hub.clock.now() if isinstance(outcome, Done) else None)
        await uow.commit()
    return outcome


async def replay(*, hub: CardHub, merchant_id: int, event_id: str) -> None:
    """Push an event again (an admin's replay after the receiver lost it, or after the retries ran out)."""
    async with hub.uow() as uow:
        event = await uow.card_money.event(event_id=event_id)
        if event is None or event.merchant_id != merchant_id:
            raise NotFound("EVENT_NOT_FOUND", event_id=event_id)
        program = await uow.cards.program(merchant_id=merchant_id)
        if not program or not program.push_url:
            raise InvalidInput("PUSH_NOT_CONFIGURED")
        await uow.jobs.enqueue(merchant_id=merchant_id, kind=CardJobKind.CARD_PUSH, ref=event_id, run_at=hub.clock.now())
        await uow.commit()


async def list_events(*, hub: CardHub, merchant_id: int, limit: int, undelivered: bool) -> list[CardEvent]:
    """The newest events with their delivery state."""
    async with hub.uow(read_only=True) as uow:
        return await uow.card_money.events(merchant_id=merchant_id, limit=limit, undelivered=undelivered)
