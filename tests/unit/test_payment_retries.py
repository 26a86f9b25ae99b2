"""A retry of a payment code gets the first attempt's answer; one the hub lost is asked about, then sent again."""
from __future__ import annotations

import pytest

from payhub.kernel.domain.orders import OrderState
from payhub.kernel.domain.payments import PayStatus
from payhub.counter.services import counter

from .world import WECHAT_CODE, World, placed_order


class Died(BaseException):
    """The hub process dying in the middle of a request."""


async def pay_code(world: World, order_no: str):
    return await counter.pay_by_code(hub=world.hub, actor=world.actor, order_no=order_no, auth_code=WECHAT_CODE,
                                     client_ip="10.0.0.7")


async def died_while_paying(world: World):
    order = await placed_order(world)
    world.channel.answer("micropay", Died())
    with pytest.raises(Died):
        await pay_code(world, order.order_no)
    return order


async def test_a_retry_while_the_first_may_still_be_waiting_answers_in_progress_and_asks_nobody(world: World):
    order = await died_while_paying(world)

    again = await pay_code(world, order.order_no)

    assert again.state is OrderState.PAYING
    assert world.channel.operations() == ["micropay"]


async def test_a_retry_once_the_first_must_be_over_sends_a_code_the_channel_never_got(world: World):
    order = await died_while_paying(world)
    world.clock.advance(seconds=world.hub.policy.channel_answer_seconds + 2)
    world.channel.answer("query", PayStatus.NOT_FOUND)
    world.channel.answer("micropay", PayStatus.PAID)

    again = await pay_code(world, order.order_no)

    assert again.state is OrderState.PAID
    assert world.channel.operations() == ["micropay", "query", "micropay"]
    assert [call["out_trade_no"] for _, call in world.channel.calls] == [order.order_no] * 3


async def test_a_retry_once_the_first_must_be_over_takes_what_the_channel_knows(world: World):
    order = await died_while_paying(world)
    world.clock.advance(seconds=world.hub.policy.channel_answer_seconds + 2)
    world.channel.answer("query", PayStatus.PAID)

    again = await pay_code(world, order.order_no)

    assert again.state is OrderState.PAID
    assert world.channel.operations() == ["micropay", "query"]


async def test_a_code_is_never_sent_again_after_its_deadline(world: World):
    order = await died_while_paying(world)
    world.clock.advance(seconds=world.hub.policy.micropay_poll_cap_seconds + 1)
    world.channel.answer("query", PayStatus.NOT_FOUND)

    again = await pay_code(world, order.order_no)

    assert again.state is OrderState.PAYING
    assert world.channel.operations() == ["micropay", "query"]


async def test_a_retry_after_a_refusal_gets_the_refusal(world: World):
    order = await placed_order(world)
    world.channel.answer("micropay", PayStatus.FAILED, err_code="NOTENOUGH", message="余额不足")
    first = await pay_code(world, order.order_no)

    again = await pay_code(world, order.order_no)

    assert first.state is again.state is OrderState.PAY_FAILED
    assert again.failure_code == "NOTENOUGH"
    assert world.channel.operations() == ["micropay"]
