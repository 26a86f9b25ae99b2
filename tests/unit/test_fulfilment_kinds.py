"""Order kinds: placing an order of any registered kind, the retail kind, and each recovery policy after a refusal."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from payhub.kernel.domain.errors import InvalidInput
from payhub.kernel.domain.fulfilment import FulfilmentStatus, Outcome, Recovery, recovery_after_refusal
from payhub.kernel.domain.jobs import Done, JobKind, RunAgain
from payhub.kernel.domain.ledger import AccountSpec, merchant_sales
from payhub.kernel.domain.orders import Order, OrderState, RecoveryPolicy
from payhub.kernel.domain.payments import PayStatus
from payhub.kernel.domain.receipts import ItemLines
from payhub.kernel.domain.refunds import Refund
from payhub.counter.services import counter
from payhub.kernel.services.fulfilment import fulfil
from payhub.kernel.services.fulfilment_kinds import FulfilmentKinds
from payhub.kernel.services.orders import OrderRequest, place_order
from payhub.counter.services.receipts import payment_receipt

from .world import CLEARING, UNPOSTED, WECHAT_CODE, World

REFUSED_THERE = Outcome(FulfilmentStatus.REFUSED, code="E1", message="表计拒绝")
NEVER_REACHED = Outcome(FulfilmentStatus.REFUSED, code="E0", message="未送达", reached=False)
NOT_USED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class ScriptedKind:
    """A fulfilment kind whose far system answers from a script."""

    recovery: RecoveryPolicy
    answers: list[Outcome]
    retry_tries: int = 2
    kind: str = "scripted"
    calls: list[str] = field(default_factory=list)

    async def fulfil(self, *, order: Order) -> Outcome:
        self.calls.append("fulfil")
        return self.answers.pop(0)

    async def query(self, *, order: Order) -> Outcome:
        self.calls.append("query")
        return Outcome(FulfilmentStatus.NOT_FOUND)

    async def undo(self, *, order: Order, refund: Refund) -> Outcome:
        return Outcome(FulfilmentStatus.DONE)

    def payable(self, *, order: Order) -> AccountSpec:
        return merchant_sales()

    def receipt_lines(self, *, order: Order, locale: str) -> ItemLines:
        return ItemLines()


def registered(world: World, kind: ScriptedKind) -> ScriptedKind:
    kinds = world.hub.fulfillers
    assert isinstance(kinds, FulfilmentKinds)
    kinds.register(kind)
    return kind


async def paid_order_of(world: World, kind: str, *, product: str = "商品", account_no: str = "TK-1") -> Order:
    """An order of kind placed and paid by payment code; its fulfilment job is queued."""
    order = await place_order(hub=world.hub, actor=world.actor, request=OrderRequest(
        terminal_order_no=f"{kind}-1", request_hash="h", kind=kind, product=product, account_no=account_no,
        amount=1000,
    ))
    world.channel.answer("micropay", PayStatus.PAID)
    await counter.pay_by_code(hub=world.hub, actor=world.actor, order_no=order.order_no, auth_code=WECHAT_CODE,
                              client_ip="10.0.0.7")
    world.pending(JobKind.FULFIL, order.order_no)
    return world.order(order.order_no)


async def run_fulfilment(world: World, order_no: str):
    return await fulfil(hub=world.hub, job=world.claim(JobKind.FULFIL, order_no))


@pytest.mark.parametrize(("policy", "outcome", "tries", "expected"), [
    (RecoveryPolicy.REFUND, REFUSED_THERE, 1, Recovery.REFUND),
    (RecoveryPolicy.MANUAL, NEVER_REACHED, 1, Recovery.MANUAL),
    (RecoveryPolicy.REFUND_IF_NEVER_REACHED, NEVER_REACHED, 1, Recovery.REFUND),
    (RecoveryPolicy.REFUND_IF_NEVER_REACHED, REFUSED_THERE, 1, Recovery.MANUAL),
    (RecoveryPolicy.RETRY_THEN_MANUAL, REFUSED_THERE, 2, Recovery.RETRY),
    (RecoveryPolicy.RETRY_THEN_MANUAL, REFUSED_THERE, 1, Recovery.MANUAL),
])
def test_each_policy_decides_what_a_refusal_leads_to(policy, outcome, tries, expected):
    order = Order(merchant_id=1, terminal_id=1, operator_id=1, order_no="PH1", terminal_order_no="T1", request_hash="h",
                  kind="scripted", product="p", account_no="a", customer_name="", amount=1, details={},
                  created_at=NOT_USED, expires_at=NOT_USED, fulfil_attempts=1)

    assert recovery_after_refusal(policy=policy, order=order, outcome=outcome, tries=tries) is expected


async def test_an_unregistered_kind_cannot_be_ordered(world: World):
    with pytest.raises(InvalidInput) as refused:
        await place_order(hub=world.hub, actor=world.actor, request=OrderRequest(
            terminal_order_no="X-1", request_hash="h", kind="teleport", product="p", account_no="a", amount=100))

    assert refused.value.code == "UNKNOWN_ORDER_KIND" and world.db.orders == {}


async def test_a_paid_retail_sale_is_fulfilled_at_once_and_owed_to_the_shop(world: World):
    order = await paid_order_of(world, "retail", product="矿泉水 x2", account_no="TK-0042")

    assert await run_fulfilment(world, order.order_no) == Done()

    stored = world.order(order.order_no)
    assert stored.state is OrderState.FULFILLED and stored.fulfil_attempts == 1
    assert (world.balance(CLEARING), world.balance(UNPOSTED), world.balance(merchant_sales().code)) == (1000, 0, 1000)
    receipt = await payment_receipt(hub=world.hub, actor=world.actor, order_no=order.order_no, copy=False, locale="zh")
    assert [(line.label, line.value) for line in receipt.lines[2:4]] == [("商品", "矿泉水 x2"), ("小票号", "TK-0042")]


async def test_manual_policy_hands_a_refused_fulfilment_to_operations_without_refunding(world: World):
    kind = registered(world, ScriptedKind(RecoveryPolicy.MANUAL, [REFUSED_THERE]))
    order = await paid_order_of(world, kind.kind)

    assert await run_fulfilment(world, order.order_no) == Done()

    stored = world.order(order.order_no)
    assert stored.state is OrderState.MANUAL and "表计拒绝" in (stored.failure_message or "")
    assert world.job(JobKind.REFUND, f"{order.order_no}R1") is None and world.balance(UNPOSTED) == 1000


async def test_retry_then_manual_fulfils_again_and_succeeds_on_the_second_try(world: World):
    kind = registered(world, ScriptedKind(RecoveryPolicy.RETRY_THEN_MANUAL, [REFUSED_THERE, Outcome(FulfilmentStatus.DONE)]))
    order = await paid_order_of(world, kind.kind)

    again = await run_fulfilment(world, order.order_no)
    assert isinstance(again, RunAgain) and world.order(order.order_no).state is OrderState.FULFIL_FAILED
    assert await run_fulfilment(world, order.order_no) == Done()

    stored = world.order(order.order_no)
    assert stored.state is OrderState.FULFILLED and stored.fulfil_attempts == 2
    assert kind.calls == ["fulfil", "fulfil"]  # a re-sale after an explicit refusal: nothing to ask first
    assert [t.to_state for t in world.history(order.order_no)][-4:] == [
        "fulfilling", "fulfil_failed", "fulfilling", "fulfilled"]


async def test_retry_then_manual_goes_to_manual_once_the_tries_are_spent(world: World):
    kind = registered(world, ScriptedKind(RecoveryPolicy.RETRY_THEN_MANUAL, [REFUSED_THERE, REFUSED_THERE]))
    order = await paid_order_of(world, kind.kind)

    await run_fulfilment(world, order.order_no)
    assert await run_fulfilment(world, order.order_no) == Done()

    assert world.order(order.order_no).state is OrderState.MANUAL
    assert world.job(JobKind.REFUND, f"{order.order_no}R1") is None


@pytest.mark.parametrize(("answer", "expected"), [(NEVER_REACHED, OrderState.REFUNDING), (REFUSED_THERE, OrderState.MANUAL)])
async def test_refund_if_never_reached_refunds_only_a_sale_the_far_system_never_took(world: World, answer, expected):
    kind = registered(world, ScriptedKind(RecoveryPolicy.REFUND_IF_NEVER_REACHED, [answer]))
    order = await paid_order_of(world, kind.kind)

    await run_fulfilment(world, order.order_no)

    assert world.order(order.order_no).state is expected
    assert (world.job(JobKind.REFUND, f"{order.order_no}R1") is not None) is (expected is OrderState.REFUNDING)
