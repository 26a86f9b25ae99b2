"""What authentication remembers in one hub process, so that a signed request costs no database read.

Terminals (with their unsealed keys), operator sessions and merchants are kept for at most `fresh_seconds` after the read
that found them started, so a change made by any process (a logout, a disabled terminal or operator, a new key)
is seen everywhere within that time without messages between processes; this process forgets at once what it
changes itself. Nonces are remembered until their request's timestamp leaves the signature window, so a replay
to this process is refused without the database; the database's unique key refuses one sent to another process.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from payhub.kernel.domain.tenancy import Merchant, Operator, Terminal

V = TypeVar("V")


@dataclass(frozen=True)
class KnownTerminal:
    """A terminal as last read, with the key its requests are signed with."""

    terminal: Terminal
    key: str


@dataclass(frozen=True)
class KnownSession:
    """An operator session as last read, with its operator (None when the operator is gone)."""

    terminal_id: int
    expires_at: datetime
    revoked: bool
    operator: Operator | None


class _Fresh(Generic[V]):
    """Values kept until they are `fresh_seconds` old (by a monotonic clock), at most `size` of them."""

    def __init__(self, *, fresh_seconds: float, size: int, clock: Callable[[], float]) -> None:
        self._fresh_seconds, self._size, self._clock = fresh_seconds, size, clock
        self._values: OrderedDict[Any, tuple[float, V]] = OrderedDict()
        self._forgot_at = float("-inf")

    def started(self) -> float:
        """The moment to stamp a value with: taken before the read that finds it."""
        return self._clock()

    def get(self, key: Any) -> V | None:
        found = self._values.get(key)
        if found is None:
            return None
        if self._clock() - found[0] >= self._fresh_seconds:
            del self._values[key]
            return None
        return found[1]

    def put(self, key: Any, value: V, *, read_at: float) -> None:
        if read_at <= self._forgot_at:
            return  # read while something was being forgotten: it may be what was forgotten, read before the change
        self._values.pop(key, None)
        self._values[key] = (read_at, value)
        stale_before = self._clock() - self._fresh_seconds
        # oldest read first: drop the stale ones, and beyond the size the ones that would go stale next
        while self._values and (len(self._values) > self._size or next(iter(self._values.values()))[0] <= stale_before):
            self._values.popitem(last=False)

    async def through(self, key: Any, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The fresh value, else what load reads (kept unless it is None)."""
        known = self.get(key)
        if known is None:
            read_at = self.started()
            known = await load()
            if known is not None:
                self.put(key, known, read_at=read_at)
        return known

    def forget(self, key: Any) -> None:
        self._forgot_at = self._clock()
        self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)


class Nonces:
    """Nonces this process let in, each until its request's timestamp is out of the window; at most `size`
    (beyond that the oldest go and the database alone refuses their replays)."""

    def __init__(self, *, size: int) -> None:
        self._size = size
        self._until: OrderedDict[tuple[int, str], float] = OrderedDict()

    def take(self, *, terminal_id: int, nonce: str, usable_until: float, now: float) -> bool:
        """Remember the nonce; False if this process let it in before (a replay)."""
        self._purge(now)
        key = (terminal_id, nonce)
        if key in self._until:
            return False
        self._until[key] = usable_until
        while len(self._until) > self._size:
            self._until.popitem(last=False)
        return True

    def give_back(self, *, terminal_id: int, nonce: str) -> None:
        """Forget a nonce whose request never got in (the database could not record it)."""
        self._until.pop((terminal_id, nonce), None)

    def _purge(self, now: float) -> None:
        # from the first let in: one whose end comes before an older one's stays a little longer, which is only safer
        while self._until:
            key, until = next(iter(self._until.items()))
            if until >= now:
                return
            del self._until[key]

    def __len__(self) -> int:
        return len(self._until)


class AuthCache:
    """One process's memory of terminals, sessions, merchants and nonces (see the module docstring)."""

    def __init__(self, *, fresh_seconds: float = 1.0, size: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.terminals: _Fresh[KnownTerminal] = _Fresh(fresh_seconds=fresh_seconds, size=size, clock=clock)
        self.sessions: _Fresh[KnownSession] = _Fresh(fresh_seconds=fresh_seconds, size=size, clock=clock)
        self.merchants: _Fresh[Merchant] = _Fresh(fresh_seconds=fresh_seconds, size=size, clock=clock)
        self.nonces = Nonces(size=size)
