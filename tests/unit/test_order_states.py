"""The order's state machine: its table, the named methods that move it, and what each move records."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from payhub.kernel.domain.errors import Conflict, IllegalTransition
from payhub.counter.domain.bill_payment import posting_no, prepaid_amount
from payhub.kernel.domain.orders import (
    ORDER_TRANSITIONS, Order, OrderState, Payment, PaymentStatus, PayMethod, order_no_of_trade, trade_no,
)
from payhub.kernel.domain.payments import PayResult, PayStatus

from .machines import allowed_moves, assert_moved_once, assert_table_covers, refused, refused_moves

AT = datetime(2024, 5, 20, 2, 0, tzinfo=UTC)
S = OrderState


def order_in(state: OrderState, *, amount: int = 1000, due_amount: int | None = None, **fields) -> Order:
    """An order in state; past created it has one payment (by QR) under way."""
    payments = () if state is S.CREATED else (
        Payment(seq=1, channel="fakepay", method=PayMethod.NATIVE, amount=amount, started_at=AT, deadline=AT),)
    return Order(
        merchant_id=1, terminal_id=7, operator_id=11, order_no="PH2024052010000000000001", terminal_order_no="T-1",
        request_hash="h", kind="biller_posting", product="gas", account_no="G-100", customer_name="张*明",
        amount=amount, details={"biller": "fakebill", "due_amount": amount if due_amount is None else due_amount},
        created_at=AT, expires_at=AT + timedelta(minutes=30), state=state, saved_state=state, payments=payments,
        **fields,
    )


def paid(order: Order, total_fee: int | None = None) -> PayResult:
    return PayResult(PayStatus.PAID, order.order_no, transaction_id="T1", total_fee=total_fee or order.amount)


# The named method that asks for each target state (CREATED is only ever the start).
MOVE_TO: dict[OrderState, Callable[[Order], object]] = {
    S.PAYING: lambda o: o.start_payment(channel="fakepay", method=PayMethod.NATIVE, deadline=AT, at=AT, actor="op"),
    S.PAID: lambda o: o.confirm_paid(result=paid(o), at=AT, actor="op"),
    S.PAY_FAILED: lambda o: o.fail_payment(code="DECLINED", message="declined", at=AT, actor="op"),
    S.CLOSING: lambda o: o.begin_close(reason="expired", at=AT, actor="op"),
    S.REVERSING: lambda o: o.begin_reverse(reason="timeout", at=AT, actor="op"),
    S.CLOSED: lambda o: o.mark_closed(reason="closed", at=AT, actor="op"),
    S.FULFILLING: lambda o: o.begin_fulfilment(reason="fulfil", at=AT, actor="op"),
    S.FULFILLED: lambda o: o.mark_fulfilled(ref="B1", fulfilled_at=AT, actor="op", at=AT),
    S.FULFIL_FAILED: lambda o: o.fulfilment_refused(code="R1", message="refused", at=AT, actor="op"),
    S.REFUNDING: lambda o: o.begin_refund(reason="refund", at=AT, actor="op"),
    S.REFUNDED: lambda o: o.record_refunded(amount=o.refund_reserved or o.amount, at=AT, actor="op"),
    S.MANUAL: lambda o: o.to_manual(reason="check", at=AT, actor="op"),
}
ALLOWED = allowed_moves(ORDER_TRANSITIONS)
REFUSED = refused_moves(ORDER_TRANSITIONS, MOVE_TO)


def test_the_table_names_every_state_and_only_states():
    assert_table_covers(ORDER_TRANSITIONS, OrderState)


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=str)
def test_every_allowed_move_is_made_by_its_named_method(source, target):
    order = order_in(source, refund_reserved=1000)

    MOVE_TO[target](order)

    assert_moved_once(order, source=source, target=target, actor="op", at=AT)
    assert order.aggregate == "订单" and order.key == order.order_no


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=str)
def test_every_move_outside_the_table_is_refused(source, target):
    order = order_in(source)
    before = dataclasses.replace(order)

    error = refused(order, MOVE_TO[target])

    assert error.code == "ILLEGAL_TRANSITION"
    assert error.params == {"aggregate": "订单", "current": str(source), "target": str(target)}
    assert order == before


@pytest.mark.parametrize("source", [S.PAID, S.CLOSED])
def test_a_refused_refund_record_leaves_the_order_unchanged(source):
    order = order_in(source)
    before = dataclasses.replace(order)

    with pytest.raises(IllegalTransition):
        order.record_refunded(amount=order.amount, at=AT, actor="op")

    assert order == before


def test_start_payment_remembers_how_the_customer_pays():
    order = order_in(S.CREATED)
    deadline = AT + timedelta(seconds=45)

    order.start_payment(channel="fakepay", method=PayMethod.MICROPAY, deadline=deadline, at=AT, actor="op",
                        auth_code_masked="1345**********6789", wallet="wechat")

    assert order.payments == (Payment(
        seq=1, channel="fakepay", method=PayMethod.MICROPAY, amount=order.amount, started_at=AT, deadline=deadline,
        auth_code_masked="1345**********6789", wallet="wechat"),)


def test_keep_qr_keeps_the_first_qr_only():
    order = order_in(S.PAYING)

    assert order.keep_qr(code_url="weixin://first") is True
    assert order.keep_qr(code_url="weixin://second") is False

    assert order.payment is not None and order.payment.code_url == "weixin://first"


@pytest.mark.parametrize("source", [S.PAYING, S.CLOSING])
def test_confirm_paid_with_the_order_amount_moves_to_paid_and_keeps_the_trade(source):
    order = order_in(source)

    assert order.confirm_paid(result=paid(order), at=AT, actor="channel") is True

    assert order.state is S.PAID
    assert order.paid_payment is not None
    assert (order.paid_payment.status, order.paid_payment.transaction_id, order.paid_payment.paid_at) == (
        PaymentStatus.PAID, "T1", AT)


@pytest.mark.parametrize("source", [S.PAYING, S.CLOSING])
@pytest.mark.parametrize("total_fee", [999, 1001])
def test_confirm_paid_with_a_wrong_amount_goes_to_manual(source, total_fee):
    order = order_in(source, amount=1000)

    assert order.confirm_paid(result=paid(order, total_fee), at=AT, actor="channel") is False

    assert order.state is S.MANUAL
    assert order.failure_code == "MANUAL"
    assert str(total_fee) in order.transitions[-1].reason
    assert order.paid_payment is None


def test_confirm_paid_without_an_amount_trusts_the_explicit_success():
    order = order_in(S.PAYING)

    assert order.confirm_paid(result=PayResult(PayStatus.PAID, order.order_no), at=AT, actor="channel") is True
    assert order.state is S.PAID


def test_begin_refund_reserves_the_whole_amount():
    order = order_in(S.FULFIL_FAILED, amount=2500)

    order.begin_refund(reason="refund", at=AT, actor="biller")

    assert order.refund_reserved == 2500


def test_reserve_refund_holds_part_of_a_fulfilled_order():
    order = order_in(S.FULFILLED, amount=1000)

    order.reserve_refund(amount=400)
    order.reserve_refund(amount=600)

    assert order.refund_reserved == 1000 and order.refundable == 0


@pytest.mark.parametrize(("held", "asked"), [(0, 1001), (400, 601), (1000, 1)])
def test_reserve_refund_over_the_refundable_amount_is_refused(held, asked):
    order = order_in(S.FULFILLED, amount=1000, refund_reserved=held)

    with pytest.raises(Conflict) as refused:
        order.reserve_refund(amount=asked)

    assert refused.value.code == "REFUND_EXCEEDS"
    assert refused.value.params == {"refundable": 1000 - held}
    assert order.refund_reserved == held


@pytest.mark.parametrize("state", sorted(set(OrderState) - {S.FULFILLED}))
def test_only_a_fulfilled_order_can_be_refunded_by_request(state):
    order = order_in(state)

    assert order.refundable == 0
    with pytest.raises(Conflict) as refused:
        order.reserve_refund(amount=1)
    assert refused.value.code == "ORDER_NOT_REFUNDABLE"


def test_release_refund_gives_a_hold_back():
    order = order_in(S.FULFILLED, amount=1000, refund_reserved=700)

    order.release_refund(amount=300)

    assert order.refundable == 600


@pytest.mark.parametrize("source", [S.FULFILLED, S.REFUNDING])
def test_record_refunded_moves_to_refunded_only_when_all_money_is_back(source):
    order = order_in(source, amount=1000, refund_reserved=1000)

    order.record_refunded(amount=300, at=AT, actor="worker")
    assert order.state is source and order.refunded_amount == 300

    order.record_refunded(amount=700, at=AT, actor="worker")
    assert order.state is S.REFUNDED and order.refunded_amount == 1000


def test_posting_no_is_stable_across_moves_and_copies():
    order = order_in(S.PAID)
    first = posting_no(order)

    order.begin_fulfilment(reason="post", at=AT, actor="biller")

    assert posting_no(order) == first == posting_no(dataclasses.replace(order)) == f"{order.order_no}P"


def test_prepaid_amount_is_what_exceeds_the_arrears():
    assert prepaid_amount(order_in(S.CREATED, amount=1000)) == 0
    assert prepaid_amount(order_in(S.CREATED, amount=1000, due_amount=750)) == 250


@pytest.mark.parametrize("state", [S.PAY_FAILED, S.CLOSED])
def test_a_payment_ends_with_the_order_s_payment_outcome(state):
    order = order_in(S.PAYING)

    MOVE_TO[state](order) if state is S.PAY_FAILED else (order.begin_close(reason="x", at=AT, actor="op"),
                                                          order.mark_closed(reason="x", at=AT, actor="op"))

    assert order.payment is not None
    assert order.payment.status is (PaymentStatus.FAILED if state is S.PAY_FAILED else PaymentStatus.CLOSED)


def test_more_refunded_than_reserved_is_refused_and_changes_nothing():
    order = order_in(S.FULFILLED, amount=1000, refund_reserved=300)
    before = dataclasses.replace(order)

    with pytest.raises(IllegalTransition):
        order.record_refunded(amount=301, at=AT, actor="worker")

    assert order == before


def test_a_refused_payment_can_be_followed_by_another_under_its_own_trade_number():
    order = order_in(S.PAY_FAILED, failure_code="NOTENOUGH", failure_message="余额不足")
    order.payments = (dataclasses.replace(order.payments[0], status=PaymentStatus.FAILED),)

    order.start_payment(channel="fakepay", method=PayMethod.MICROPAY, deadline=AT, at=AT, actor="op",
                        auth_code_masked="1345**********6789", wallet="wechat")

    assert_moved_once(order, source=S.PAY_FAILED, target=S.PAYING, actor="op", at=AT)
    assert [(p.seq, p.method, p.status) for p in order.payments] == [
        (1, PayMethod.NATIVE, PaymentStatus.FAILED), (2, PayMethod.MICROPAY, PaymentStatus.OPEN)]
    assert (order.failure_code, order.failure_message) == (None, None)
    assert order.out_trade_no == f"{order.order_no}-2"
    assert len(order.out_trade_no) <= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", order.out_trade_no)


def test_trade_numbers_name_their_order():
    assert trade_no(order_no="PH2024052010000000000001", seq=1) == "PH2024052010000000000001"
    assert [order_no_of_trade(trade_no(order_no="PH2024052010000000000001", seq=seq)) for seq in (1, 2, 12)] == [
        "PH2024052010000000000001"] * 3


def test_a_qr_closed_at_its_deadline_says_it_expired():
    order = order_in(S.PAYING)

    order.expire_qr(at=AT, actor="worker")

    assert_moved_once(order, source=S.PAYING, target=S.CLOSING, actor="worker", at=AT)
    assert (order.failure_code, order.failure_message) == ("QR_EXPIRED", "二维码已过期，订单已关闭")
