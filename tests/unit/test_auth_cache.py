"""What one hub process remembers of terminals, sessions and nonces, and for how long."""
from __future__ import annotations

from payhub.kernel.services.auth_cache import AuthCache, Nonces


class Ticks:
    """A monotonic clock that stands still until moved."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_kept_until_it_is_as_old_as_allowed_counted_from_before_its_read():
    ticks = Ticks()
    cache = AuthCache(fresh_seconds=1.0, clock=ticks)
    read_at = cache.terminals.started()
    ticks.now += 0.3  # the read took this long
    cache.sessions.put("t1", "found", read_at=read_at)  # type: ignore[arg-type]

    ticks.now += 0.69
    assert cache.sessions.get("t1") == "found"
    ticks.now += 0.01
    assert cache.sessions.get("t1") is None


def test_a_forgotten_value_is_read_again_at_once():
    cache = AuthCache(clock=Ticks())
    cache.sessions.put("t1", "found", read_at=cache.sessions.started())  # type: ignore[arg-type]
    cache.sessions.forget("t1")
    assert cache.sessions.get("t1") is None


def test_the_oldest_reads_go_first_beyond_the_size():
    cache = AuthCache(size=2, clock=Ticks())
    for token in ("a", "b", "c"):
        cache.sessions.put(token, token, read_at=cache.sessions.started())  # type: ignore[arg-type]
    assert [cache.sessions.get(token) for token in ("a", "b", "c")] == [None, "b", "c"]


def test_a_nonce_is_refused_until_its_request_could_no_longer_be_let_in():
    nonces = Nonces(size=10)
    assert nonces.take(terminal_id=1, nonce="n", usable_until=1300.0, now=1000.0)
    assert not nonces.take(terminal_id=1, nonce="n", usable_until=1300.0, now=1299.0)
    assert nonces.take(terminal_id=2, nonce="n", usable_until=1300.0, now=1299.0)  # another terminal's

    assert nonces.take(terminal_id=3, nonce="later", usable_until=1700.0, now=1300.5)
    assert len(nonces) == 1  # the ones whose requests are now too old are gone


def test_a_nonce_given_back_can_be_used_and_the_oldest_go_beyond_the_size():
    nonces = Nonces(size=2)
    nonces.take(terminal_id=1, nonce="n", usable_until=1300.0, now=1000.0)
    nonces.give_back(terminal_id=1, nonce="n")
    assert nonces.take(terminal_id=1, nonce="n", usable_until=1300.0, now=1000.0)
    nonces.take(terminal_id=1, nonce="m", usable_until=1300.0, now=1000.0)
    nonces.take(terminal_id=1, nonce="o", usable_until=1300.0, now=1000.0)
    assert len(nonces) == 2
    assert nonces.take(terminal_id=1, nonce="n", usable_until=1300.0, now=1000.0)  # the database still refuses it


def test_stale_values_go_when_another_is_kept():
    ticks = Ticks()
    cache = AuthCache(fresh_seconds=1.0, clock=ticks)
    cache.terminals.put("T1", "old", read_at=cache.terminals.started())  # type: ignore[arg-type]
    ticks.now += 1.0
    cache.terminals.put("T2", "new", read_at=cache.terminals.started())  # type: ignore[arg-type]
    assert len(cache.terminals) == 1


def test_a_value_read_before_something_was_forgotten_is_not_kept():
    ticks = Ticks()
    cache = AuthCache(clock=ticks)
    read_at = cache.sessions.started()  # a request reads the session while...
    ticks.now += 0.1
    cache.sessions.forget("t1")  # ...a logout in this process revokes it
    cache.sessions.put("t1", "still valid when read", read_at=read_at)  # type: ignore[arg-type]
    assert cache.sessions.get("t1") is None
