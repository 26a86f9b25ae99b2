"""Consumption limits: configure them, and hold them inside the consume's transaction."""
from __future__ import annotations

import re

from payhub.cards.domain.limits import Limits, usage_key
from payhub.cards.domain.money import business_date
from payhub.cards.domain.rows import LimitSetting
from payhub.cards.domain.cards import check_card_no
from payhub.kernel.domain.errors import InvalidInput
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services.context import CardHub

DEFAULT_CARD = "card:*"


def _subject(subject: str) -> str:
    scope, _, name = subject.partition(":")
    if subject == DEFAULT_CARD or (scope == "card" and check_card_no(name)) or (
            scope == "merchant" and re.fullmatch(r"[A-Za-z0-9_-]{2,32}", name)):
        return subject
    raise InvalidInput("BAD_LIMIT_SUBJECT", subject=subject[:80])


async def set_limit(*, hub: CardHub, merchant_id: int, subject: str, per_txn: int | None, per_day: int | None) -> None:
    """额度配置: 'card:*' (every card), 'card:{no}' (one card, overrides the default) or 'merchant:{code}'."""
    for value in (per_txn, per_day):
        if value is not None and value < 0:
            raise InvalidInput("VALIDATION", detail="limits are fen >= 0")
    now = hub.clock.now()
    async with hub.uow() as uow:
        await uow.cards.set_limit(merchant_id=merchant_id, subject=_subject(subject), limits=Limits(per_txn, per_day),
                                  at=now)
        if per_day is not None:  # what was spent today before the limit counts against it
            await uow.card_money.catch_up_usage(merchant_id=merchant_id, subject=subject,
                                                day=business_date(now, hub.cards.business_tz))
        await uow.commit()


async def list_limits(*, hub: CardHub, merchant_id: int) -> list[LimitSetting]:
    """Every configured limit."""
    async with hub.uow(read_only=True) as uow:
        return await uow.cards.all_limits(merchant_id=merchant_id)


async def applied(*, uow: CardUnitOfWork, merchant_id: int, merchant_code: str,
                  card_nos: list[str]) -> dict[str, dict[str, Limits]]:
    """The limits on consumes from each card at a merchant: the card's own (else every card's) and the merchant's."""
    merchant_subject = usage_key("merchant", merchant_code)
    found = await uow.cards.limits(merchant_id=merchant_id, subjects=[
        DEFAULT_CARD, merchant_subject, *(usage_key("card", no) for no in card_nos)])
    return {no: {usage_key("card", no): found.get(usage_key("card", no)) or found.get(DEFAULT_CARD) or Limits(),
                 merchant_subject: found.get(merchant_subject) or Limits()} for no in card_nos}
