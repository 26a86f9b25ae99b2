"""How wrong operator passwords throttle sign-ins: counted per user name and per terminal, then locked for a while."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Purpose(StrEnum):
    LOGIN = "login"        # an operator opens a session
    APPROVAL = "approval"  # a supervisor types their password on the spot (a refund)


class Event(StrEnum):
    """What the sign-in audit records."""

    FAILED = "failed"    # the password was checked and was wrong (or no such active operator)
    REFUSED = "refused"  # not checked at all: the user name or terminal is locked
    LOCKED = "locked"    # a lockout started


@dataclass(frozen=True)
class Tally:
    """One counter after a try was counted on it."""

    failures: int                  # tries within the window that were not let in (this one included)
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class SignInRules:
    user_failures: int = 5
    terminal_failures: int = 20
    window_minutes: int = 15
    lockout_minutes: int = 15
    max_lockout_minutes: int = 24 * 60
    backoff_reset_hours: int = 24
    audit_days: int = 180

    def subjects(self, *, username: str, terminal_code: str) -> dict[str, int]:
        """The counters one try is held against, each with the failures that lock it; the user name's comes first,
        so that every transaction takes their row locks in the same order."""
        return {f"user:{username}": self.user_failures, f"terminal:{terminal_code}": self.terminal_failures}

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(minutes=self.window_minutes)

    def backoff_since(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.backoff_reset_hours)

    def lockout(self, *, lockouts: int) -> timedelta:
        """How long the n-th lockout in a row lasts: doubling from lockout_minutes, at most max_lockout_minutes."""
        doublings = min(max(lockouts - 1, 0), 32)
        return timedelta(minutes=min(self.lockout_minutes * 2 ** doublings, self.max_lockout_minutes))


def minutes_left(*, until: datetime, now: datetime) -> int:
    """Whole minutes until a lock ends, rounded up (what the operator is told)."""
    return max(1, math.ceil((until - now).total_seconds() / 60))
