"""Who is asking: signed terminal requests, operator sessions."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest

from payhub.kernel.domain import terminal_signature
from payhub.kernel.domain.errors import Unauthorized
from payhub.kernel.domain.sign_in_throttle import SignInRules
from payhub.kernel.domain.tenancy import NonceUse, Role, Terminal
from payhub.kernel.services import auth
from payhub.kernel.services.auth_cache import AuthCache
from payhub.kernel.services.context import Hub
from payhub.kernel.services.request_nonces import PendingNonce

from .fakes import FakeTenancy
from .test_auth_cache import Ticks
from .world import START, World

KEY = "terminal-key"  # what build_world seals for POS-7


def signed(*, key: str = KEY, nonce: str = "n-1", timestamp: int | str = int(START.timestamp()), **changes):
    parts = {"method": "POST", "path": "/api/v1/orders", "timestamp": str(timestamp), "nonce": nonce, "body": b"{}"}
    request = auth.SignedRequest("POS-7", parts["timestamp"], nonce, terminal_signature.sign(key=key, **parts),
                                 parts["method"], parts["path"], parts["body"])
    return replace(request, **changes)


async def admitted(hub: Hub, request: auth.SignedRequest) -> Terminal:
    """What SignedRequests does for a read: admit the request, then store its nonce on its own."""
    terminal, nonce = await auth.admit_terminal(hub=hub, request=request)
    await auth.store_nonce(hub=hub, nonce=nonce)
    return terminal


async def authenticate(world: World, request: auth.SignedRequest):
    return await admitted(world.hub, request)


async def test_a_correctly_signed_request_names_its_terminal(world: World):
    assert await authenticate(world, signed()) == world.terminal


async def test_a_replayed_nonce_is_refused(world: World):
    await authenticate(world, signed())

    with pytest.raises(Unauthorized) as refused:
        await authenticate(world, signed())
    assert refused.value.code == "REPLAYED_REQUEST"


@pytest.mark.parametrize(("request_", "code"), [
    (signed(signature=None), "SIGNATURE_REQUIRED"),
    (signed(terminal_code="POS-404"), "UNKNOWN_TERMINAL"),
    (signed(key="guessed"), "BAD_SIGNATURE"),
    (signed(body=b'{"amount":1}'), "BAD_SIGNATURE"),
    (signed(nonce="n" * 65), "BAD_SIGNATURE"),
    (signed(timestamp=int(START.timestamp()) - 301), "TIMESTAMP_SKEW"),
    (signed(timestamp=int(START.timestamp()) + 301), "TIMESTAMP_SKEW"),
    (signed(timestamp="soon"), "BAD_TIMESTAMP"),
    (signed(timestamp="9" * 400), "BAD_TIMESTAMP"),
    (signed(timestamp=f"+{int(START.timestamp())}"), "BAD_TIMESTAMP"),
    (signed(signature="签名" + "0" * 62), "BAD_SIGNATURE"),
    (signed(signature="a" * 64), "BAD_SIGNATURE"),
    (signed(nonce="n\x00"), "BAD_SIGNATURE"),
    (signed(terminal_code="POS-7\x00"), "UNKNOWN_TERMINAL"),
], ids=["unsigned", "unknown-terminal", "wrong-key", "changed-body", "long-nonce", "old", "future", "not-a-time",
        "huge-time", "signed-time", "non-ascii-signature", "wrong-hex-signature", "nul-nonce", "nul-terminal"])
async def test_a_request_that_is_not_provably_fresh_and_signed_is_refused(world: World, request_, code):
    with pytest.raises(Unauthorized) as refused:
        await authenticate(world, request_)

    assert refused.value.code == code
    assert world.db.nonces == {}


async def test_a_refused_request_does_not_use_up_its_nonce(world: World):
    with pytest.raises(Unauthorized):
        await authenticate(world, signed(key="guessed"))

    assert await authenticate(world, signed()) == world.terminal


async def login(world: World, password: str = "pw-li"):
    return await auth.login(hub=world.hub, terminal=world.terminal, username="li", password=password)


async def test_an_operator_session_resolves_to_the_operator_until_logout(world: World):
    token, actor, expires_at = await login(world)

    assert expires_at == START.replace(hour=14)
    assert (await auth.resolve_actor(hub=world.hub, terminal=world.terminal, token=token)).operator == world.operator
    await auth.logout(hub=world.hub, actor=actor)
    with pytest.raises(Unauthorized) as refused:
        await auth.resolve_actor(hub=world.hub, terminal=world.terminal, token=token)
    assert refused.value.code == "SESSION_EXPIRED"


async def test_a_session_expires(world: World):
    token, _, _ = await login(world)
    world.clock.advance(hours=12)

    with pytest.raises(Unauthorized) as refused:
        await auth.resolve_actor(hub=world.hub, terminal=world.terminal, token=token)
    assert refused.value.code == "SESSION_EXPIRED"


async def test_a_session_works_only_on_its_terminal(world: World):
    token, _, _ = await login(world)
    other = Terminal(8, world.merchant.id, "POS-8", "二号柜台")

    with pytest.raises(Unauthorized) as refused:
        await auth.resolve_actor(hub=world.hub, terminal=other, token=token)
    assert refused.value.code == "LOGIN_REQUIRED"


@pytest.mark.parametrize("password", ["wrong", ""])
async def test_a_wrong_password_opens_no_session(world: World, password):
    with pytest.raises(Unauthorized) as refused:
        await login(world, password)

    assert refused.value.code == "LOGIN_FAILED"
    assert world.db.sessions == {}


async def test_wrong_on_the_spot_approvals_lock_the_supervisor_and_are_audited(world: World):
    rules = world.hub.policy.sign_in
    codes = []
    for _ in range(rules.user_failures + 1):
        with pytest.raises(Unauthorized) as refused:
            await auth.approve_as(hub=world.hub, actor=world.actor, needed=Role.SUPERVISOR,
                                  username=world.supervisor.username, password="wrong")
        codes.append(refused.value.code)
    with pytest.raises(Unauthorized) as right:
        await auth.approve_as(hub=world.hub, actor=world.actor, needed=Role.SUPERVISOR,
                              username=world.supervisor.username, password=f"pw-{world.supervisor.username}")

    assert codes == ["LOGIN_FAILED"] * (rules.user_failures - 1) + ["LOGIN_LOCKED"] * 2
    assert right.value.code == "LOGIN_LOCKED" and right.value.params == {"minutes": rules.lockout_minutes}
    events = [(row["event"], row["purpose"]) for row in world.db.sign_in_audit.values()]
    assert events == [("failed", "approval")] * rules.user_failures + [("locked", "approval")] + [("refused", "approval")] * 2
    world.clock.advance(minutes=rules.lockout_minutes)
    approver = await auth.approve_as(hub=world.hub, actor=world.actor, needed=Role.SUPERVISOR,
                                     username=world.supervisor.username, password=f"pw-{world.supervisor.username}")
    assert approver == world.supervisor


def test_lockouts_in_a_row_double_up_to_the_cap():
    rules = SignInRules(lockout_minutes=15, max_lockout_minutes=100)
    assert [rules.lockout(lockouts=n) for n in (1, 2, 3, 4, 1000)] == [
        timedelta(minutes=m) for m in (15, 30, 60, 100, 100)]


async def test_housekeeping_forgets_only_nonces_too_old_to_be_replayed(world: World):
    await authenticate(world, signed(nonce="old"))
    world.clock.advance(seconds=2 * world.hub.policy.signature_window_seconds + 61)
    await authenticate(world, signed(nonce="new", timestamp=int(world.clock.now().timestamp())))

    assert await auth.forget_expired(hub=world.hub) == 1
    assert [nonce for _, nonce in world.db.nonces] == ["new"]


async def test_housekeeping_forgets_sign_in_audit_rows_past_their_keeping_time(world: World):
    with pytest.raises(Unauthorized):
        await login(world, password="wrong")
    world.clock.advance(seconds=(world.hub.policy.sign_in.audit_days - 1) * 86_400)
    with pytest.raises(Unauthorized):
        await login(world, password="wrong again")
    world.clock.advance(seconds=2 * 86_400)  # the first failure is past its keeping time, the second is not

    await auth.forget_expired(hub=world.hub)
    assert [row["at"] for row in world.db.sign_in_audit.values()] == [world.clock.now() - timedelta(days=2)]


def another_process(world: World, ticks: Ticks) -> Hub:
    """A second hub process on the same database: its own memory of terminals, sessions and nonces."""
    return replace(world.hub, auth_cache=AuthCache(fresh_seconds=1.0, clock=ticks))


async def test_a_replay_to_another_process_is_refused_by_the_database(world: World):
    await authenticate(world, signed())

    with pytest.raises(Unauthorized) as refused:
        await admitted(another_process(world, Ticks()), signed())
    assert refused.value.code == "REPLAYED_REQUEST"


async def test_a_warm_process_asks_the_database_nothing_but_the_nonce(world: World):
    token, _, _ = await login(world)
    await auth.resolve_actor(hub=world.hub, terminal=await authenticate(world, signed()), token=token)
    world.db.terminals.clear()
    world.db.sessions.clear()  # anything read from here on would now be missing

    terminal = await authenticate(world, signed(nonce="n-2"))
    assert (await auth.resolve_actor(hub=world.hub, terminal=terminal, token=token)).operator == world.operator
    assert (terminal.id, "n-2") in world.db.nonces


async def test_a_logout_elsewhere_ends_the_session_here_once_this_process_copy_is_a_second_old(world: World):
    token, actor, _ = await login(world)
    ticks = Ticks()
    here = another_process(world, ticks)
    assert (await auth.resolve_actor(hub=here, terminal=world.terminal, token=token)).operator == world.operator

    await auth.logout(hub=world.hub, actor=actor)
    ticks.now += 0.99
    assert (await auth.resolve_actor(hub=here, terminal=world.terminal, token=token)).operator == world.operator
    ticks.now += 0.01
    with pytest.raises(Unauthorized) as refused:
        await auth.resolve_actor(hub=here, terminal=world.terminal, token=token)
    assert refused.value.code == "SESSION_EXPIRED"


async def test_a_disabled_terminal_is_refused_once_this_process_copy_is_a_second_old(world: World):
    ticks = Ticks()
    here = another_process(world, ticks)
    await admitted(here, signed())
    terminal, sealed = world.db.terminals["POS-7"]
    world.db.terminals["POS-7"] = (replace(terminal, active=False), sealed)

    ticks.now += 1.0
    with pytest.raises(Unauthorized) as refused:
        await admitted(here, signed(nonce="n-2"))
    assert refused.value.code == "UNKNOWN_TERMINAL"


async def test_nonces_stored_on_their_own_at_once_share_one_write_and_a_replay_among_them_is_refused_alone(
        world: World, monkeypatch: pytest.MonkeyPatch):
    writes: list[int] = []
    use_nonces = FakeTenancy.use_nonces

    async def counted(self: FakeTenancy, *, uses: Sequence[NonceUse]) -> list[bool]:
        writes.append(len(uses))
        return await use_nonces(self, uses=uses)

    monkeypatch.setattr(FakeTenancy, "use_nonces", counted)
    hub = world.hub

    def pending(nonce: str) -> PendingNonce:
        return PendingNonce(merchant_id=world.terminal.merchant_id, terminal_id=world.terminal.id, nonce=nonce, at=START)

    await hub.nonce_writes.store(uow=hub.uow, nonce=pending("seen-before"))
    batch = [pending(f"n-{n}") for n in range(5)] + [pending("seen-before")]
    results = await asyncio.gather(*(hub.nonce_writes.store(uow=hub.uow, nonce=n) for n in batch),
                                   return_exceptions=True)
    assert writes == [1, 6]  # the five new ones and the replay went in one write
    assert results[:5] == [None] * 5 and all(n.stored for n in batch)
    assert isinstance(results[5], Unauthorized) and results[5].code == "REPLAYED_REQUEST"
