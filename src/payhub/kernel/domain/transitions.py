"""The one mechanism every aggregate's state machine uses: a table of allowed moves and a record of each."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from payhub.kernel.domain.errors import IllegalTransition


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded move of an aggregate: from, to, why, who, when."""

    aggregate: str
    key: str
    from_state: str
    to_state: str
    reason: str
    actor: str
    at: datetime


class StateMachine:
    """Mixin: `state`, `version` and a list of moves not yet saved; `_move` checks the class's table."""

    aggregate: str
    allowed: Mapping[StrEnum, frozenset[StrEnum]]
    id: int | None  # None until the aggregate is first saved
    merchant_id: int
    updated_at: datetime | None
    state: StrEnum
    version: int
    saved_state: StrEnum | None
    transitions: list[Transition]
    # its columns as last read or written, kept by the repository so that a save writes only what changed;
    # None (not kept): a save writes every column
    saved_row: dict[str, Any] | None = None

    def can_move(self, target: StrEnum) -> bool:
        return target in self.allowed.get(self.state, frozenset())

    def _move(self, target: StrEnum, *, reason: str, actor: str, at: datetime) -> None:
        if not self.can_move(target):
            raise IllegalTransition(self.aggregate, str(self.state), str(target))
        self.transitions.append(
            Transition(self.aggregate, self.key, str(self.state), str(target), reason, actor, at)
        )
        self.state = target

    @property
    def key(self) -> str:
        raise NotImplementedError
