"""Card pools: batches of card numbers an issuer prints (physical) or hands out to members (virtual)."""
from __future__ import annotations

import secrets
from typing import Any

from payhub.cards.domain.rows import PoolBatch
from payhub.cards.domain.cards import CardKind, luhn_digit
from payhub.kernel.domain.errors import InvalidInput, NotFound
from payhub.cards.services.context import CardHub


async def issue(*, hub: CardHub, merchant_id: int, prefix: str, count: int, kind: CardKind, batch: str | None = None) -> dict[str, Any]:
    """Add count fresh numbers (prefix + random digits + Luhn digit, 16 long) to the issuer's pool."""
    if not (prefix.isascii() and prefix.isdigit() and 2 <= len(prefix) <= 8) or not 1 <= count <= 100_000:
        raise InvalidInput("VALIDATION", detail="prefix: 2 to 8 digits; count: 1 to 100000")
    now = hub.clock.now()
    batch = batch or f"{now:%Y%m%d%H%M%S}"
    width = 15 - len(prefix)
    numbers: set[str] = set()
    while len(numbers) < count:
        body = prefix + f"{secrets.randbelow(10 ** width):0{width}d}"
        numbers.add(body + luhn_digit(body))
    async with hub.uow() as uow:
        added = await uow.cards.add_to_pool(merchant_id=merchant_id, card_nos=sorted(numbers), kind=kind, batch=batch, at=now)
        await uow.commit()
    return {"batch": batch, "kind": kind.value, "requested": count, "added": added}


async def stats(*, hub: CardHub, merchant_id: int) -> list[PoolBatch]:
    """Each batch with how many numbers it has and how many are taken."""
    async with hub.uow(read_only=True) as uow:
        return await uow.cards.pool_stats(merchant_id=merchant_id)


async def issue_for(*, hub: CardHub, merchant_code: str, prefix: str, count: int, kind: CardKind) -> dict[str, Any]:
    """issue() for a merchant given by its code (the CLI)."""
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(code=merchant_code)
    if merchant is None:
        raise NotFound("UNKNOWN_MERCHANT", code=merchant_code)
    return await issue(hub=hub, merchant_id=merchant.id, prefix=prefix, count=count, kind=kind)
