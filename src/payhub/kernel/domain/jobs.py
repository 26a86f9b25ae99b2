"""Durable jobs (the outbox): what must happen at a far system, retried with backoff, parked after the last try."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol


class JobType(Protocol):
    """A kind of job: its name in the jobs table and the tries it gets before it is parked.

    The kernel's kinds are JobKind; each feature declares its own enum of the same shape."""

    @property
    def value(self) -> str: ...

    @property
    def max_attempts(self) -> int: ...


class JobKind(StrEnum):
    POLL_PAYMENT = "poll_payment"        # ask the channel until the payment is explicit
    CLOSE_PAYMENT = "close_payment"      # close an unpaid QR trade
    REVERSE_PAYMENT = "reverse_payment"  # reverse an unconfirmed payment-code trade
    FULFIL = "fulfil"                    # deliver what a paid order bought (post to the biller, load a card...)
    UNDO_FULFILMENT = "undo_fulfilment"  # take a fulfilment back at the far system before a refund
    REFUND = "refund"                    # return money through the channel

    @property
    def max_attempts(self) -> int:
        return _MAX_ATTEMPTS[self]


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    PARKED = "parked"  # out of tries: waits for operations staff


_MAX_ATTEMPTS: dict[JobKind, int] = {
    JobKind.POLL_PAYMENT: 20,
    JobKind.CLOSE_PAYMENT: 12,
    JobKind.REVERSE_PAYMENT: 12,
    JobKind.FULFIL: 15,
    JobKind.UNDO_FULFILMENT: 12,
    JobKind.REFUND: 15,
}


def backoff(*, attempt: int) -> timedelta:
    """Wait before try number attempt+1: 5 s doubling, at most an hour."""
    return timedelta(seconds=min(5 * 2 ** max(attempt - 1, 0), 3600))


@dataclass(slots=True)
class Job:
    """One claimed job as a handler sees it."""

    id: int
    merchant_id: int
    kind: str  # a JobType's value
    ref: str
    attempts: int
    max_attempts: int
    run_at: datetime


@dataclass(frozen=True, slots=True)
class ParkedJob:
    """A job out of tries, as operations staff see it."""

    id: int
    merchant_id: int
    kind: str  # a JobType's value
    ref: str
    state: JobState
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Done:
    """The job's effect happened (or is known to be unnecessary). recorded: the handler finished the job in the
    transaction of its effect, so the runner has nothing more to write."""

    recorded: bool = field(default=False, compare=False)  # bookkeeping for the runner: still the same outcome


@dataclass(frozen=True, slots=True)
class RunAgain:
    """Not a failure: look again at `at` (polling a payment that is still being paid)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure or an unclear answer: try again after backoff; parked after the last try."""

    error: str


JobOutcome = Done | RunAgain | Retry
