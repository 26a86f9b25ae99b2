"""A notify moves money by itself only when it is signed as the order's merchant and names the order's amount."""
from __future__ import annotations

from datetime import timedelta

import pytest

from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.orders import OrderState
from payhub.kernel.domain.payments import PayResult, PayStatus
from payhub.counter.services import counter
from payhub.kernel.services.notifications import accept_notify
from payhub.kernel.services.payment_jobs import poll_payment

from .world import CLEARING, START, World, paying_by_code, paying_by_qr


async def notify(world: World, result: PayResult, *, merchant: str = "shop-1") -> bool:
    body = world.channel.signed_notify(result, merchant=merchant)
    return await accept_notify(hub=world.hub, channel=world.channel.name, body=body)


async def test_a_notify_signed_as_another_merchant_is_refused_and_moves_nothing(world: World):
    order = await paying_by_qr(world)

    assert not await notify(world, PayResult(PayStatus.PAID, order.order_no, total_fee=1000), merchant="shop-2")

    assert world.order(order.order_no).state is OrderState.PAYING
    assert world.entries("payment") == []


@pytest.mark.parametrize("total_fee", [None, 1, 1001])
async def test_a_paid_notify_without_the_orders_amount_only_makes_the_hub_ask(world: World, total_fee: int | None):
    order = await paying_by_qr(world)

    assert await notify(world, PayResult(PayStatus.PAID, order.order_no, total_fee=total_fee))

    assert world.order(order.order_no).state is OrderState.PAYING
    assert world.entries("payment") == []
    assert world.pending(JobKind.POLL_PAYMENT, order.order_no).run_at == START + timedelta(seconds=1)


async def test_the_query_a_doubtful_notify_caused_decides(world: World):
    order = await paying_by_qr(world)
    await notify(world, PayResult(PayStatus.PAID, order.order_no))
    world.clock.advance(seconds=1)
    world.channel.answer("query", PayStatus.PAID, total_fee=1000)

    await poll_payment(hub=world.hub, job=world.claim(JobKind.POLL_PAYMENT, order.order_no))

    assert world.order(order.order_no).state is OrderState.PAID
    assert world.entries("payment") == [order.order_no] and world.balance(CLEARING) == 1000


async def test_a_notify_for_an_order_s_second_payment_finds_the_order(world: World):
    order = await paying_by_code(world, PayStatus.FAILED, err_code="PAYERROR", message="支付被拒绝")
    await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")

    assert await notify(world, PayResult(PayStatus.PAID, f"{order.order_no}-2", total_fee=1000))

    assert world.order(order.order_no).state is OrderState.PAID
    assert world.entries("payment") == [order.order_no]


async def test_a_paid_notify_naming_an_earlier_payment_only_makes_the_hub_ask_and_alerts_operations(
        world: World, caplog: pytest.LogCaptureFixture):
    order = await paying_by_code(world, PayStatus.FAILED, err_code="PAYERROR", message="支付被拒绝")
    await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")

    assert await notify(world, PayResult(PayStatus.PAID, order.order_no, total_fee=1000))

    assert world.order(order.order_no).state is OrderState.PAYING
    world.pending(JobKind.POLL_PAYMENT, order.order_no)
    [alert] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert alert.getMessage() == "paid notify for a superseded payment"
    assert (alert.order_no, alert.out_trade_no) == (order.order_no, order.order_no)
