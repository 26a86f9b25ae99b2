"""The card system's jobs in the kernel's outbox."""
from __future__ import annotations

from enum import StrEnum


class CardJobKind(StrEnum):
    CARD_PUSH = "card_push"                    # deliver a card transaction event to the issuer's URL
    CARD_RECHARGE_POLL = "card_recharge_poll"  # ask the channel about an online card recharge
    CARD_REPLACEMENT = "card_replacement"      # cancel a replaced card and move its balance

    @property
    def max_attempts(self) -> int:
        return _MAX_ATTEMPTS[self]


_MAX_ATTEMPTS: dict[CardJobKind, int] = {
    CardJobKind.CARD_PUSH: 32,           # 5 s doubling to an hour, then hourly: about a day
    CardJobKind.CARD_RECHARGE_POLL: 20,
    CardJobKind.CARD_REPLACEMENT: 12,
}
