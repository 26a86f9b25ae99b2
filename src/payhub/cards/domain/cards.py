"""Stored-value cards: the card's life cycle and the ledger account that holds its balance."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.errors import Conflict, InvalidInput
from payhub.kernel.domain.ledger import AccountSpec, NormalSide
from payhub.kernel.domain.transitions import StateMachine, Transition


class CardKind(StrEnum):
    PHYSICAL = "physical"  # the number is printed on a plastic card
    VIRTUAL = "virtual"    # the number comes from the issuer's pool, one per member


class CardState(StrEnum):
    OPENED = "opened"        # 开户: registered, waiting for the issuer's audit
    AUDITED = "audited"      # 审核: approved, not yet handed over
    ACTIVE = "active"        # 激活: may transact
    FROZEN = "frozen"        # 冻结: by staff or after too many wrong pay passwords
    LOST = "lost"            # 挂失: reported lost by the holder
    CANCELLED = "cancelled"  # 注销: closed for good


S = CardState
CARD_TRANSITIONS: dict[StrEnum, frozenset[StrEnum]] = {
    S.OPENED: frozenset({S.AUDITED, S.CANCELLED}),
    S.AUDITED: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.FROZEN, S.LOST, S.CANCELLED}),
    S.FROZEN: frozenset({S.ACTIVE, S.LOST, S.CANCELLED}),
    S.LOST: frozenset({S.ACTIVE, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}


def luhn_digit(digits: str) -> str:
    """The Luhn check digit to append to digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def check_card_no(card_no: str) -> str:
    """A card number: 12 to 19 ASCII digits ending in a Luhn check digit, or BAD_CARD_NO."""
    if not (card_no.isascii() and card_no.isdigit() and 12 <= len(card_no) <= 19):
        raise InvalidInput("BAD_CARD_NO", card_no=card_no[:32])
    if luhn_digit(card_no[:-1]) != card_no[-1]:
        raise InvalidInput("BAD_CARD_NO", card_no=card_no)
    return card_no


def card_account(card_no: str) -> AccountSpec:
    """What the issuer owes the card's holder (a liability that never goes below zero)."""
    return AccountSpec(f"card:{card_no}", f"储值卡 {card_no}", NormalSide.CREDIT, non_negative=True)


@dataclass(slots=True)
class Card(StateMachine):
    """Aggregate root for one card of a funds account; its state decides whether it may transact."""

    merchant_id: int
    card_no: str
    account_id: int
    kind: CardKind
    created_at: datetime
    state: CardState = CardState.OPENED
    id: int | None = None
    version: int = 0
    updated_at: datetime | None = None
    saved_state: StrEnum | None = None
    transitions: list[Transition] = field(default_factory=list)

    aggregate = "储值卡"
    allowed = CARD_TRANSITIONS

    @property
    def key(self) -> str:
        return self.card_no

    def audit(self, *, at: datetime, actor: str) -> None:
        """The issuer approved the opening."""
        self._move(S.AUDITED, reason="audited", actor=actor, at=at)

    def activate(self, *, at: datetime, actor: str) -> None:
        """Handed over: the card may transact from now on."""
        if self.state is not S.AUDITED:
            raise Conflict("CARD_STATE", card_no=self.card_no, state=str(self.state))
        self._move(S.ACTIVE, reason="activated", actor=actor, at=at)

    def freeze(self, *, reason: str, at: datetime, actor: str) -> None:
        """Stop all transactions until unfrozen."""
        self._require(S.ACTIVE)
        self._move(S.FROZEN, reason=reason, actor=actor, at=at)

    def unfreeze(self, *, at: datetime, actor: str) -> None:
        self._require(S.FROZEN)
        self._move(S.ACTIVE, reason="unfrozen", actor=actor, at=at)

    def report_lost(self, *, at: datetime, actor: str) -> None:
        """The holder lost the card: nobody may use it."""
        if self.state not in (S.ACTIVE, S.FROZEN):
            raise Conflict("CARD_STATE", card_no=self.card_no, state=str(self.state))
        self._move(S.LOST, reason="reported lost", actor=actor, at=at)

    def found(self, *, at: datetime, actor: str) -> None:
        """解挂: the holder has the card again."""
        self._require(S.LOST)
        self._move(S.ACTIVE, reason="lost report withdrawn", actor=actor, at=at)

    def cancel(self, *, reason: str, at: datetime, actor: str) -> None:
        """注销: closed for good (its balance must have been moved or be zero)."""
        if self.state is S.CANCELLED:
            raise Conflict("CARD_STATE", card_no=self.card_no, state=str(self.state))
        self._move(S.CANCELLED, reason=reason, actor=actor, at=at)

    def _require(self, state: CardState) -> None:
        if self.state is not state:
            raise Conflict("CARD_STATE", card_no=self.card_no, state=str(self.state))

    @property
    def can_transact(self) -> bool:
        return self.state is S.ACTIVE


def require_transactable(*, card_no: str, state: str) -> None:
    """Refuse money movements on a card that is not active (frozen, lost, cancelled, not yet activated)."""
    if state != CardState.ACTIVE.value:
        raise Conflict("CARD_NOT_ACTIVE", card_no=card_no, state=state)
