"""Counter payments through payhub.counter.services.counter: placing orders, amounts against arrears, taking the money."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from payhub.counter.domain.bill_payment import prepaid_amount
from payhub.counter.domain.billing import Arrears, Bill
from payhub.kernel.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.orders import OrderState, PayMethod
from payhub.kernel.domain.payments import PayStatus
from payhub.kernel.domain.tenancy import Terminal
from payhub.kernel.ports import ChannelRefused, ChannelUnavailable
from payhub.counter.services import counter
from payhub.counter.services.counter import _due_for
from payhub.kernel.services.order_expiry import expire_unpaid_orders

from .world import (
    CLEARING, GAS_ACCOUNT, NO_PREPAY_ACCOUNT, SETTLED_ACCOUNT, START, UNPOSTED, WECHAT_CODE, World, build_world,
    new_order, paying_by_code, paying_by_qr, placed_order,
)


async def create(world: World, **fields):
    return await counter.create_order(hub=world.hub, actor=world.actor, request=new_order(**fields))


async def pay_code(world: World, order_no: str, auth_code: str = WECHAT_CODE):
    return await counter.pay_by_code(hub=world.hub, actor=world.actor, order_no=order_no, auth_code=auth_code,
                                     client_ip="10.0.0.7")


# --- placing an order ----------------------------------------------------------------------------


async def test_a_new_order_waits_for_payment_and_expires_by_itself(world: World):
    order = await create(world, amount=1000)

    stored = world.order(order.order_no)
    assert stored.state is OrderState.CREATED and stored.amount == 1000
    assert order.order_no.startswith("PH20240520100000") and len(order.order_no) == 26
    assert world.db.jobs == {}  # no job per order: the worker's sweep expires it
    world.clock.advance(minutes=30)
    assert await expire_unpaid_orders(hub=world.hub, limit=10) == 1
    assert world.order(order.order_no).state is OrderState.CLOSED


async def test_the_same_request_again_returns_the_first_order(world: World):
    first = await create(world, terminal_order_no="T-9", amount=1000)
    world.clock.advance(seconds=2)

    again = await create(world, terminal_order_no="T-9", amount=1000)

    assert again.order_no == first.order_no
    assert len(world.db.orders) == 1


async def test_the_same_request_no_with_other_content_is_refused(world: World):
    await create(world, terminal_order_no="T-9", amount=1000)

    with pytest.raises(Conflict) as refused:
        await create(world, terminal_order_no="T-9", amount=1001)

    assert (refused.value.code, refused.value.params) == ("IDEMPOTENCY_CONFLICT", {"key": "T-9"})
    assert len(world.db.orders) == 1


async def test_request_numbers_are_unique_per_terminal_only(world: World):
    first = await create(world, terminal_order_no="T-9")
    other_terminal = replace(world.actor, terminal=Terminal(8, world.merchant.id, "POS-8", "二号柜台"))

    second = await counter.create_order(hub=world.hub, actor=other_terminal, request=new_order("T-9"))

    assert second.order_no != first.order_no and len(world.db.orders) == 2


@pytest.mark.parametrize(("fields", "code"), [
    ({"amount": 0}, "BAD_AMOUNT"), ({"account_no": "  "}, "ACCOUNT_REQUIRED"), ({"fee_type": "coal"}, "UNKNOWN_FEE_TYPE"),
])
async def test_a_bad_request_places_nothing(world: World, fields, code):
    with pytest.raises(InvalidInput) as refused:
        await create(world, **fields)

    assert refused.value.code == code
    assert world.db.orders == {} and world.db.jobs == {}


async def test_an_order_for_arrears_keeps_the_customer_and_the_due_part(world: World):
    order = await create(world, fee_type="gas", account_no=GAS_ACCOUNT, amount=10_000)

    stored = world.order(order.order_no)
    assert (stored.customer_name, stored.details["due_amount"], prepaid_amount(stored)) == ("张*明", 7500, 2500)


async def test_an_unknown_account_is_not_found(world: World):
    with pytest.raises(NotFound) as refused:
        await create(world, fee_type="gas", account_no="NOPE")
    assert refused.value.params == {"account_no": "NOPE"}


async def test_a_silent_biller_places_nothing(world: World):
    world.biller.unavailable = True

    with pytest.raises(Unavailable):
        await create(world, fee_type="gas", account_no=GAS_ACCOUNT)
    assert world.db.orders == {}


async def test_other_fees_have_no_arrears_to_look_up(world: World):
    with pytest.raises(InvalidInput) as refused:
        await counter.lookup_arrears(hub=world.hub, actor=world.actor, fee_type="other", account_no="X")
    assert refused.value.code == "NO_ARREARS_QUERY"


# --- amounts against arrears ---------------------------------------------------------------------

BILLS = (Bill("B1", "2024-03", 3000), Bill("B2", "2024-04", 4500))


def arrears(*bills: Bill, prepay: bool = True) -> Arrears:
    return Arrears("A-1", FeeType.GAS, "张*", "路", bills, prepay_allowed=prepay)


@pytest.mark.parametrize(("amount", "bill_ids", "due"), [
    (3000, ("B1",), 3000), (7500, ("B1", "B2"), 7500), (4500, ("B2",), 4500),
])
def test_chosen_bills_are_paid_exactly(amount, bill_ids, due):
    assert _due_for(arrears=arrears(*BILLS), amount=amount, bill_ids=bill_ids) == due


@pytest.mark.parametrize(("amount", "bill_ids", "code"), [
    (3001, ("B1",), "AMOUNT_MISMATCH"), (7000, ("B1", "B2"), "AMOUNT_MISMATCH"), (3000, ("B9",), "UNKNOWN_BILL"),
])
def test_chosen_bills_refuse_another_amount_or_an_unknown_bill(amount, bill_ids, code):
    with pytest.raises(InvalidInput) as refused:
        _due_for(arrears=arrears(*BILLS), amount=amount, bill_ids=bill_ids)
    assert refused.value.code == code


@pytest.mark.parametrize(("amount", "due"), [(10_000, 7500), (7500, 7500), (2000, 2000)])
def test_with_prepayment_the_due_part_is_at_most_the_arrears(amount, due):
    assert _due_for(arrears=arrears(*BILLS), amount=amount, bill_ids=()) == due


def test_with_prepayment_and_nothing_due_everything_is_prepaid():
    assert _due_for(arrears=arrears(), amount=5000, bill_ids=()) == 0


@pytest.mark.parametrize("amount", [7499, 7501])
def test_without_prepayment_only_the_exact_total_is_taken(amount):
    assert _due_for(arrears=arrears(*BILLS, prepay=False), amount=7500, bill_ids=()) == 7500
    with pytest.raises(InvalidInput) as refused:
        _due_for(arrears=arrears(*BILLS, prepay=False), amount=amount, bill_ids=())
    assert (refused.value.code, refused.value.params) == ("AMOUNT_BELOW_DUE", {"due": "75.00"})


def test_without_prepayment_and_nothing_due_there_is_nothing_to_pay():
    with pytest.raises(InvalidInput) as refused:
        _due_for(arrears=arrears(prepay=False), amount=100, bill_ids=())
    assert refused.value.code == "NOTHING_DUE"


@pytest.mark.parametrize(("account_no", "amount", "code"), [
    (NO_PREPAY_ACCOUNT, 2000, "AMOUNT_BELOW_DUE"), (SETTLED_ACCOUNT, 100, "NOTHING_DUE"),
])
async def test_create_order_applies_the_arrears_rules(world: World, account_no, amount, code):
    with pytest.raises(InvalidInput) as refused:
        await create(world, fee_type="water", account_no=account_no, amount=amount)
    assert refused.value.code == code


# --- payment code (扫付款码) ----------------------------------------------------------------------


async def test_a_paid_payment_code_books_the_money_and_queues_the_posting(world: World):
    order = await paying_by_code(world, PayStatus.PAID)

    stored = world.order(order.order_no)
    assert stored.state is OrderState.PAID and stored.payment.transaction_id == f"T{order.order_no}"
    world.pending(JobKind.FULFIL, order.order_no)
    assert world.entries("payment") == [order.order_no]
    assert (world.balance(CLEARING), world.balance(UNPOSTED)) == (1000, 1000)


async def test_the_payment_code_is_kept_masked_only(world: World):
    order = await paying_by_code(world, PayStatus.PAID)

    stored = world.order(order.order_no)
    assert (stored.payment.auth_code_masked, stored.payment.wallet, stored.payment.method) == ("1345**********6789", "wechat",
                                                                           PayMethod.MICROPAY)
    assert WECHAT_CODE not in repr(stored)


async def test_an_explicitly_refused_payment_code_fails_the_order(world: World):
    order = await paying_by_code(world, PayStatus.FAILED, err_code="NOTENOUGH", message="余额不足")

    stored = world.order(order.order_no)
    assert (stored.state, stored.failure_code, stored.failure_message) == (OrderState.PAY_FAILED, "NOTENOUGH", "余额不足")
    assert world.db.entries == {} and world.job(JobKind.FULFIL, order.order_no) is None


async def test_after_a_refusal_another_code_pays_the_same_order_under_a_new_trade_number(world: World):
    order = await paying_by_code(world, PayStatus.FAILED, err_code="NOTENOUGH", message="余额不足")
    assert (await pay_code(world, order.order_no)).state is OrderState.PAY_FAILED  # the refused code: its refusal
    world.channel.answer("micropay", PayStatus.PAID)

    paid = await pay_code(world, order.order_no, auth_code="280000000000000001")

    assert paid.state is OrderState.PAID and [p.seq for p in paid.payments] == [1, 2]
    assert [call["out_trade_no"] for _, call in world.channel.calls] == [order.order_no, f"{order.order_no}-2"]
    assert paid.payment.transaction_id == f"T{order.order_no}-2" and world.entries("payment") == [order.order_no]


async def test_after_a_refusal_the_customer_may_pay_by_qr_instead(world: World):
    order = await paying_by_code(world, PayStatus.FAILED, err_code="PAYERROR", message="支付被拒绝")

    shown = await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")

    assert (shown.state, shown.payment.method, shown.payment.code_url) == (
        OrderState.PAYING, PayMethod.NATIVE, f"weixin://fake/{order.order_no}-2")
    assert shown.failure_code is None


async def test_a_pending_payment_code_is_polled_after_the_channel_answered():
    world = build_world(channel_latency=3)

    order = await paying_by_code(world, PayStatus.PENDING)

    assert world.order(order.order_no).state is OrderState.PAYING
    assert world.pending(JobKind.POLL_PAYMENT, order.order_no).run_at == START + timedelta(seconds=3 + 5)


@pytest.mark.parametrize("status", [PayStatus.UNKNOWN, PayStatus.NOT_FOUND])
async def test_an_unclear_answer_is_never_a_failure(world: World, status):
    order = await paying_by_code(world, status)

    assert world.order(order.order_no).state is OrderState.PAYING
    world.pending(JobKind.POLL_PAYMENT, order.order_no)


async def test_a_system_error_is_queried_at_once(world: World):
    order = await paying_by_code(world, PayStatus.UNKNOWN, query_now=True)

    assert world.pending(JobKind.POLL_PAYMENT, order.order_no).run_at == START


async def test_a_wrong_paid_amount_goes_to_manual_and_books_nothing(world: World):
    order = await paying_by_code(world, PayStatus.PAID, total_fee=1)

    assert world.order(order.order_no).state is OrderState.MANUAL
    assert world.db.entries == {}


async def test_scanning_the_same_code_again_does_not_charge_twice(world: World):
    order = await paying_by_code(world, PayStatus.PENDING)

    again = await pay_code(world, order.order_no)

    assert again.order_no == order.order_no
    assert world.channel.operations() == ["micropay"]


async def test_another_code_for_a_paying_order_is_refused(world: World):
    order = await paying_by_code(world, PayStatus.PENDING)

    with pytest.raises(Conflict) as refused:
        await pay_code(world, order.order_no, auth_code="280000000000000001")
    assert refused.value.code == "PAYMENT_METHOD_MISMATCH"


async def test_a_bad_payment_code_leaves_the_order_unpaid(world: World):
    order = await placed_order(world)

    with pytest.raises(InvalidInput):
        await pay_code(world, order.order_no, auth_code="12345")
    assert world.order(order.order_no).state is OrderState.CREATED and world.channel.calls == []


async def test_an_expired_order_cannot_be_paid(world: World):
    order = await placed_order(world)
    world.clock.advance(minutes=30)

    with pytest.raises(Conflict) as refused:
        await pay_code(world, order.order_no)
    assert refused.value.code == "ORDER_EXPIRED"


async def test_another_merchants_order_is_not_found(world: World):
    order = await placed_order(world)
    stranger = replace(world.actor, merchant_id=2)

    with pytest.raises(NotFound):
        await counter.get_order(hub=world.hub, actor=stranger, order_no=order.order_no)


# --- collection QR (收款二维码) --------------------------------------------------------------------


async def test_a_qr_order_shows_the_channel_qr_and_is_polled(world: World):
    order = await paying_by_qr(world)

    stored = world.order(order.order_no)
    assert (stored.state, stored.payment.method, stored.payment.code_url) == (
        OrderState.PAYING, PayMethod.NATIVE, f"weixin://fake/{order.order_no}")
    assert stored.payment.deadline == START + timedelta(minutes=5)
    world.pending(JobKind.POLL_PAYMENT, order.order_no)


async def test_asking_for_the_qr_again_returns_the_same_qr(world: World):
    order = await paying_by_qr(world)

    again = await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")

    assert again.payment.code_url == order.payment.code_url
    assert world.channel.operations() == ["native"]


async def test_a_silent_channel_leaves_the_qr_order_paying(world: World):
    order = await placed_order(world)
    world.channel.answer("native", ChannelUnavailable("timeout"))

    with pytest.raises(Unavailable):
        await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")
    assert world.order(order.order_no).state is OrderState.PAYING


async def test_a_refused_qr_fails_the_order(world: World):
    order = await placed_order(world)
    world.channel.answer("native", ChannelRefused("NOAUTH", "商户未开通"))

    with pytest.raises(Conflict) as refused:
        await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")

    assert refused.value.params == {"reason": "商户未开通"}
    assert world.order(order.order_no).state is OrderState.PAY_FAILED


# --- closing -------------------------------------------------------------------------------------


async def close(world: World, order_no: str):
    return await counter.close_order(hub=world.hub, actor=world.actor, order_no=order_no)


async def test_closing_an_unpaid_order_closes_it_at_once(world: World):
    order = await placed_order(world)

    await close(world, order.order_no)

    assert world.order(order.order_no).state is OrderState.CLOSED


async def test_closing_a_qr_order_closes_the_trade_at_the_channel(world: World):
    order = await paying_by_qr(world)

    await close(world, order.order_no)

    assert world.order(order.order_no).state is OrderState.CLOSING
    assert world.pending(JobKind.CLOSE_PAYMENT, order.order_no).run_at == START


async def test_closing_a_payment_code_order_reverses_the_trade(world: World):
    order = await paying_by_code(world, PayStatus.PENDING)

    await close(world, order.order_no)

    assert world.order(order.order_no).state is OrderState.REVERSING
    world.pending(JobKind.REVERSE_PAYMENT, order.order_no)


async def test_a_paid_order_cannot_be_closed(world: World):
    order = await paying_by_code(world, PayStatus.PAID)

    with pytest.raises(Conflict) as refused:
        await close(world, order.order_no)
    assert refused.value.params == {"state": "paid"}


async def test_an_order_never_names_a_bill_twice(world: World):
    with pytest.raises(InvalidInput) as refused:
        await create(world, fee_type="gas", account_no=GAS_ACCOUNT, amount=3000, bill_ids=("B1", "B1"))
    assert refused.value.code == "DUPLICATE_BILL"


async def test_a_payment_code_for_an_order_showing_a_qr_is_refused(world: World):
    order = await paying_by_qr(world)

    with pytest.raises(Conflict) as refused:
        await pay_code(world, order.order_no)
    assert refused.value.code == "PAYMENT_METHOD_MISMATCH"
    assert world.order(order.order_no).payment.method is PayMethod.NATIVE


async def test_waiting_for_a_change_returns_at_once_when_the_order_moved(world: World):
    order = await paying_by_code(world, PayStatus.PAID)

    seen = await counter.wait_for_change(hub=world.hub, actor=world.actor, order_no=order.order_no, seen_version=0,
                                         timeout=30)

    assert seen.state is OrderState.PAID
