"""The CardRepository and CardMoneyRepository contract, for the fakes (tests/unit/card_fakes.py) and SQL on both
engines."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta

import pytest

from payhub.cards.domain.limits import Limits
from payhub.cards.domain.recharges import RechargeOrder, RechargeState
from payhub.cards.domain.replacements import CardReplacement, ReplacementState
from payhub.cards.domain.risk import ReviewState, Rule, SuspiciousCase
from payhub.cards.domain.rows import (
    CardEvent, CardProgram, CardTx, CardView, CustodySettlement, LimitSetting, LockedCard, Member, PayingMerchant, PoolBatch,
    RechargeSum, Refunded,
)
from payhub.cards.domain.cards import Card, CardKind, CardState, card_account, luhn_digit
from payhub.kernel.domain.errors import Conflict, StaleState
from payhub.cards.domain.funds import FundsAccount
from payhub.kernel.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.stores import NOW, add_tenant

DAY = date(2026, 11, 2)


def card_no(n: int) -> str:
    body = f"880000000{n:04d}"
    return body + luhn_digit(body)


async def add_account(uow: UnitOfWork, merchant_id: int, no: str = "FA1", phone: str = "13900000001") -> FundsAccount:
    return await uow.cards.add_account(merchant_id=merchant_id, account_no=no, holder_name="张三", phone=phone,
                                       password_hash="h-1", at=NOW)


async def add_card(uow: UnitOfWork, merchant_id: int, account_id: int, n: int, *, active: bool = True) -> Card:
    card = Card(merchant_id=merchant_id, card_no=card_no(n), account_id=account_id, kind=CardKind.PHYSICAL,
                created_at=NOW)
    if active:
        card.audit(at=NOW, actor="admin")
        card.activate(at=NOW, actor="admin")
    ledger_id = await uow.ledger.account_id(merchant_id=merchant_id, spec=card_account(card.card_no), at=NOW)
    await uow.cards.add_card(card, ledger_account_id=ledger_id)
    return card


async def issuer(store: UnitOfWorkFactory) -> tuple[int, int]:
    """A tenant with card merchant SHOP; (merchant id, card merchant id)."""
    merchant_id = (await add_tenant(store)).merchant.id
    async with store() as uow:
        shop = await uow.cards.add_card_merchant(merchant_id=merchant_id, code="SHOP", name="一号店", at=NOW)
        await uow.commit()
    return merchant_id, shop


# --- programs, card merchants, limits --------------------------------------------------------------------


async def test_card_merchants_carry_their_issuers_push_url_and_pinless_cap(store: UnitOfWorkFactory) -> None:
    merchant_id, shop = await issuer(store)
    async with store() as uow:
        assert await uow.cards.program(merchant_id=merchant_id) is None
        before = await uow.cards.card_merchant(merchant_id=merchant_id, code="SHOP")
        await uow.cards.set_program(merchant_id=merchant_id, push_url="https://a.example/p", push_secret_sealed="s",
                                    password_tries=3, at=NOW)
        await uow.cards.set_program(merchant_id=merchant_id, push_url="https://b.example/p", push_secret_sealed=None,
                                    password_tries=5, at=NOW + timedelta(hours=1))
        await uow.cards.add_card_merchant(merchant_id=merchant_id, code="A-SHOP", name="A", at=NOW)
        with pytest.raises(Conflict):
            await uow.cards.add_card_merchant(merchant_id=merchant_id, code="SHOP", name="again", at=NOW)
        assert await uow.cards.set_pinless_offline(merchant_id=merchant_id, code="SHOP", max_amount=5000, at=NOW)
        assert not await uow.cards.set_pinless_offline(merchant_id=merchant_id, code="NONE", max_amount=1, at=NOW)
        await uow.commit()

    async with store(read_only=True) as uow:
        program = await uow.cards.program(merchant_id=merchant_id)
        after = await uow.cards.card_merchant(merchant_id=merchant_id, code="SHOP")
        listed = await uow.cards.card_merchants(merchant_id=merchant_id)
        assert await uow.cards.card_merchant(merchant_id=merchant_id, code="NONE") is None
    assert before == PayingMerchant(id=shop, code="SHOP", name="一号店", active=True, pinless_offline_max=None,
                                    push_url=None)
    assert after == replace(before, pinless_offline_max=5000, push_url="https://b.example/p")
    assert program == CardProgram(merchant_id=merchant_id, push_url="https://b.example/p", push_secret_sealed=None,
                                  password_tries=5, created_at=NOW, updated_at=NOW + timedelta(hours=1))
    assert [(m.code, m.merchant_id, m.pinless_offline_max) for m in listed] == [("A-SHOP", merchant_id, None),
                                                                              ("SHOP", merchant_id, 5000)]


async def test_limits_are_set_per_subject_and_read_by_subjects(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        await uow.cards.set_limit(merchant_id=merchant_id, subject="card:*", limits=Limits(100, 1000), at=NOW)
        await uow.cards.set_limit(merchant_id=merchant_id, subject="merchant:SHOP", limits=Limits(None, 500), at=NOW)
        await uow.cards.set_limit(merchant_id=merchant_id, subject="card:*", limits=Limits(200, None), at=NOW)
        await uow.commit()
    async with store(read_only=True) as uow:
        found = await uow.cards.limits(merchant_id=merchant_id, subjects=["card:*", "card:1", "merchant:SHOP"])
        listed = await uow.cards.all_limits(merchant_id=merchant_id)
    assert found == {"card:*": Limits(200, None), "merchant:SHOP": Limits(None, 500)}
    assert listed == [LimitSetting(merchant_id, "card:*", 200, None, NOW, NOW),
                      LimitSetting(merchant_id, "merchant:SHOP", None, 500, NOW, NOW)]


# --- funds accounts and cards ----------------------------------------------------------------------------


async def test_a_funds_account_counts_password_tries_up_to_the_allowed(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        account = await add_account(uow, merchant_id)
        await uow.commit()
    assert (account.wrong_tries, account.password_version, account.account_no) == (0, 1, "FA1")

    async with store() as uow:
        tries = [await uow.cards.take_password_try(account_id=account.id, allowed=2, at=NOW) for _ in range(3)]
        await uow.commit()
    assert [t.wrong_tries if t else None for t in tries] == [1, 2, None]

    async with store() as uow:
        await uow.cards.set_wrong_tries(account_id=account.id, tries=1, at=NOW)
        counted = await uow.cards.account(merchant_id=merchant_id, account_id=account.id)
        assert counted is not None and counted.wrong_tries == 1
        await uow.cards.set_password(account_id=account.id, password_hash="h-2", at=NOW)
        await uow.commit()
    async with store(read_only=True) as uow:
        changed = await uow.cards.account(merchant_id=merchant_id, account_no="FA1", lock=True)
        assert await uow.cards.account(merchant_id=merchant_id + 1000, account_no="FA1") is None
        assert await uow.cards.account(merchant_id=merchant_id, account_no="FA2") is None
    assert changed == FundsAccount(account.id, merchant_id, "FA1", "张三", "13900000001", "h-2", 0, 2, NOW)


async def test_cards_are_added_once_saved_guarded_and_locked_with_their_accounts(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        account = await add_account(uow, merchant_id)
        second = await add_card(uow, merchant_id, account.id, 2, active=False)
        first = await add_card(uow, merchant_id, account.id, 1)
        with pytest.raises(Conflict) as taken:
            await add_card(uow, merchant_id, account.id, 1)
        await uow.commit()
    assert taken.value.code == "CARD_TAKEN"

    async with store(read_only=True) as uow:
        stored = await uow.cards.card(merchant_id=merchant_id, card_no=card_no(1))
        mine = await uow.cards.cards_of(account_id=account.id)
        locked = await uow.cards.lock_cards(merchant_id=merchant_id, card_nos=[card_no(1), card_no(2), card_no(3)])
        assert await uow.cards.card(merchant_id=merchant_id, card_no=card_no(3)) is None
    assert stored == first and stored.state is CardState.ACTIVE and stored.updated_at == NOW
    assert [c.card_no for c in mine] == [card_no(2), card_no(1)] and mine[0] == second
    assert {no: replace(row, id=0, ledger_account_id=0) for no, row in locked.items()} == {
        card_no(1): LockedCard(0, card_no(1), "active", account.id, 0, 1, 0),
        card_no(2): LockedCard(0, card_no(2), "opened", account.id, 0, 1, 0)}
    assert locked[card_no(1)].id == first.id
    assert list(locked) == [card_no(2), card_no(1)]  # in id order

    stale = copy.deepcopy(stored)
    async with store() as uow:
        stored.freeze(reason="挂起", at=NOW + timedelta(minutes=1), actor="admin")
        await uow.cards.save_card(stored)
        stale.report_lost(at=NOW, actor="member")
        with pytest.raises(StaleState):
            await uow.cards.save_card(stale)
        await uow.commit()
    async with store(read_only=True) as uow:
        frozen = await uow.cards.card(merchant_id=merchant_id, card_no=card_no(1))
        history = await uow.orders.history(key=card_no(1))
    assert frozen is not None and frozen.state is CardState.FROZEN and frozen.version == 1
    assert frozen.updated_at == NOW + timedelta(minutes=1)
    assert [(t.from_state, t.to_state) for t in history] == [("opened", "audited"), ("audited", "active"),
                                                             ("active", "frozen")]


async def test_the_card_view_shows_holder_and_balance(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        account = await add_account(uow, merchant_id)
        await add_card(uow, merchant_id, account.id, 1)
        await uow.commit()
    async with store(read_only=True) as uow:
        view = await uow.cards.card_view(merchant_id=merchant_id, card_no=card_no(1))
        assert await uow.cards.card_view(merchant_id=merchant_id, card_no=card_no(2)) is None
    assert view == CardView(card_no=card_no(1), kind="physical", state="active", created_at=NOW, updated_at=NOW,
                            account_no="FA1", holder_name="张三", phone="13900000001", balance=0, ledger_version=0)


async def test_the_pool_hands_out_each_free_number_once_in_order(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    numbers = [card_no(n) for n in (3, 1, 2)]
    async with store() as uow:
        await uow.cards.add_to_pool(merchant_id=merchant_id, card_nos=numbers, kind=CardKind.VIRTUAL, batch="B1",
                                    at=NOW)
        await uow.cards.add_to_pool(merchant_id=merchant_id, card_nos=[card_no(1), card_no(4)],
                                    kind=CardKind.VIRTUAL, batch="B2", at=NOW)
        taken = [await uow.cards.take_from_pool(merchant_id=merchant_id, kind=CardKind.VIRTUAL, at=NOW)
                 for _ in range(2)]
        assert await uow.cards.take_from_pool(merchant_id=merchant_id, kind=CardKind.PHYSICAL, at=NOW) is None
        await uow.commit()
    async with store(read_only=True) as uow:
        stats = await uow.cards.pool_stats(merchant_id=merchant_id)
    assert taken == [card_no(1), card_no(2)]
    assert stats == [PoolBatch(kind="virtual", batch="B1", total=3, taken=2),
                     PoolBatch(kind="virtual", batch="B2", total=1, taken=0)]


async def test_adding_to_the_pool_counts_the_numbers_that_were_new(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        first = await uow.cards.add_to_pool(merchant_id=merchant_id, card_nos=[card_no(1), card_no(2)],
                                            kind=CardKind.VIRTUAL, batch="B1", at=NOW)
        again = await uow.cards.add_to_pool(merchant_id=merchant_id, card_nos=[card_no(2), card_no(3)],
                                            kind=CardKind.VIRTUAL, batch="B2", at=NOW)
    assert (first, again) == (2, 1)


async def test_members_are_unique_per_phone_and_bind_a_card(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        account = await add_account(uow, merchant_id)
        member_id = await uow.cards.add_member(merchant_id=merchant_id, phone="13900000001", name="张三",
                                               account_id=account.id, at=NOW)
        with pytest.raises(Conflict) as exists:
            await uow.cards.add_member(merchant_id=merchant_id, phone="13900000001", name="again",
                                       account_id=account.id, at=NOW)
        await uow.cards.bind_card(member_id=member_id, card_no=card_no(1), at=NOW + timedelta(minutes=1))
        await uow.commit()
    async with store(read_only=True) as uow:
        member = await uow.cards.member(merchant_id=merchant_id, phone="13900000001", lock=True)
        assert await uow.cards.member(merchant_id=merchant_id, phone="13900000002") is None
    assert exists.value.code == "MEMBER_EXISTS"
    assert member == Member(id=member_id, merchant_id=merchant_id, phone="13900000001", name="张三",
                            account_id=account.id, card_no=card_no(1), created_at=NOW,
                            updated_at=NOW + timedelta(minutes=1))


async def test_the_latest_sms_code_of_a_phone_and_purpose_is_read_and_marked(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        for n, purpose in enumerate(["register", "register", "bind"]):
            await uow.cards.add_sms_code(merchant_id=merchant_id, phone="13900000001", purpose=purpose,
                                         code_hash=f"c{n}", expires_at=NOW + timedelta(minutes=5), at=NOW)
        latest = await uow.cards.latest_sms_code(merchant_id=merchant_id, phone="13900000001", purpose="register")
        assert latest is not None
        await uow.cards.mark_sms_code(code_id=latest.id, attempts=2, used_at=NOW)
        await uow.commit()
    async with store(read_only=True) as uow:
        marked = await uow.cards.latest_sms_code(merchant_id=merchant_id, phone="13900000001", purpose="register")
        assert await uow.cards.latest_sms_code(merchant_id=merchant_id, phone="13900000002", purpose="bind") is None
    assert marked == replace(latest, attempts=2, used_at=NOW)
    assert (latest.code_hash, latest.attempts, latest.used_at, latest.expires_at) == (
        "c1", 0, None, NOW + timedelta(minutes=5))


# --- transactions ------------------------------------------------------------------------------------------


def tx_row(merchant_id: int, shop: int, n: int, *, kind: str = "consume", amount: int = 1000, minutes: int = 0,
           card: int = 1, out_no: str | None = None, original: str | None = None, funding: str | None = None,
           shard: int = 0) -> CardTx:
    return CardTx(
        merchant_id=merchant_id, tx_no=f"TX{n:04d}", kind=kind, channel="offline", funding=funding,
        card_merchant_id=shop, card_merchant_code="SHOP", terminal_code="P1", card_no=card_no(card),
        counter_card_no=None, out_no=out_no or f"O{n}", request_hash=f"h{n}", amount=amount, refunded=0,
        balance_after=5000, original_tx_no=original, shard=shard, business_date=DAY,
        created_at=NOW + timedelta(minutes=minutes))


async def test_a_transaction_number_is_claimed_once(store: UnitOfWorkFactory) -> None:
    merchant_id, shop = await issuer(store)
    first = tx_row(merchant_id, shop, 1)
    async with store() as uow:
        assert await uow.card_money.claim_tx(row=first)
        assert not await uow.card_money.claim_tx(row=tx_row(merchant_id, shop, 2, out_no="O1"))
        assert await uow.card_money.claim_tx(row=tx_row(merchant_id, shop, 3, out_no="O1", kind="recharge"))
        inserted = await uow.card_money.claim_txs(rows=[tx_row(merchant_id, shop, 4, out_no="O1"),
                                                        tx_row(merchant_id, shop, 5), tx_row(merchant_id, shop, 6)])
        await uow.commit()
    async with store(read_only=True) as uow:
        found = await uow.card_money.tx_by_out_no(merchant_id=merchant_id, card_merchant_id=shop, kind="consume",
                                                  out_no="O1")
        many = await uow.card_money.txs_by_out_nos(merchant_id=merchant_id, card_merchant_id=shop, kind="consume",
                                                   out_nos=["O1", "O5", "O9"])
        assert await uow.card_money.tx_by_out_no(merchant_id=merchant_id, card_merchant_id=shop, kind="refund",
                                                 out_no="O1") is None
    assert inserted == {"O5", "O6"}
    assert found is not None and isinstance(found.id, int) and replace(found, id=None) == first
    assert sorted(many) == ["O1", "O5"] and replace(many["O5"], id=None) == tx_row(merchant_id, shop, 5)


async def test_refunds_of_a_consume_stay_within_its_amount(store: UnitOfWorkFactory) -> None:
    merchant_id, shop = await issuer(store)
    async with store() as uow:
        await uow.card_money.claim_tx(row=tx_row(merchant_id, shop, 1, amount=1000))
        assert await uow.card_money.add_refunded(tx_no="TX0001", amount=600) == Refunded(amount=1000, refunded=600)
        assert await uow.card_money.add_refunded(tx_no="TX0001", amount=401) is None
        assert await uow.card_money.add_refunded(tx_no="TX0001", amount=400) == Refunded(amount=1000, refunded=1000)
        assert await uow.card_money.add_refunded(tx_no="TX9999", amount=1) is None
        for n in (3, 2):
            await uow.card_money.claim_tx(row=tx_row(merchant_id, shop, n, kind="refund", original="TX0001"))
        await uow.commit()
    async with store(read_only=True) as uow:
        assert [r.tx_no for r in await uow.card_money.refunds_of(tx_no="TX0001")] == ["TX0003", "TX0002"]


async def test_transactions_are_found_by_filters_newest_first_and_counted(store: UnitOfWorkFactory) -> None:
    merchant_id, shop = await issuer(store)
    rows = [
        tx_row(merchant_id, shop, 1, minutes=0),
        tx_row(merchant_id, shop, 2, minutes=10, card=2),
        tx_row(merchant_id, shop, 3, minutes=20, kind="recharge", funding="cash", amount=5000),
        tx_row(merchant_id, shop, 4, minutes=30, kind="recharge", funding="cash", amount=3000, shard=1),
        tx_row(merchant_id, shop, 5, minutes=30, kind="recharge", funding="channel", amount=2000, card=2),
    ]
    async with store() as uow:
        await uow.card_money.claim_txs(rows=rows)
        await uow.commit()

    async def found(limit: int = 50, offset: int = 0, since_minutes: int | None = None,
                    until_minutes: int | None = None, **equal: str | None) -> list[str]:
        since = None if since_minutes is None else NOW + timedelta(minutes=since_minutes)
        until = None if until_minutes is None else NOW + timedelta(minutes=until_minutes)
        async with store(read_only=True) as uow:
            txs = await uow.card_money.find_txs(merchant_id=merchant_id, since=since, until=until, limit=limit,
                                                offset=offset, **equal)
        return [tx.tx_no[-1] for tx in txs]

    assert await found() == ["5", "4", "3", "2", "1"]
    assert await found(limit=2, offset=1) == ["4", "3"]
    assert await found(kind="consume") == ["2", "1"]
    assert await found(card_no=card_no(2), kind=None) == ["5", "2"]
    assert await found(since_minutes=10, until_minutes=30) == ["3", "2"]
    assert await found(out_no="O3", terminal_code="P1", card_merchant_code="SHOP", channel="offline") == ["3"]

    async with store(read_only=True) as uow:
        assert await uow.card_money.recharge_total(merchant_id=merchant_id, since=None, until=None) == (3, 10000)
        assert await uow.card_money.recharge_total(merchant_id=merchant_id, since=NOW + timedelta(minutes=25),
                                                   until=None, card_no=card_no(1)) == (1, 3000)
        assert await uow.card_money.count_recent(merchant_id=merchant_id, card_no=card_no(1), kind="consume",
                                                 since=NOW) == 1
        assert await uow.card_money.count_recent_by_card(
            merchant_id=merchant_id, card_nos=[card_no(1), card_no(2), card_no(3)], kind="recharge",
            since=NOW + timedelta(minutes=5)) == {card_no(1): 2, card_no(2): 1}
        assert await uow.card_money.recharges_by_day(merchant_id=merchant_id, day=DAY) == [
            RechargeSum(funding="cash", shard=0, count=1, amount=5000),
            RechargeSum(funding="cash", shard=1, count=1, amount=3000),
            RechargeSum(funding="channel", shard=0, count=1, amount=2000)]
        assert await uow.card_money.recharges_by_day(merchant_id=merchant_id, day=DAY + timedelta(days=1)) == []


async def test_daily_usage_starts_at_zero_and_adds_up(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        assert await uow.card_money.lock_usage(merchant_id=merchant_id, subjects=["card:1", "merchant:SHOP"],
                                               day=DAY) == {"card:1": 0, "merchant:SHOP": 0}
        await uow.card_money.add_usage(merchant_id=merchant_id, day=DAY, amounts={"card:1": 300, "merchant:SHOP": 0})
        await uow.commit()
    async with store() as uow:
        assert await uow.card_money.lock_usage(merchant_id=merchant_id, subjects=["merchant:SHOP", "card:1"],
                                               day=DAY) == {"card:1": 300, "merchant:SHOP": 0}
        await uow.card_money.add_usage(merchant_id=merchant_id, day=DAY, amounts={"card:1": 200})
        await uow.commit()
    async with store() as uow:
        assert await uow.card_money.lock_usage(merchant_id=merchant_id, subjects=["card:1"], day=DAY) == {"card:1": 500}
        assert await uow.card_money.lock_usage(merchant_id=merchant_id, subjects=["card:1"],
                                               day=DAY + timedelta(days=1)) == {"card:1": 0}


# --- events, cases, recharges, replacements, custody --------------------------------------------------------


async def test_events_wait_until_delivered_and_count_their_attempts(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        await uow.card_money.add_event(merchant_id=merchant_id, event_id="E1", type="card.consume", tx_no="TX1",
                                       payload="{}", at=NOW)
        await uow.card_money.add_events(rows=[
            CardEvent(merchant_id=merchant_id, event_id=f"E{n}", type="card.recharge", tx_no=None, payload="{}",
                      created_at=NOW) for n in (2, 3)])
        await uow.card_money.mark_event(event_id="E2", status="500", delivered_at=None)
        await uow.card_money.mark_event(event_id="E2", status="200", delivered_at=NOW + timedelta(seconds=5))
        await uow.card_money.mark_event(event_id="E2", status="200", delivered_at=NOW + timedelta(seconds=9))
        await uow.commit()
    async with store(read_only=True) as uow:
        delivered = await uow.card_money.event(event_id="E2")
        first = await uow.card_money.event(event_id="E1")
        assert await uow.card_money.event(event_id="E9") is None
        assert [e.event_id for e in await uow.card_money.events(merchant_id=merchant_id, limit=2)] == ["E3", "E2"]
        assert [e.event_id for e in await uow.card_money.events(merchant_id=merchant_id, limit=5,
                                                                undelivered=True)] == ["E3", "E1"]
    assert delivered is not None and (delivered.attempts, delivered.last_status, delivered.delivered_at) == (
        3, "200", NOW + timedelta(seconds=5))
    assert first is not None and isinstance(first.id, int) and replace(first, id=None) == CardEvent(
        merchant_id=merchant_id, event_id="E1", type="card.consume", tx_no="TX1", payload="{}", created_at=NOW,
        delivered_at=None, attempts=0, last_status=None)


def case(merchant_id: int, n: int, *, rule: Rule = Rule.BURST, tx: int = 1) -> SuspiciousCase:
    return SuspiciousCase(merchant_id=merchant_id, case_no=f"SC{n}", rule=rule, tx_no=f"TX{tx}", card_no=card_no(1),
                          detail="5 consumes", created_at=NOW)


async def test_a_suspicious_case_is_recorded_once_per_rule_and_transaction(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        assert await uow.card_money.add_case(case(merchant_id, 1))
        assert not await uow.card_money.add_case(case(merchant_id, 2))
        assert await uow.card_money.add_case(case(merchant_id, 3, rule=Rule.NIGHT))
        await uow.card_money.add_new_cases(cases=[case(merchant_id, 4, tx=2)])
        await uow.commit()
    async with store() as uow:
        stored = await uow.card_money.case(merchant_id=merchant_id, case_no="SC1")
        assert stored is not None and stored.state is ReviewState.OPEN and stored.version == 0
        assert await uow.card_money.case(merchant_id=merchant_id, case_no="SC2") is None
        stale = copy.deepcopy(stored)
        stored.take(at=NOW + timedelta(minutes=1), actor="risk")
        await uow.card_money.save_case(stored)
        stale.take(at=NOW, actor="other")
        with pytest.raises(StaleState):
            await uow.card_money.save_case(stale)
        await uow.commit()
    async with store(read_only=True) as uow:
        listed = await uow.card_money.cases(merchant_id=merchant_id, state=None, limit=10)
        opened = await uow.card_money.cases(merchant_id=merchant_id, state="open", limit=1)
        taken = await uow.card_money.case(merchant_id=merchant_id, case_no="SC1")
    assert [c.case_no for c in listed] == ["SC4", "SC3", "SC1"] and [c.case_no for c in opened] == ["SC4"]
    assert taken is not None and taken.version == 1 and taken.state is not ReviewState.OPEN
    assert taken.updated_at == NOW + timedelta(minutes=1)
    assert isinstance(listed[0].id, int) and replace(listed[0], id=None) == replace(
        case(merchant_id, 4, tx=2), updated_at=NOW, saved_state=ReviewState.OPEN)
    assert listed[2].state is ReviewState.REVIEWING and listed[2].version == 1


def recharge_order(merchant_id: int, n: int, out_trade_no: str = "OT1") -> RechargeOrder:
    return RechargeOrder(merchant_id=merchant_id, recharge_no=f"RC{n}", card_no=card_no(1), merchant_code="SHOP",
                         out_trade_no=out_trade_no, request_hash="h", amount=5000, channel="fakepay", created_at=NOW)


async def test_a_recharge_order_is_unique_per_out_trade_no_and_saved_guarded(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    order = recharge_order(merchant_id, 1)
    async with store() as uow:
        assert await uow.card_money.add_recharge(order)
        assert not await uow.card_money.add_recharge(recharge_order(merchant_id, 2))
        await uow.commit()
    async with store() as uow:
        by_no = await uow.card_money.recharge(recharge_no="RC1")
        by_out = await uow.card_money.recharge(merchant_id=merchant_id, merchant_code="SHOP", out_trade_no="OT1")
        assert await uow.card_money.recharge(recharge_no="RC2") is None
        assert by_no == order and by_out == order and by_no is not None
        stale = copy.deepcopy(by_no)
        by_no.paid(transaction_id="T1", at=NOW + timedelta(minutes=1), actor="notify")
        await uow.card_money.save_recharge(by_no)
        stale.fail(reason="closed", at=NOW, actor="worker")
        with pytest.raises(StaleState):
            await uow.card_money.save_recharge(stale)
        await uow.commit()
    async with store(read_only=True) as uow:
        paid = await uow.card_money.recharge(recharge_no="RC1")
    assert paid is not None and paid.state is RechargeState.PAID and paid.transaction_id == "T1" and paid.version == 1


async def test_card_replacements_are_added_read_and_saved_guarded(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    async with store() as uow:
        account = await add_account(uow, merchant_id)
        member_id = await uow.cards.add_member(merchant_id=merchant_id, phone="13900000001", name="张三",
                                               account_id=account.id, at=NOW)
        replacement = CardReplacement(merchant_id=merchant_id, replacement_no="RP1", member_id=member_id,
                                      old_card_no=card_no(1), new_card_no=card_no(2), created_at=NOW)
        await uow.card_money.add_replacement(replacement)
        await uow.commit()
    async with store() as uow:
        stored = await uow.card_money.replacement(replacement_no="RP1")
        assert await uow.card_money.replacement(replacement_no="RP2") is None
        assert stored == replacement and stored is not None
        stored.done(moved=700, at=NOW + timedelta(minutes=1), actor="worker")
        await uow.card_money.save_replacement(stored)
        with pytest.raises(StaleState):
            await uow.card_money.save_replacement(replacement)
        await uow.commit()
    async with store(read_only=True) as uow:
        done = await uow.card_money.replacement(replacement_no="RP1")
    assert done is not None and done.state is ReplacementState.DONE and done.moved_amount == 700


async def test_a_custody_settlement_is_kept_per_day(store: UnitOfWorkFactory) -> None:
    merchant_id, _ = await issuer(store)
    row = CustodySettlement(merchant_id=merchant_id, business_date=DAY, online_amount=100, offline_amount=200,
                            bank_ref="BK1", settled_by="admin", created_at=NOW)
    async with store() as uow:
        assert await uow.card_money.settlement(merchant_id=merchant_id, day=DAY) is None
        await uow.card_money.add_settlement(row=row)
        await uow.commit()
    async with store(read_only=True) as uow:
        stored = await uow.card_money.settlement(merchant_id=merchant_id, day=DAY)
    assert stored is not None and isinstance(stored.id, int) and replace(stored, id=None) == row
