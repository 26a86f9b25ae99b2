"""Who is asking: terminals sign every request; operators log in on a terminal; supervisors approve on the spot."""
from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from payhub.domain import terminal_signature
from payhub.domain.errors import Forbidden, Unauthorized
from payhub.domain.tenancy import Operator, Role, Terminal, require_role
from payhub.services.context import Hub

NONCE_MAX = 64


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


async def authenticate_terminal(*, hub: Hub, request: SignedRequest) -> Terminal:
    """The registered terminal that signed this request, or Unauthorized (bad signature, stale, replayed)."""
    if not (request.terminal_code and request.timestamp and request.nonce and request.signature):
        raise Unauthorized("SIGNATURE_REQUIRED")
    if len(request.nonce) > NONCE_MAX:
        raise Unauthorized("BAD_SIGNATURE")
    now = hub.clock.now()
    async with hub.uow(read_only=True) as uow:
        found = await uow.tenancy.terminal(code=request.terminal_code)
    if found is None or not found[0].active:
        raise Unauthorized("UNKNOWN_TERMINAL")
    terminal, sealed = found
    try:
        sent_at = int(request.timestamp)
    except ValueError:
        raise Unauthorized("TIMESTAMP_SKEW") from None
    if abs(now.timestamp() - sent_at) > hub.policy.signature_window_seconds:
        raise Unauthorized("TIMESTAMP_SKEW")
    if not terminal_signature.matches(
        key=hub.sealer.unseal(sealed), signature=request.signature, method=request.method, path=request.path,
        timestamp=request.timestamp, nonce=request.nonce, body=request.body,
    ):
        raise Unauthorized("BAD_SIGNATURE")
    async with hub.uow() as uow:
        fresh = await uow.tenancy.use_nonce(
            merchant_id=terminal.merchant_id, terminal_id=terminal.id, nonce=request.nonce, at=now
        )
        await uow.commit()
    if not fresh:
        raise Unauthorized("REPLAYED_REQUEST")
    return terminal


async def _check_password(*, hub: Hub, merchant_id: int, username: str, password: str) -> Operator:
    async with hub.uow(read_only=True) as uow:
        found = await uow.tenancy.operator(merchant_id=merchant_id, username=username)
    operator, password_hash = found if found else (None, None)
    valid = await asyncio.to_thread(hub.passwords.verify, password_hash, password)
    if operator is None or password_hash is None or not operator.active or not valid:
        raise Unauthorized("LOGIN_FAILED")
    if hub.passwords.needs_rehash(password_hash):
        async with hub.uow() as uow:
            await uow.tenancy.set_password_hash(
                operator_id=operator.id, password_hash=hub.passwords.hash(password), at=hub.clock.now()
            )
            await uow.commit()
    return operator


async def login(*, hub: Hub, terminal: Terminal, username: str, password: str) -> tuple[str, Actor, datetime]:
    """Open an operator session on this terminal; returns the bearer token, the actor and the expiry."""
    operator = await _check_password(hub=hub, merchant_id=terminal.merchant_id, username=username, password=password)
    token = secrets.token_urlsafe(32)
    now = hub.clock.now()
    expires_at = now + timedelta(hours=hub.policy.session_hours)
    async with hub.uow() as uow:
        await uow.tenancy.add_session(
            merchant_id=terminal.merchant_id, operator_id=operator.id, terminal_id=terminal.id,
            token_hash=_token_hash(token), at=now, expires_at=expires_at,
        )
        await uow.commit()
    return token, Actor(terminal.merchant_id, terminal, operator, _token_hash(token)), expires_at


async def logout(*, hub: Hub, actor: Actor) -> None:
    """End the operator's session."""
    async with hub.uow() as uow:
        await uow.tenancy.revoke_session(token_hash=actor.token_hash, at=hub.clock.now())
        await uow.commit()


async def resolve_actor(*, hub: Hub, terminal: Terminal, token: str | None) -> Actor:
    """The operator whose session token this is, on this terminal; Unauthorized otherwise."""
    if not token:
        raise Unauthorized("LOGIN_REQUIRED")
    token_hash = _token_hash(token)
    async with hub.uow(read_only=True) as uow:
        session = await uow.tenancy.session(token_hash=token_hash)
        if session is None or session["terminal_id"] != terminal.id:
            raise Unauthorized("LOGIN_REQUIRED")
        if session["revoked_at"] is not None or session["expires_at"] <= hub.clock.now():
            raise Unauthorized("SESSION_EXPIRED")
        found = await uow.tenancy.operator(merchant_id=terminal.merchant_id, operator_id=session["operator_id"])
    if found is None or not found[0].active:
        raise Unauthorized("LOGIN_REQUIRED")
    return Actor(terminal.merchant_id, terminal, found[0], token_hash)


async def approve_as(*, hub: Hub, actor: Actor, needed: Role, username: str | None, password: str | None) -> Operator:
    """The operator who approves an action: the actor if senior enough, else a senior's credentials given on the spot."""
    if username is None:
        require_role(role=actor.operator.role, needed=needed)
        return actor.operator
    approver = await _check_password(hub=hub, merchant_id=actor.merchant_id, username=username, password=password or "")
    if approver.role.rank < needed.rank:
        raise Forbidden("ROLE_REQUIRED", role=needed.label_zh)
    return approver
