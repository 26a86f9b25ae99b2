"""Who is asking: terminals sign every request; operators log in on a terminal; supervisors approve on the spot."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from payhub.kernel.domain import terminal_signature
from payhub.kernel.domain.errors import Forbidden, Unauthorized
from payhub.kernel.domain.sign_in_throttle import Event, Purpose, SignInRules, Tally, minutes_left
from payhub.kernel.domain.tenancy import Merchant, Operator, Role, Terminal, require_role
from payhub.kernel.ports import UnitOfWork
from payhub.kernel.services.auth_cache import KnownSession, KnownTerminal
from payhub.kernel.services.request_nonces import PendingNonce
from payhub.kernel.services.context import Hub

log = logging.getLogger(__name__)
USERNAME = re.compile(r"[^\x00-\x1f\x7f]{1,64}")  # what the operators table can hold


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request a terminal signature covers."""

    terminal_code: str | None
    timestamp: str | None
    nonce: str | None
    signature: str | None
    method: str
    path: str
    body: bytes


@dataclass(frozen=True)
class Actor:
    """A logged-in operator working on a terminal: who every counter action is done by."""

    merchant_id: int
    terminal: Terminal
    operator: Operator
    token_hash: str

    @property
    def name(self) -> str:
        return f"operator:{self.operator.username}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _known_terminal(*, hub: Hub, code: str) -> KnownTerminal | None:
    """The terminal and its key, from this process's memory while fresh, else from the database."""
    async def load() -> KnownTerminal | None:
        async with hub.uow(read_only=True) as uow:
            found = await uow.tenancy.terminal(code=code)
        return KnownTerminal(found[0], hub.sealer.unseal(found[1])) if found else None

    return await hub.auth_cache.terminals.through(code, load)


def _take_nonce(*, hub: Hub, terminal: Terminal, nonce: str, timestamp: int, now: datetime) -> PendingNonce:
    """Refuse a nonce this process let in before; the database's unique key refuses one let in elsewhere when
    the nonce is stored."""
    window = hub.policy.signature_window_seconds
    if not hub.auth_cache.nonces.take(terminal_id=terminal.id, nonce=nonce, usable_until=timestamp + window,
                                      now=now.timestamp()):
        raise Unauthorized("REPLAYED_REQUEST")
    return PendingNonce(merchant_id=terminal.merchant_id, terminal_id=terminal.id, nonce=nonce, at=now)


async def admit_terminal(*, hub: Hub, request: SignedRequest) -> tuple[Terminal, PendingNonce]:
    """The registered terminal that signed this request and its nonce, not yet stored; Unauthorized when the
    signature is bad, stale or the nonce was seen by this process."""
    if not (request.terminal_code and request.timestamp and request.nonce and request.signature):
        raise Unauthorized("SIGNATURE_REQUIRED")
    if not terminal_signature.NONCE.fullmatch(request.nonce):
        raise Unauthorized("BAD_SIGNATURE")
    if not terminal_signature.TIMESTAMP.fullmatch(request.timestamp):
        raise Unauthorized("BAD_TIMESTAMP")
    if not terminal_signature.TERMINAL_CODE.fullmatch(request.terminal_code):
        raise Unauthorized("UNKNOWN_TERMINAL")
    now = hub.clock.now()
    known = await _known_terminal(hub=hub, code=request.terminal_code)
    if known is None or not known.terminal.active:
        raise Unauthorized("UNKNOWN_TERMINAL")
    if abs(now.timestamp() - int(request.timestamp)) > hub.policy.signature_window_seconds:
        raise Unauthorized("TIMESTAMP_SKEW")
    if not terminal_signature.matches(
        key=known.key, signature=request.signature, method=request.method, path=request.path,
        timestamp=request.timestamp, nonce=request.nonce, body=request.body,
    ):
        raise Unauthorized("BAD_SIGNATURE")
    return known.terminal, _take_nonce(hub=hub, terminal=known.terminal, nonce=request.nonce,
                                       timestamp=int(request.timestamp), now=now)


async def store_nonce(*, hub: Hub, nonce: PendingNonce) -> None:
    """Store an admitted request's nonce on its own; Unauthorized when another process let it in (a replay)."""
    try:
        await hub.nonce_writes.store(uow=hub.uow, nonce=nonce)
    except BaseException:
        if not nonce.stored:  # never recorded: a retry of the same request may use it
            hub.auth_cache.nonces.give_back(terminal_id=nonce.terminal_id, nonce=nonce.nonce)
        raise


async def forget_expired(*, hub: Hub) -> int:
    """Delete nonces too old to be replayed, sign-in counters that no longer count or lock and sign-in audit rows
    past their keeping time; how many went."""
    now = hub.clock.now()
    # a request is let in only within the window around its timestamp, so a nonce seen more than two windows
    # ago can only come back with a timestamp that is refused anyway; the minute covers clocks of other hosts
    nonces_before = now - timedelta(seconds=2 * hub.policy.signature_window_seconds + 60)
    rules = hub.policy.sign_in
    counters_before = min(rules.window_start(now), rules.backoff_since(now))
    async with hub.uow() as uow:
        forgotten = await uow.tenancy.forget_nonces(before=nonces_before)
        forgotten += await uow.tenancy.forget_sign_in_counters(before=counters_before)
        forgotten += await uow.tenancy.forget_sign_in_audit(before=now - timedelta(days=rules.audit_days))
        await uow.commit()
    return forgotten


@dataclass(frozen=True)
class _Try:
    """One password check: who, on which terminal, for what; counted against the user name and the terminal."""

    terminal: Terminal
    username: str
    purpose: Purpose
    at: datetime

    async def audit(self, uow: UnitOfWork, event: Event, *, subject: str | None = None,
                    locked_until: datetime | None = None) -> None:
        await uow.tenancy.record_sign_in(
            merchant_id=self.terminal.merchant_id, terminal_id=self.terminal.id, username=self.username,
            purpose=self.purpose, event=event, at=self.at, subject=subject, locked_until=locked_until,
        )

    async def lock(self, uow: UnitOfWork, *, subject: str, rules: SignInRules) -> datetime:
        until, started = await uow.tenancy.lock_sign_in(
            merchant_id=self.terminal.merchant_id, subject=subject, at=self.at, rules=rules)
        if started:
            await self.audit(uow, Event.LOCKED, subject=subject, locked_until=until)
            log.warning("sign-in locked", extra={"subject": subject, "locked_until": until.isoformat()})
        return until

    def locked_out(self, until: datetime) -> Unauthorized:
        return Unauthorized("LOGIN_LOCKED", minutes=minutes_left(until=until, now=self.at))


async def _count_try(*, hub: Hub, attempt: _Try, limits: dict[str, int]) -> dict[str, Tally]:
    """Count the try on each counter before its password is checked, so that parallel tries all count; refuse it
    unchecked (and take the count back) when a counter is locked or this try is beyond its budget."""
    merchant_id = attempt.terminal.merchant_id
    async with hub.uow() as uow:
        tallies = {subject: await uow.tenancy.count_sign_in(merchant_id=merchant_id, subject=subject, at=attempt.at,
                                                            rules=hub.policy.sign_in) for subject in limits}
        ends = [t.locked_until for t in tallies.values() if t.locked_until and t.locked(attempt.at)]
        for subject, tally in tallies.items():
            if not tally.locked(attempt.at) and tally.failures > limits[subject]:
                ends.append(await attempt.lock(uow, subject=subject, rules=hub.policy.sign_in))
        if ends:
            for subject in tallies:
                await uow.tenancy.uncount_sign_in(merchant_id=merchant_id, subject=subject)
            await attempt.audit(uow, Event.REFUSED)
        await uow.commit()
    if ends:
        raise attempt.locked_out(max(ends))
    return tallies


async def _let_in(*, hub: Hub, attempt: _Try, limits: dict[str, int]) -> None:
    """The right password: the user name's failures are forgotten, the terminal's count of this try taken back."""
    user, terminal = limits
    async with hub.uow() as uow:
        await uow.tenancy.clear_sign_in(merchant_id=attempt.terminal.merchant_id, subject=user)
        await uow.tenancy.uncount_sign_in(merchant_id=attempt.terminal.merchant_id, subject=terminal)
        await uow.commit()


async def _turn_away(*, hub: Hub, attempt: _Try, limits: dict[str, int], tallies: dict[str, Tally]) -> Unauthorized:
    """A wrong password stays counted, is audited, and locks each counter whose budget it used up."""
    async with hub.uow() as uow:
        await attempt.audit(uow, Event.FAILED)
        ends = [await attempt.lock(uow, subject=subject, rules=hub.policy.sign_in)
                for subject, limit in limits.items() if tallies[subject].failures >= limit]
        await uow.commit()
    return attempt.locked_out(max(ends)) if ends else Unauthorized("LOGIN_FAILED")


async def _check_password(*, hub: Hub, terminal: Terminal, username: str, password: str,
                          purpose: Purpose) -> Operator:
    """The active operator of the terminal's merchant with these credentials; wrong tries are throttled."""
    if not USERNAME.fullmatch(username):
        raise Unauthorized("LOGIN_FAILED")  # no operator can have such a name: nothing to count it against
    attempt = _Try(terminal=terminal, username=username, purpose=purpose, at=hub.clock.now())
    limits = hub.policy.sign_in.subjects(username=username, terminal_code=terminal.code)
    tallies = await _count_try(hub=hub, attempt=attempt, limits=limits)
    async with hub.uow(read_only=True) as uow:
        found = await uow.tenancy.operator(merchant_id=terminal.merchant_id, username=username)
    operator, password_hash = found if found else (None, None)
    valid = await asyncio.to_thread(hub.passwords.verify, password_hash, password)
    if operator is None or password_hash is None or not operator.active or not valid:
        raise await _turn_away(hub=hub, attempt=attempt, limits=limits, tallies=tallies)
    await _let_in(hub=hub, attempt=attempt, limits=limits)
    if hub.passwords.needs_rehash(password_hash):
        async with hub.uow() as uow:
            await uow.tenancy.set_password_hash(
                operator_id=operator.id, password_hash=hub.passwords.hash(password), at=hub.clock.now()
            )
            await uow.commit()
    return operator


async def login(*, hub: Hub, terminal: Terminal, username: str, password: str) -> tuple[str, Actor, datetime]:
    """Open an operator session on this terminal; returns the bearer token, the actor and the expiry."""
    operator = await _check_password(hub=hub, terminal=terminal, username=username, password=password,
                                     purpose=Purpose.LOGIN)
    token = secrets.token_urlsafe(32)
    now = hub.clock.now()
    expires_at = now + timedelta(hours=hub.policy.session_hours)
    written_at = hub.auth_cache.sessions.started()
    async with hub.uow() as uow:
        await uow.tenancy.add_session(
            merchant_id=terminal.merchant_id, operator_id=operator.id, terminal_id=terminal.id,
            token_hash=_token_hash(token), at=now, expires_at=expires_at,
        )
        await uow.commit()
    hub.auth_cache.sessions.put(_token_hash(token), KnownSession(
        terminal_id=terminal.id, expires_at=expires_at, revoked=False, operator=operator), read_at=written_at)
    return token, Actor(terminal.merchant_id, terminal, operator, _token_hash(token)), expires_at


async def logout(*, hub: Hub, actor: Actor) -> None:
    """End the operator's session."""
    async with hub.uow() as uow:
        await uow.tenancy.revoke_session(token_hash=actor.token_hash, at=hub.clock.now())
        await uow.commit()
    hub.auth_cache.sessions.forget(actor.token_hash)


async def _known_session(*, hub: Hub, token_hash: str) -> KnownSession | None:
    """The session and its operator, from this process's memory while fresh, else from the database."""
    async def load() -> KnownSession | None:
        async with hub.uow(read_only=True) as uow:
            session = await uow.tenancy.session(token_hash=token_hash)
            if session is None:
                return None
            found = await uow.tenancy.operator(merchant_id=session.merchant_id, operator_id=session.operator_id)
        return KnownSession(terminal_id=session.terminal_id, expires_at=session.expires_at,
                            revoked=session.revoked_at is not None, operator=found[0] if found else None)

    return await hub.auth_cache.sessions.through(token_hash, load)


async def resolve_actor(*, hub: Hub, terminal: Terminal, token: str | None) -> Actor:
    """The operator whose session token this is, on this terminal; Unauthorized otherwise."""
    if not token:
        raise Unauthorized("LOGIN_REQUIRED")
    token_hash = _token_hash(token)
    session = await _known_session(hub=hub, token_hash=token_hash)
    if session is None or session.terminal_id != terminal.id:
        raise Unauthorized("LOGIN_REQUIRED")
    if session.revoked or session.expires_at <= hub.clock.now():
        raise Unauthorized("SESSION_EXPIRED")
    if session.operator is None or not session.operator.active:
        raise Unauthorized("LOGIN_REQUIRED")
    return Actor(terminal.merchant_id, terminal, session.operator, token_hash)


async def approve_as(*, hub: Hub, actor: Actor, needed: Role, username: str | None, password: str | None) -> Operator:
    """The operator who approves an action: the actor if senior enough, else a senior's credentials given on the spot."""
    if username is None:
        require_role(role=actor.operator.role, needed=needed)
        return actor.operator
    approver = await _check_password(hub=hub, terminal=actor.terminal, username=username, password=password or "",
                                     purpose=Purpose.APPROVAL)
    if approver.role.rank < needed.rank:
        raise Forbidden("ROLE_REQUIRED", role=needed.label_zh)
    return approver


async def known_merchant(*, hub: Hub, merchant_id: int) -> Merchant:
    """A merchant the hub knows by id (from a terminal, an actor or an order), from this process's memory while
    fresh."""
    async def load() -> Merchant | None:
        async with hub.uow(read_only=True) as uow:
            return await uow.tenancy.merchant(merchant_id=merchant_id)

    merchant = await hub.auth_cache.merchants.through(merchant_id, load)
    assert merchant is not None, "merchant ids come from foreign keys"
    return merchant


async def terminal_merchant(*, hub: Hub, terminal: Terminal) -> Merchant:
    """The merchant of a terminal whose signature was checked (a signed ping proves the key before it is kept)."""
    return await known_merchant(hub=hub, merchant_id=terminal.merchant_id)
