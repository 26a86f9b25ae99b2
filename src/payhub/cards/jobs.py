"""The card system's jobs, for the kernel's outbox (registered in bootstrap)."""
from __future__ import annotations

from payhub.cards.domain.jobs import CardJobKind
from payhub.cards.services.members import move_balance, park_replacement
from payhub.cards.services.online_recharge import park as park_recharge
from payhub.cards.services.online_recharge import poll as poll_recharge
from payhub.cards.services.push import deliver
from payhub.kernel.services.job_handlers import JobHandler


def card_jobs() -> list[JobHandler]:
    """Pushes to issuers, online recharge polls, card replacements."""
    return [
        JobHandler(CardJobKind.CARD_PUSH, deliver),
        JobHandler(CardJobKind.CARD_RECHARGE_POLL, poll_recharge, park=park_recharge),
        JobHandler(CardJobKind.CARD_REPLACEMENT, move_balance, park=park_replacement),
    ]
