"""Replacing a bound card with a new physical card: open the new one, then cancel the old one and move its balance.

The request opens and binds the new card and freezes the old one in one transaction; a durable job then
cancels the old card and moves its whole balance to the new one in one transaction (the move's journal
entry is keyed by the replacement number, so it books once). A job that runs out of tries parks the
replacement for staff; at no point is the balance on both cards or on neither.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.transitions import StateMachine, Transition


class ReplacementState(StrEnum):
    MOVING = "moving"  # new card bound, old card frozen; the balance move is a pending job
    DONE = "done"      # old card cancelled, its balance on the new card
    MANUAL = "manual"  # the move failed every try: staff finish it (the old card stays frozen)


R = ReplacementState
REPLACEMENT_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    R.MOVING: frozenset({R.DONE, R.MANUAL}),
    R.MANUAL: frozenset({R.DONE}),
    R.DONE: frozenset(),
}


@dataclass(slots=True)
class CardReplacement(StateMachine):
    merchant_id: int
    replacement_no: str
    member_id: int
    old_card_no: str
    new_card_no: str
    created_at: datetime
    state: ReplacementState = ReplacementState.MOVING
    id: int | None = None
    version: int = 0
    moved_amount: int | None = None
    failure: str | None = None
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "换卡"
    allowed = REPLACEMENT_TRANSITIONS

    @property
    def key(self) -> str:
        return self.replacement_no

    def done(self, *, moved: int, at: datetime, actor: str) -> None:
        self._move(R.DONE, reason=f"old card cancelled, {moved} fen moved", actor=actor, at=at)
        self.moved_amount = moved

    def to_manual(self, *, reason: str, at: datetime, actor: str) -> None:
        self._move(R.MANUAL, reason=reason, actor=actor, at=at)
        self.failure = reason
