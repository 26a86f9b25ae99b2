"""Property test: random sequences of card operations against a plain dict model, invariants after every step."""
from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from payhub.cards.domain.money import Funding, TxChannel, business_date
from payhub.kernel.domain.errors import PayhubError
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import limits as card_limits
from payhub.cards.services import money as card_money
from tests.cards.conftest import PASSWORD, CardWorld, make_world
from tests.cards.invariants import check_ledger

MERCHANTS = ("SHOP1", "SHOP2")
amounts = st.integers(min_value=1, max_value=5_000)


class CardMoneyMachine(RuleBasedStateMachine):
    """The model: balances, card states, consumes with their refunds, today's usage, the limits."""

    db_template: Path
    tmp: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        path = self.tmp / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copy(self.db_template, path)
        self.world: CardWorld = self.run(make_world(f"sqlite+aiosqlite:///{path}"))
        self.cards: list[str] = []
        self.balance: dict[str, int] = {}
        self.active: dict[str, bool] = {}
        self.consumes: dict[str, list] = {}  # out_no -> [card, merchant, amount, refunded]
        self.used: dict[str, int] = {}       # 'card:no' / 'merchant:code' -> today's consumed amount
        self.per_txn: int | None = None
        self.per_day: int | None = None
        self.numbers = 0

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.world.container.close())
        self.loop.close()

    def _no(self) -> str:
        self.numbers += 1
        return f"N{self.numbers}"

    def _attempt(self, call, expected_error: str | None):  # type: ignore[no-untyped-def]
        try:
            result = self.run(call)
        except PayhubError as error:
            assert error.code == expected_error, f"got {error.code}, model expected {expected_error}"
            return None
        assert expected_error is None, f"model expected {expected_error}, the hub booked it"
        return result

    @initialize()
    def first_card(self) -> None:
        self.open_card()

    @precondition(lambda self: len(self.cards) < 4)
    @rule()
    def open_card(self) -> None:
        card = self.run(self.world.open_card(len(self.cards) + 1))
        self.cards.append(card)
        self.balance[card], self.active[card] = 0, True

    @rule(i=st.integers(0, 3), amount=amounts)
    def recharge(self, i: int, amount: int) -> None:
        card = self.cards[i % len(self.cards)]
        call = card_money.recharge(hub=self.world.hub, merchant_id=self.world.merchant_id, merchant_code="SHOP1",
                                   card_no=card, out_trade_no=self._no(), amount=amount, funding=Funding.CASH,
                                   channel=TxChannel.OFFLINE)
        if self._attempt(call, None if self.active[card] else "CARD_NOT_ACTIVE"):
            self.balance[card] += amount

    def _consume_error(self, card: str, merchant: str, amount: int) -> str | None:
        if not self.active[card]:
            return "CARD_NOT_ACTIVE"
        if self.per_txn is not None and amount > self.per_txn:
            return "LIMIT_PER_TXN"
        if self.per_day is not None and self.used.get(card, 0) + amount > self.per_day:
            return "LIMIT_PER_DAY"
        if amount > self.balance[card]:
            return "INSUFFICIENT_BALANCE"
        return None

    @rule(i=st.integers(0, 3), m=st.sampled_from(MERCHANTS), amount=amounts, with_password=st.booleans())
    def consume(self, i: int, m: str, amount: int, with_password: bool) -> None:
        card = self.cards[i % len(self.cards)]
        out_no = self._no()
        call = card_money.consume(hub=self.world.hub, merchant_id=self.world.merchant_id, merchant_code=m, card_no=card,
                                  out_trade_no=out_no, amount=amount, pay_password=PASSWORD if with_password else None,
                                  channel=TxChannel.ONLINE if with_password else TxChannel.OFFLINE)
        if self._attempt(call, self._consume_error(card, m, amount)):
            self.balance[card] -= amount
            self.used[card] = self.used.get(card, 0) + amount
            self.consumes[out_no] = [card, m, amount, 0]

    @precondition(lambda self: self.consumes)
    @rule(data=st.data(), same=st.booleans())
    def retry_consume(self, data: st.DataObject, same: bool) -> None:
        out_no = data.draw(st.sampled_from(sorted(self.consumes)))
        card, m, amount, _ = self.consumes[out_no]
        call = card_money.consume(hub=self.world.hub, merchant_id=self.world.merchant_id, merchant_code=m, card_no=card,
                                  out_trade_no=out_no, amount=amount if same else amount + 1, pay_password=None,
                                  channel=TxChannel.OFFLINE)
        result = self._attempt(call, None if same else "IDEMPOTENCY_CONFLICT")
        assert result is None or result.replayed

    @precondition(lambda self: self.consumes)
    @rule(data=st.data(), amount=amounts)
    def refund(self, data: st.DataObject, amount: int) -> None:
        out_no = data.draw(st.sampled_from(sorted(self.consumes)))
        card, m, paid, refunded = self.consumes[out_no]
        expected = ("CARD_NOT_ACTIVE" if not self.active[card]
                    else "REFUND_EXCEEDS" if refunded + amount > paid else None)
        call = card_money.refund(hub=self.world.hub, merchant_id=self.world.merchant_id, merchant_code=m,
                                 out_trade_no=out_no, out_refund_no=self._no(), amount=amount, channel=TxChannel.ONLINE)
        if self._attempt(call, expected):
            self.consumes[out_no][3] += amount
            self.balance[card] += amount

    @precondition(lambda self: len(self.cards) >= 2)
    @rule(i=st.integers(0, 3), j=st.integers(0, 3), amount=amounts)
    def transfer(self, i: int, j: int, amount: int) -> None:
        a, b = self.cards[i % len(self.cards)], self.cards[j % len(self.cards)]
        if a == b:
            return
        expected = ("CARD_NOT_ACTIVE" if not (self.active[a] and self.active[b])
                    else "INSUFFICIENT_BALANCE" if amount > self.balance[a] else None)
        call = card_money.transfer(hub=self.world.hub, merchant_id=self.world.merchant_id, merchant_code="ONLINE",
                                   from_card=a, to_card=b, out_trade_no=self._no(), amount=amount, pay_password=PASSWORD)
        if self._attempt(call, expected):
            self.balance[a] -= amount
            self.balance[b] += amount

    @rule(i=st.integers(0, 3))
    def freeze_or_unfreeze(self, i: int) -> None:
        card = self.cards[i % len(self.cards)]
        change = card_lifecycle.freeze if self.active[card] else card_lifecycle.unfreeze
        kwargs = {"reason": "test"} if self.active[card] else {}
        self.run(change(hub=self.world.hub, merchant_id=self.world.merchant_id, card_no=card, actor="t", **kwargs))
        self.active[card] = not self.active[card]

    @rule(per_txn=st.none() | st.integers(1, 5_000), per_day=st.none() | st.integers(1, 10_000))
    def set_limits(self, per_txn: int | None, per_day: int | None) -> None:
        self.run(card_limits.set_limit(hub=self.world.hub, merchant_id=self.world.merchant_id, subject="card:*",
                                       per_txn=per_txn, per_day=per_day))
        self.per_txn, self.per_day = per_txn, per_day

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        before = business_date(self.world.clock.now(), "Asia/Shanghai")
        self.world.clock.advance(hours=hours)
        if business_date(self.world.clock.now(), "Asia/Shanghai") != before:
            self.used = {}

    @invariant()
    def books_balance(self) -> None:
        balances = self.run(check_ledger(self.world.container.database))
        for card, expected in self.balance.items():
            assert balances[f"card:{card}"] == expected


def test_card_money_against_a_model(sqlite_template: Path, tmp_path: Path) -> None:
    CardMoneyMachine.db_template, CardMoneyMachine.tmp = sqlite_template, tmp_path
    run_state_machine_as_test(CardMoneyMachine, settings=settings(
        max_examples=20, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))


pytestmark = pytest.mark.timeout(300)
