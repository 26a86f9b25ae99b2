"""The TenancyRepository contract: merchants, terminals, operators, sessions, nonces and sign-in counters, for the
fakes and SQL on both engines."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from payhub.kernel.domain.errors import Conflict
from payhub.kernel.domain.sign_in_throttle import Event, Purpose, SignInRules, Tally
from payhub.kernel.domain.tenancy import NonceUse, Operator, OperatorSession, Role, Terminal
from payhub.kernel.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.stores import NOW, add_tenant

RULES = SignInRules()


async def test_merchants_terminals_and_operators_read_back(store: UnitOfWorkFactory) -> None:
    tenant, other = await add_tenant(store), await add_tenant(store, "M2")
    async with store(read_only=True) as uow:
        assert await uow.tenancy.merchant(merchant_id=tenant.merchant.id) == tenant.merchant
        assert await uow.tenancy.merchant(code="M2") == other.merchant
        assert await uow.tenancy.merchant(code="M3") is None
        assert await uow.tenancy.terminal(code="M1-T1") == (
            Terminal(tenant.terminal.id, tenant.merchant.id, "M1-T1", "一号柜台"), "sealed:k")
        assert await uow.tenancy.terminal(code="M3-T1") is None
        li = await uow.tenancy.operator(merchant_id=tenant.merchant.id, username="li")
        by_id = await uow.tenancy.operator(merchant_id=tenant.merchant.id, operator_id=tenant.supervisor.id)
        elsewhere = await uow.tenancy.operator(merchant_id=other.merchant.id, operator_id=tenant.operator.id)
    assert li == (Operator(tenant.operator.id, tenant.merchant.id, "li", "李柜员", Role.OPERATOR), "h-li")
    assert by_id == (tenant.supervisor, "h-wang") and tenant.supervisor.role is Role.SUPERVISOR
    assert elsewhere is None
    assert tenant.merchant.active and tenant.terminal.active and tenant.operator.active


async def test_codes_and_user_names_are_unique_where_the_schema_says(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    async with store() as uow:
        with pytest.raises(Conflict):
            await uow.tenancy.add_merchant(code="M1", name="again", channel="c", biller="b", at=NOW)
        with pytest.raises(Conflict):
            await uow.tenancy.add_terminal(merchant_id=tenant.merchant.id, code="M1-T1", name="again",
                                           key_sealed="k", at=NOW)
        with pytest.raises(Conflict):
            await uow.tenancy.add_operator(merchant_id=tenant.merchant.id, username="li", display_name="again",
                                           role="operator", password_hash="h", at=NOW)
        other = await add_tenant_in(uow)
        await uow.commit()
    async with store(read_only=True) as uow:
        assert (await uow.tenancy.operator(merchant_id=other, username="li")) is not None
        assert (await uow.tenancy.terminal(code="M1-T1")) == (tenant.terminal, "sealed:k")


async def add_tenant_in(uow: UnitOfWork) -> int:
    """A second merchant with an operator named li, in the caller's transaction: names are unique per merchant."""
    merchant = await uow.tenancy.add_merchant(code="M2", name="二号", channel="c", biller="b", at=NOW)
    await uow.tenancy.add_operator(merchant_id=merchant.id, username="li", display_name="李", role="operator",
                                   password_hash="h", at=NOW)
    return merchant.id


async def test_a_new_password_hash_replaces_the_old(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    async with store() as uow:
        await uow.tenancy.set_password_hash(operator_id=tenant.operator.id, password_hash="h-new", at=NOW)
        await uow.commit()
    async with store(read_only=True) as uow:
        assert await uow.tenancy.operator(merchant_id=tenant.merchant.id, username="li") == (tenant.operator, "h-new")


async def test_sessions_are_found_by_token_hash_and_revoked(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    expires = NOW + timedelta(hours=8)
    async with store() as uow:
        await uow.tenancy.add_session(merchant_id=tenant.merchant.id, operator_id=tenant.operator.id,
                                      terminal_id=tenant.terminal.id, token_hash="t1", at=NOW, expires_at=expires)
        await uow.commit()
    async with store(read_only=True) as uow:
        session = await uow.tenancy.session(token_hash="t1")
        assert await uow.tenancy.session(token_hash="t2") is None
    assert session is not None and isinstance(session.id, int)
    assert session == OperatorSession(id=session.id, merchant_id=tenant.merchant.id, operator_id=tenant.operator.id,
                                      terminal_id=tenant.terminal.id, token_hash="t1", created_at=NOW,
                                      expires_at=expires, revoked_at=None)

    async with store() as uow:
        await uow.tenancy.revoke_session(token_hash="t1", at=NOW + timedelta(hours=1))
        await uow.tenancy.revoke_session(token_hash="unknown", at=NOW)
        await uow.commit()
    async with store(read_only=True) as uow:
        revoked = await uow.tenancy.session(token_hash="t1")
    assert revoked is not None and revoked.revoked_at == NOW + timedelta(hours=1)


async def test_a_nonce_is_used_once_per_terminal_and_forgotten_when_old(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    async with store() as uow:
        second = await uow.tenancy.add_terminal(merchant_id=tenant.merchant.id, code="M1-T2", name="二号柜台",
                                                key_sealed="k", at=NOW)
        await uow.commit()

    async def use(terminal_id: int, nonce: str, *, minutes: int = 0, commit: bool = True) -> bool:
        async with store() as uow:
            fresh = await uow.tenancy.use_nonce(merchant_id=tenant.merchant.id, terminal_id=terminal_id, nonce=nonce,
                                                at=NOW + timedelta(minutes=minutes))
            if commit:
                await uow.commit()
        return fresh

    assert await use(tenant.terminal.id, "n-1")
    assert not await use(tenant.terminal.id, "n-1", minutes=1)
    assert await use(second.id, "n-1")
    assert await use(tenant.terminal.id, "n-2", minutes=10, commit=False)
    assert await use(tenant.terminal.id, "n-2", minutes=10)  # the first use was rolled back

    async with store() as uow:
        # in one transaction: a repeat is refused and the transaction goes on
        assert await uow.tenancy.use_nonce(merchant_id=tenant.merchant.id, terminal_id=second.id, nonce="n-3", at=NOW)
        assert not await uow.tenancy.use_nonce(merchant_id=tenant.merchant.id, terminal_id=second.id, nonce="n-3",
                                               at=NOW)
        assert await uow.tenancy.forget_nonces(before=NOW + timedelta(minutes=5)) == 3
        await uow.commit()
    assert await use(tenant.terminal.id, "n-1", minutes=11)
    assert not await use(tenant.terminal.id, "n-2", minutes=11)


async def count(store: UnitOfWorkFactory, merchant_id: int, subject: str, *, minutes: float = 0) -> Tally:
    async with store() as uow:
        tally = await uow.tenancy.count_sign_in(merchant_id=merchant_id, subject=subject,
                                                at=NOW + timedelta(minutes=minutes), rules=RULES)
        await uow.commit()
    return tally


async def lock(store: UnitOfWorkFactory, merchant_id: int, subject: str, *,
               minutes: float = 0) -> tuple[datetime, bool]:
    async with store() as uow:
        locked = await uow.tenancy.lock_sign_in(merchant_id=merchant_id, subject=subject,
                                                at=NOW + timedelta(minutes=minutes), rules=RULES)
        await uow.commit()
    return locked


async def test_sign_in_tries_count_up_in_a_window_and_start_again_after_it(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    assert [(await count(store, merchant_id, "user:li", minutes=n)).failures for n in range(3)] == [1, 2, 3]
    assert (await count(store, merchant_id, "user:wang")).failures == 1
    assert (await count(store, merchant_id, "user:li", minutes=RULES.window_minutes + 1)).failures == 1

    async with store() as uow:
        await uow.tenancy.uncount_sign_in(merchant_id=merchant_id, subject="user:li")
        await uow.tenancy.uncount_sign_in(merchant_id=merchant_id, subject="user:li")  # never below zero
        await uow.tenancy.uncount_sign_in(merchant_id=merchant_id, subject="user:nobody")
        await uow.commit()
    assert (await count(store, merchant_id, "user:li", minutes=RULES.window_minutes + 2)).failures == 1


async def test_a_locked_counter_stays_locked_doubles_its_next_lock_and_clears(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await count(store, merchant_id, "user:li")
    first = NOW + timedelta(minutes=RULES.lockout_minutes)
    assert await lock(store, merchant_id, "user:li") == (first, True)
    assert await lock(store, merchant_id, "user:li", minutes=1) == (first, False)
    assert await count(store, merchant_id, "user:li", minutes=2) == Tally(failures=0, locked_until=first)

    after = RULES.lockout_minutes + 1
    assert await count(store, merchant_id, "user:li", minutes=after) == Tally(failures=1, locked_until=first)
    second = NOW + timedelta(minutes=after + 2 * RULES.lockout_minutes)
    assert await lock(store, merchant_id, "user:li", minutes=after) == (second, True)

    async with store() as uow:
        await uow.tenancy.clear_sign_in(merchant_id=merchant_id, subject="user:li")
        await uow.commit()
    later = after + 3 * RULES.lockout_minutes
    await count(store, merchant_id, "user:li", minutes=later)
    assert await lock(store, merchant_id, "user:li", minutes=later) == (
        NOW + timedelta(minutes=later + RULES.lockout_minutes), True)


async def test_old_unlocked_counters_are_forgotten(store: UnitOfWorkFactory) -> None:
    merchant_id = (await add_tenant(store)).merchant.id
    await count(store, merchant_id, "user:old")
    await count(store, merchant_id, "user:locked")
    await lock(store, merchant_id, "user:locked")
    await count(store, merchant_id, "user:new", minutes=30)
    async with store() as uow:
        assert await uow.tenancy.forget_sign_in_counters(before=NOW + timedelta(minutes=10)) == 1
        await uow.commit()
    assert (await count(store, merchant_id, "user:old", minutes=31)).failures == 1
    assert (await count(store, merchant_id, "user:new", minutes=31)).failures == 2


async def test_nonces_used_together_are_each_refused_on_their_own(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    merchant_id, terminal_id = tenant.merchant.id, tenant.terminal.id
    async with store() as uow:
        assert await uow.tenancy.use_nonce(merchant_id=merchant_id, terminal_id=terminal_id, nonce="old", at=NOW)
        await uow.commit()
    uses = [NonceUse(merchant_id, terminal_id, nonce, NOW) for nonce in ("new", "old", "twice", "twice", "other")]
    async with store(autocommit=True) as uow:
        fresh = await uow.tenancy.use_nonces(uses=uses)
        await uow.commit()
    assert fresh == [True, False, True, False, True]
    async with store() as uow:  # all of them are recorded now
        assert await uow.tenancy.use_nonces(uses=uses[:1] + uses[4:]) == [False, False]


async def test_the_sign_in_audit_forgets_rows_older_than_asked(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    async with store() as uow:
        for days in (0, 100, 200):
            await uow.tenancy.record_sign_in(merchant_id=tenant.merchant.id, terminal_id=tenant.terminal.id,
                                             username="li", purpose=Purpose.LOGIN, event=Event.FAILED,
                                             at=NOW - timedelta(days=days))
        await uow.commit()
    async with store() as uow:
        assert await uow.tenancy.forget_sign_in_audit(before=NOW - timedelta(days=150)) == 1
        await uow.commit()
    async with store() as uow:
        assert await uow.tenancy.forget_sign_in_audit(before=NOW - timedelta(days=50)) == 1  # the 100-day-old one
        assert await uow.tenancy.forget_sign_in_audit(before=NOW - timedelta(days=50)) == 0
