"""What the state-machine tests of every aggregate share: the moves a table allows and refuses, and one move's record."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum

import pytest

from payhub.kernel.domain.errors import IllegalTransition
from payhub.kernel.domain.transitions import StateMachine


def allowed_moves(table: Mapping[StrEnum, frozenset[StrEnum]]) -> list[tuple[StrEnum, StrEnum]]:
    return [(source, target) for source, targets in table.items() for target in sorted(targets)]


def refused_moves(table: Mapping[StrEnum, frozenset[StrEnum]], targets: Iterable[StrEnum]) -> list[tuple[StrEnum, StrEnum]]:
    """Every (source, target) the table does not allow, for the targets some named method asks for."""
    return [(source, target) for source in table for target in targets if target not in table[source]]


def assert_moved_once(aggregate: StateMachine, *, source: StrEnum, target: StrEnum, actor: str, at: datetime) -> None:
    assert aggregate.state is target
    [move] = aggregate.transitions
    assert (move.aggregate, move.key, move.from_state, move.to_state) == (aggregate.aggregate, aggregate.key, source, target)
    assert (move.actor, move.at) == (actor, at)
    assert move.reason


def assert_table_covers(table: Mapping[StrEnum, frozenset[StrEnum]], states: type[StrEnum]) -> None:
    """The table has a row for every state and names nothing else."""
    assert set(table) == set(states)
    assert all(targets <= set(states) for targets in table.values())


def refused(aggregate: StateMachine, move: Callable[[StateMachine], object]) -> IllegalTransition:
    """Ask for a move the table forbids; it must raise and leave state and record alone."""
    source = aggregate.state
    with pytest.raises(IllegalTransition) as raised:
        move(aggregate)
    assert aggregate.state is source and aggregate.transitions == []
    return raised.value
