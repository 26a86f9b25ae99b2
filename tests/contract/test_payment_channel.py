"""The shared PaymentChannel suite: every operation and every sandbox scenario, for each registered channel."""
from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from payhub.kernel.domain.payments import CloseStatus, NativeQr, PayResult, PayStatus, RefundResult, RefundStatus
from payhub.kernel.ports import ChannelRefused, ChannelUnavailable, SignatureInvalid

from .conftest import NOTIFY_URL, ChannelUnderTest, today

_numbers = count(1)


def new_order_no() -> str:
    """A fresh out_trade_no / out_refund_no."""
    return f"T{next(_numbers):08d}"


async def charge(subject: ChannelUnderTest, *, scenario: str = "plain", out_trade_no: str | None = None) -> PayResult:
    """A micropay of the amount that selects `scenario`."""
    return await subject.channel.micropay(
        merchant=subject.merchant, out_trade_no=out_trade_no or new_order_no(), total_fee=subject.amounts[scenario],
        body="水费", auth_code=subject.payment_code, client_ip="10.0.0.8", device_info="POS-01",
        op_user_id="cashier7",
    )


async def open_qr(subject: ChannelUnderTest, *, scenario: str = "plain", out_trade_no: str | None = None) -> NativeQr:
    """A native QR of the amount that selects `scenario`."""
    return await subject.channel.native(
        merchant=subject.merchant, out_trade_no=out_trade_no or new_order_no(), total_fee=subject.amounts[scenario],
        body="电费预存", notify_url=NOTIFY_URL, client_ip="10.0.0.8",
        time_expire=subject.clock.now() + timedelta(minutes=5),
    )


async def query(subject: ChannelUnderTest, out_trade_no: str) -> PayResult:
    """The channel's view of one trade."""
    return await subject.channel.query(merchant=subject.merchant, out_trade_no=out_trade_no)


async def refund(subject: ChannelUnderTest, out_trade_no: str, *, total_fee: int, refund_fee: int,
                 out_refund_no: str | None = None) -> RefundResult:
    """A refund by the cashier; a fresh out_refund_no unless one is given."""
    return await subject.channel.refund(
        merchant=subject.merchant, out_trade_no=out_trade_no, out_refund_no=out_refund_no or new_order_no(),
        total_fee=total_fee, refund_fee=refund_fee, op_user_id="cashier7",
    )


async def paid_by_micropay(subject: ChannelUnderTest, *, scenario: str = "plain") -> PayResult:
    """A micropay that must have been paid at once."""
    result = await charge(subject, scenario=scenario)
    assert result.status is PayStatus.PAID
    return result


# ---- payment code -----------------------------------------------------------------------------------

async def test_micropay_plain_code_is_paid_and_query_agrees(under_test: ChannelUnderTest) -> None:
    result = await charge(under_test)

    assert result.status is PayStatus.PAID
    assert result.total_fee == under_test.amounts["plain"]
    assert result.transaction_id and result.trade_type and result.paid_at == under_test.clock.now()
    queried = await query(under_test, result.out_trade_no)
    assert (queried.status, queried.transaction_id, queried.total_fee, queried.paid_at) == (
        PayStatus.PAID, result.transaction_id, result.total_fee, result.paid_at)


@pytest.mark.parametrize("scenario", ["declined", "insufficient_funds"])
async def test_refused_code_fails_with_the_reason(under_test: ChannelUnderTest, scenario: str) -> None:
    result = await charge(under_test, scenario=scenario)

    assert result.status is PayStatus.FAILED
    assert result.err_code and result.message
    assert (await query(under_test, result.out_trade_no)).status is PayStatus.FAILED


async def test_declined_and_insufficient_funds_give_different_reasons(under_test: ChannelUnderTest) -> None:
    declined = await charge(under_test, scenario="declined")
    short = await charge(under_test, scenario="insufficient_funds")

    assert declined.err_code != short.err_code


async def test_system_error_is_unknown_to_query_at_once_and_the_query_finds_it_paid(
        under_test: ChannelUnderTest) -> None:
    result = await charge(under_test, scenario="system_error")

    assert (result.status, result.query_now) == (PayStatus.UNKNOWN, True)
    assert (await query(under_test, result.out_trade_no)).status is PayStatus.PAID


async def test_slow_answer_is_unknown_and_the_trade_went_through(under_test: ChannelUnderTest) -> None:
    result = await charge(under_test, scenario="slow")

    assert result.status is PayStatus.UNKNOWN
    assert (await query(under_test, result.out_trade_no)).status is PayStatus.PAID


async def test_user_paying_is_pending_until_a_later_query_finds_it_paid(under_test: ChannelUnderTest) -> None:
    result = await charge(under_test, scenario="user_paying_then_paid")

    assert (result.status, result.query_now) == (PayStatus.PENDING, False)
    first, second = await query(under_test, result.out_trade_no), await query(under_test, result.out_trade_no)
    assert (first.status, second.status) == (PayStatus.PENDING, PayStatus.PAID)
    assert second.total_fee == under_test.amounts["user_paying_then_paid"]


async def test_user_paying_forever_is_reversed_and_then_closed(under_test: ChannelUnderTest) -> None:
    result = await charge(under_test, scenario="user_paying_forever")
    for _ in range(3):
        assert (await query(under_test, result.out_trade_no)).status is PayStatus.PENDING

    reversed_ = await under_test.channel.reverse(merchant=under_test.merchant, out_trade_no=result.out_trade_no)

    assert reversed_.status is CloseStatus.CLOSED
    assert (await query(under_test, result.out_trade_no)).status is PayStatus.CLOSED


async def test_reverse_asked_to_retry_says_retry_and_the_retry_closes(under_test: ChannelUnderTest) -> None:
    result = await charge(under_test, scenario="user_paying_forever")
    under_test.spoil_next("reverse", "system_error")

    first = await under_test.channel.reverse(merchant=under_test.merchant, out_trade_no=result.out_trade_no)
    second = await under_test.channel.reverse(merchant=under_test.merchant, out_trade_no=result.out_trade_no)

    assert (first.status, second.status) == (CloseStatus.RETRY, CloseStatus.CLOSED)


async def test_answer_with_a_bad_signature_is_not_trusted(under_test: ChannelUnderTest) -> None:
    under_test.spoil_next("micropay", "bad_signature")

    result = await charge(under_test)

    assert result.status is PayStatus.UNKNOWN
    assert (await query(under_test, result.out_trade_no)).status is PayStatus.PAID


async def test_no_network_is_unknown_for_every_call_with_an_outcome(under_test: ChannelUnderTest) -> None:
    offline, merchant, no = under_test.offline, under_test.merchant, new_order_no()

    paid = await offline.micropay(merchant=merchant, out_trade_no=no, total_fee=100, body="x",
                                  auth_code=under_test.payment_code, client_ip="10.0.0.8")
    queried = await offline.query(merchant=merchant, out_trade_no=no)
    closed = await offline.close(merchant=merchant, out_trade_no=no)
    reversed_ = await offline.reverse(merchant=merchant, out_trade_no=no)
    refunded = await offline.refund(merchant=merchant, out_trade_no=no, out_refund_no=no, total_fee=100,
                                    refund_fee=100, op_user_id="cashier7")
    refund_queried = await offline.refund_query(merchant=merchant, out_refund_no=no)

    assert {paid.status, queried.status} == {PayStatus.UNKNOWN}
    assert {closed.status, reversed_.status} == {CloseStatus.UNKNOWN}
    assert {refunded.status, refund_queried.status} == {RefundStatus.UNKNOWN}


async def test_unknown_trade_and_refund_are_not_found(under_test: ChannelUnderTest) -> None:
    queried = await query(under_test, new_order_no())
    refund_queried = await under_test.channel.refund_query(merchant=under_test.merchant, out_refund_no=new_order_no())

    assert queried.status is PayStatus.NOT_FOUND
    assert refund_queried.status is RefundStatus.NOT_FOUND


# ---- QR ---------------------------------------------------------------------------------------------

async def test_qr_scanned_and_paid_is_notified_and_queried_paid(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test)
    assert qr.code_url
    assert (await query(under_test, qr.out_trade_no)).status is PayStatus.PENDING

    assert under_test.pay_qr(qr.out_trade_no)
    acknowledged = await under_test.deliver_notifies()

    assert acknowledged == 1
    notified = under_test.channel.parse_notify(body=under_test.inbox.bodies[-1], merchant=under_test.merchant)
    assert (notified.status, notified.out_trade_no, notified.total_fee) == (
        PayStatus.PAID, qr.out_trade_no, under_test.amounts["plain"])
    assert (await query(under_test, qr.out_trade_no)).transaction_id == notified.transaction_id


@pytest.mark.parametrize("scenario", ["declined", "insufficient_funds"])
async def test_qr_scan_declined_leaves_the_trade_failed(under_test: ChannelUnderTest, scenario: str) -> None:
    qr = await open_qr(under_test, scenario=scenario)

    assert not under_test.pay_qr(qr.out_trade_no)
    assert (await query(under_test, qr.out_trade_no)).status is PayStatus.FAILED


@pytest.mark.parametrize("scenario", ["system_error", "slow"])
async def test_qr_without_a_clear_answer_is_unavailable_and_a_resend_gets_it(
        under_test: ChannelUnderTest, scenario: str) -> None:
    out_trade_no = new_order_no()
    with pytest.raises(ChannelUnavailable):
        await open_qr(under_test, scenario=scenario, out_trade_no=out_trade_no)

    resent = await open_qr(under_test, scenario=scenario, out_trade_no=out_trade_no)

    assert resent.code_url and resent.out_trade_no == out_trade_no


async def test_qr_for_a_used_order_number_is_refused(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test)

    with pytest.raises(ChannelRefused) as refused:
        await open_qr(under_test, scenario="declined", out_trade_no=qr.out_trade_no)
    assert refused.value.err_code


async def test_qr_without_network_is_unavailable(under_test: ChannelUnderTest) -> None:
    with pytest.raises(ChannelUnavailable):
        await under_test.offline.native(merchant=under_test.merchant, out_trade_no=new_order_no(), total_fee=100,
                                        body="x", notify_url=NOTIFY_URL, client_ip="10.0.0.8")


async def test_closed_qr_cannot_be_paid(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test)

    closed = await under_test.channel.close(merchant=under_test.merchant, out_trade_no=qr.out_trade_no)

    assert closed.status is CloseStatus.CLOSED
    assert not under_test.pay_qr(qr.out_trade_no)
    assert (await query(under_test, qr.out_trade_no)).status is PayStatus.CLOSED


async def test_closing_a_paid_qr_says_already_paid(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test)
    under_test.pay_qr(qr.out_trade_no)

    closed = await under_test.channel.close(merchant=under_test.merchant, out_trade_no=qr.out_trade_no)

    assert closed.status is CloseStatus.ALREADY_PAID
    assert (await query(under_test, qr.out_trade_no)).status is PayStatus.PAID


async def test_close_with_a_system_error_is_unknown(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test)
    under_test.spoil_next("close", "system_error")

    closed = await under_test.channel.close(merchant=under_test.merchant, out_trade_no=qr.out_trade_no)

    assert closed.status is CloseStatus.UNKNOWN


async def test_duplicate_and_stale_notifies_never_unpay_a_paid_trade(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test, scenario="notify_chaos")
    under_test.pay_qr(qr.out_trade_no)

    acknowledged = await under_test.deliver_notifies()

    notified = [under_test.channel.parse_notify(body=body, merchant=under_test.merchant)
                for body in under_test.inbox.bodies]
    assert acknowledged == 3
    assert [n.status for n in notified] == [PayStatus.PAID, PayStatus.PAID, PayStatus.FAILED]
    assert {n.out_trade_no for n in notified} == {qr.out_trade_no}
    hub_view = PayStatus.PENDING
    for n in notified:  # the hub's rule: a paid trade stays paid, whatever arrives later
        hub_view = PayStatus.PAID if PayStatus.PAID in (hub_view, n.status) else n.status
    assert hub_view is PayStatus.PAID
    assert (await query(under_test, qr.out_trade_no)).status is PayStatus.PAID


async def test_micropay_notify_is_not_sent_without_a_notify_url(under_test: ChannelUnderTest) -> None:
    await paid_by_micropay(under_test)

    assert await under_test.deliver_notifies() == 0
    assert under_test.inbox.bodies == []


def test_unsigned_notify_is_refused(under_test: ChannelUnderTest) -> None:
    with pytest.raises(SignatureInvalid):
        under_test.channel.parse_notify(body=b"<xml><out_trade_no>T1</out_trade_no><status>0</status></xml>",
                                        merchant=under_test.merchant)


# ---- refunds ----------------------------------------------------------------------------------------

async def test_full_refund_succeeds_once_per_refund_number(under_test: ChannelUnderTest) -> None:
    paid = await paid_by_micropay(under_test)
    out_refund_no = new_order_no()

    first = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee,
                         out_refund_no=out_refund_no)
    again = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee,
                         out_refund_no=out_refund_no)
    queried = await under_test.channel.refund_query(merchant=under_test.merchant, out_refund_no=out_refund_no)

    assert first.status in (RefundStatus.SUCCESS, RefundStatus.PROCESSING)
    assert first.refund_id and again.refund_id == first.refund_id
    assert (queried.status, queried.refund_fee, queried.refund_id) == (
        RefundStatus.SUCCESS, paid.total_fee, first.refund_id)
    assert (await query(under_test, paid.out_trade_no)).status is PayStatus.PAID


async def test_partial_refunds_add_up_to_the_total_and_no_further(under_test: ChannelUnderTest) -> None:
    paid = await paid_by_micropay(under_test)
    half = paid.total_fee // 2

    first = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=half)
    rest = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee - half)
    over = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=1)

    assert first.status is not RefundStatus.FAILED and rest.status is not RefundStatus.FAILED
    assert over.status is RefundStatus.FAILED and over.err_code


async def test_refund_of_an_unpaid_trade_is_refused(under_test: ChannelUnderTest) -> None:
    qr = await open_qr(under_test)

    refused = await refund(under_test, qr.out_trade_no, total_fee=under_test.amounts["plain"], refund_fee=1)

    assert refused.status is RefundStatus.FAILED


async def test_refund_of_an_unknown_trade_is_not_found(under_test: ChannelUnderTest) -> None:
    result = await refund(under_test, new_order_no(), total_fee=100, refund_fee=100)

    assert result.status is RefundStatus.NOT_FOUND


async def test_failing_refund_fails_every_time(under_test: ChannelUnderTest) -> None:
    paid = await paid_by_micropay(under_test, scenario="refund_fails")

    first = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee)
    second = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee)
    queried = await under_test.channel.refund_query(merchant=under_test.merchant, out_refund_no=first.out_refund_no)

    assert (first.status, second.status, queried.status) == (RefundStatus.FAILED,) * 3


async def test_processing_refund_succeeds_on_a_later_query(under_test: ChannelUnderTest) -> None:
    paid = await paid_by_micropay(under_test, scenario="refund_processing")

    accepted = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee)
    first = await under_test.channel.refund_query(merchant=under_test.merchant, out_refund_no=accepted.out_refund_no)
    second = await under_test.channel.refund_query(merchant=under_test.merchant, out_refund_no=accepted.out_refund_no)

    assert (accepted.status, first.status, second.status) == (
        RefundStatus.PROCESSING, RefundStatus.PROCESSING, RefundStatus.SUCCESS)


async def test_refund_with_a_system_error_is_unknown(under_test: ChannelUnderTest) -> None:
    paid = await paid_by_micropay(under_test)
    under_test.spoil_next("refund", "system_error")

    result = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=paid.total_fee)

    assert result.status is RefundStatus.UNKNOWN


# ---- statement --------------------------------------------------------------------------------------

async def test_statement_lists_the_days_payments_and_refunds(under_test: ChannelUnderTest) -> None:
    paid = await paid_by_micropay(under_test)
    unpaid = await open_qr(under_test)
    refunded = await refund(under_test, paid.out_trade_no, total_fee=paid.total_fee, refund_fee=300)
    assert refunded.status is not RefundStatus.FAILED

    text = await under_test.channel.bill(merchant=under_test.merchant, bill_date=today(under_test.clock))
    refunds_only = await under_test.channel.bill(merchant=under_test.merchant, bill_date=today(under_test.clock),
                                                 bill_type="REFUND")
    other_day = await under_test.channel.bill(merchant=under_test.merchant,
                                              bill_date=today(under_test.clock) - timedelta(days=1))

    lines = under_test.read_bill(text)
    assert {(line.out_trade_no, line.is_refund, line.fen) for line in lines} == {
        (paid.out_trade_no, False, paid.total_fee), (paid.out_trade_no, True, 300)}
    assert unpaid.out_trade_no not in text
    assert [line.is_refund for line in under_test.read_bill(refunds_only)] == [True]
    assert under_test.read_bill(other_day) == []
