"""The SwiftPass sandbox enforces a real gateway's rules and speaks through its control endpoints."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from payhub.integrations.swiftpass.client import SwiftPassChannel
from payhub.integrations.swiftpass.sandbox import SandboxRefusal, Scenario, scenario_of
from payhub.integrations.swiftpass.wire import decode_xml, encode_xml
from payhub.config import SwiftPassAccount, SwiftPassSettings
from payhub.kernel.domain.payments import CloseStatus, NativeQr, PayResult, PayStatus, RefundResult, RefundStatus
from payhub.kernel.ports import ChannelRefused

from .conftest import MCH_ID, MERCHANT, NOTIFY_URL, WECHAT_CODE, SwiftPassRig, swiftpass_rig

async def micropay(
        rig: SwiftPassRig, *, out_trade_no: str, total_fee: int = 1200, auth_code: str = WECHAT_CODE,
) -> PayResult:
    """A micropay for the rig's merchant."""
    return await rig.channel.micropay(merchant=MERCHANT, out_trade_no=out_trade_no, total_fee=total_fee,
                                      body="水费", auth_code=auth_code, client_ip="10.0.0.8")


async def native(rig: SwiftPassRig, *, out_trade_no: str, total_fee: int = 1200, minutes: int = 5) -> NativeQr:
    """A QR for the rig's merchant that expires after `minutes`."""
    return await rig.channel.native(merchant=MERCHANT, out_trade_no=out_trade_no, total_fee=total_fee, body="电费",
                                    notify_url=NOTIFY_URL, client_ip="10.0.0.8",
                                    time_expire=rig.clock.now() + timedelta(minutes=minutes))


async def refund(
        rig: SwiftPassRig, *, out_trade_no: str, out_refund_no: str, refund_fee: int, total_fee: int = 1200,
) -> RefundResult:
    """A refund for the rig's merchant."""
    return await rig.channel.refund(merchant=MERCHANT, out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                                    total_fee=total_fee, refund_fee=refund_fee, op_user_id="cashier7")


def test_payment_code_selects_the_scenario_before_the_amount() -> None:
    assert scenario_of(auth_code="134567890123456791", total_fee=1297) is Scenario.DECLINED
    assert scenario_of(auth_code=WECHAT_CODE, total_fee=1297) is Scenario.REFUND_FAILS
    assert scenario_of(auth_code=None, total_fee=1200) is None


async def test_payment_code_ending_in_a_scenario_declines(swiftpass: SwiftPassRig) -> None:
    result = await micropay(swiftpass, out_trade_no="M-91", auth_code="134567890123456791")

    assert (result.status, result.err_code) == (PayStatus.FAILED, "PAYERROR")


async def test_resent_micropay_returns_the_first_trade(swiftpass: SwiftPassRig) -> None:
    first = await micropay(swiftpass, out_trade_no="M-1")
    again = await micropay(swiftpass, out_trade_no="M-1")

    assert again.status is PayStatus.PAID and again.transaction_id == first.transaction_id
    assert len(swiftpass.sandbox.trades) == 1


async def test_same_order_number_with_other_content_is_refused(swiftpass: SwiftPassRig) -> None:
    first = await micropay(swiftpass, out_trade_no="M-2")

    other_amount = await micropay(swiftpass, out_trade_no="M-2", total_fee=1300)
    with pytest.raises(ChannelRefused) as as_qr:
        await native(swiftpass, out_trade_no="M-2")

    assert (other_amount.status, other_amount.err_code) == (PayStatus.FAILED, "OUT_TRADE_NO_USED")
    assert as_qr.value.err_code == "OUT_TRADE_NO_USED"
    assert swiftpass.sandbox.trades["M-2"].total_fee == 1200
    assert swiftpass.sandbox.trades["M-2"].transaction_id == first.transaction_id


async def test_refund_over_the_paid_amount_is_refused(swiftpass: SwiftPassRig) -> None:
    await micropay(swiftpass, out_trade_no="M-3")
    part = await refund(swiftpass, out_trade_no="M-3", out_refund_no="R-3a", refund_fee=1000)

    over = await refund(swiftpass, out_trade_no="M-3", out_refund_no="R-3b", refund_fee=201)
    wrong_total = await refund(swiftpass, out_trade_no="M-3", out_refund_no="R-3c", refund_fee=1, total_fee=1300)
    exact = await refund(swiftpass, out_trade_no="M-3", out_refund_no="R-3d", refund_fee=200)

    assert part.status is RefundStatus.PROCESSING  # accepted, the answer carries no refund_status
    assert (over.status, over.err_code) == (RefundStatus.FAILED, "REFUND_FEE_INVALID")
    assert wrong_total.status is RefundStatus.FAILED
    assert exact.status is RefundStatus.PROCESSING
    assert swiftpass.sandbox.trades["M-3"].refunded_fee() == 1200


async def test_duplicate_refund_number_returns_the_first_refund(swiftpass: SwiftPassRig) -> None:
    await micropay(swiftpass, out_trade_no="M-4")
    first = await refund(swiftpass, out_trade_no="M-4", out_refund_no="R-4", refund_fee=500)

    again = await refund(swiftpass, out_trade_no="M-4", out_refund_no="R-4", refund_fee=700)

    assert (again.refund_id, again.refund_fee) == (first.refund_id, 500)
    assert swiftpass.sandbox.trades["M-4"].refunded_fee() == 500
    assert [r.out_refund_no for r in swiftpass.sandbox.trades["M-4"].refunds] == ["R-4"]


async def test_refund_number_of_another_trade_is_refused(swiftpass: SwiftPassRig) -> None:
    await micropay(swiftpass, out_trade_no="M-5a")
    await micropay(swiftpass, out_trade_no="M-5b")
    await refund(swiftpass, out_trade_no="M-5a", out_refund_no="R-5", refund_fee=100)

    reused = await refund(swiftpass, out_trade_no="M-5b", out_refund_no="R-5", refund_fee=100)

    assert (reused.status, reused.err_code) == (RefundStatus.FAILED, "OUT_REFUND_NO_USED")


async def test_notify_is_retried_on_schedule_until_success(swiftpass: SwiftPassRig) -> None:
    swiftpass.inbox.replies = ["fail", "Success ", ""]
    await native(swiftpass, out_trade_no="N-1")
    swiftpass.sandbox.pay_native("N-1")
    attempts = []

    for wait in (0, 1, 1, 5, 14, 1, 100):  # the schedule is 0, 2, 5, 15 seconds
        swiftpass.clock.advance(seconds=wait)
        acknowledged = await swiftpass.sandbox.deliver_due_notifies()
        attempts.append((len(swiftpass.inbox.bodies), acknowledged))

    assert attempts == [(1, 0), (1, 0), (2, 0), (3, 0), (3, 0), (4, 1), (4, 0)]
    trade = swiftpass.sandbox.trades["N-1"]
    assert (trade.notifies_sent, trade.notifies_acknowledged) == (4, 1)
    assert swiftpass.sandbox.pending_notifies == []


async def test_notify_gives_up_after_the_last_scheduled_attempt(swiftpass: SwiftPassRig) -> None:
    swiftpass.inbox.replies = ["busy"] * 10
    await native(swiftpass, out_trade_no="N-2")
    swiftpass.sandbox.pay_native("N-2")

    for _ in range(10):
        await swiftpass.sandbox.deliver_due_notifies()
        swiftpass.clock.advance(seconds=60)

    assert swiftpass.sandbox.trades["N-2"].notifies_sent == 4
    assert swiftpass.sandbox.pending_notifies == []


async def test_expired_qr_cannot_be_paid(swiftpass: SwiftPassRig) -> None:
    await native(swiftpass, out_trade_no="Q-1", minutes=2)
    swiftpass.clock.advance(seconds=121)

    with pytest.raises(SandboxRefusal) as refused:
        swiftpass.sandbox.pay_native("Q-1")

    assert refused.value.err_code == "ORDEREXPIRED"
    assert swiftpass.sandbox.trades["Q-1"].state == "NOTPAY"


async def test_qr_can_be_paid_just_before_it_expires(swiftpass: SwiftPassRig) -> None:
    await native(swiftpass, out_trade_no="Q-2", minutes=2)
    swiftpass.clock.advance(seconds=119)

    assert swiftpass.sandbox.pay_native("Q-2", wallet="alipay").state == "SUCCESS"
    assert swiftpass.sandbox.trades["Q-2"].trade_type == "pay.alipay.native"


async def test_reversed_unknown_order_cannot_be_paid_when_it_arrives_late(swiftpass: SwiftPassRig) -> None:
    reversed_ = await swiftpass.channel.reverse(merchant=MERCHANT, out_trade_no="L-1")

    late = await micropay(swiftpass, out_trade_no="L-1")

    assert reversed_.status is CloseStatus.CLOSED
    assert (late.status, late.err_code) == (PayStatus.FAILED, "ORDERREVERSED")


async def test_reversing_a_paid_micropay_closes_it(swiftpass: SwiftPassRig) -> None:
    await micropay(swiftpass, out_trade_no="L-2")

    reversed_ = await swiftpass.channel.reverse(merchant=MERCHANT, out_trade_no="L-2")

    assert reversed_.status is CloseStatus.CLOSED
    assert swiftpass.sandbox.trades["L-2"].state == "REVERSE"


async def test_request_with_a_wrong_key_is_refused_and_changes_nothing(swiftpass: SwiftPassRig) -> None:
    intruder = SwiftPassSettings(base_url="http://sandbox.test",
                                 accounts={MERCHANT: SwiftPassAccount(mch_id=MCH_ID, key="guessed-key")})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=swiftpass.sandbox.app)) as http:
        raw = await http.post("http://sandbox.test/pay/gateway", content=encode_xml(fields={
            "service": "unified.trade.query", "mch_id": MCH_ID, "out_trade_no": "X", "sign": "00"}))
        result = await SwiftPassChannel(settings=intruder, http=http).micropay(
            merchant=MERCHANT, out_trade_no="X-1", total_fee=1200, body="x", auth_code=WECHAT_CODE,
            client_ip="10.0.0.8")

    assert decode_xml(body=raw.content)["status"] != "0"
    assert result.status is PayStatus.UNKNOWN
    assert swiftpass.sandbox.trades == {}


async def test_qr_page_pays_with_the_confirm_button(swiftpass: SwiftPassRig) -> None:
    qr = await native(swiftpass, out_trade_no="H-1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=swiftpass.sandbox.app),
                                 base_url="http://sandbox.test") as browser:
        page = await browser.get(qr.code_url)
        paid_page = await browser.post(qr.code_url, data={"wallet": "unionpay"})
        again_page = await browser.post(qr.code_url, data={"wallet": "wechat"})

    assert qr.code_url == "http://sandbox.test/_sandbox/qr/H-1"
    assert "确认支付" in page.text and "12.00" in page.text
    assert "支付成功" in paid_page.text and "确认支付" not in paid_page.text
    assert "无法支付" in again_page.text
    assert swiftpass.sandbox.trades["H-1"].trade_type == "pay.unionpay.native"


async def test_control_endpoints_list_get_and_pay_trades(swiftpass: SwiftPassRig) -> None:
    await native(swiftpass, out_trade_no="C-1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=swiftpass.sandbox.app),
                                 base_url="http://sandbox.test") as staff:
        listed = await staff.get("/_sandbox/trades")
        paid = await staff.post("/_sandbox/trades/C-1/pay", params={"wallet": "alipay"})
        paid_twice = await staff.post("/_sandbox/trades/C-1/pay")
        missing = await staff.get("/_sandbox/trades/nope")
        delivered = await staff.post("/_sandbox/notifies/deliver")
        fetched = await staff.get("/_sandbox/trades/C-1")

    assert [t["out_trade_no"] for t in listed.json()] == ["C-1"]
    assert (paid.status_code, paid.json()["state"]) == (200, "SUCCESS")
    assert (paid_twice.status_code, paid_twice.json()["code"]) == (409, "ORDERPAID")
    assert missing.status_code == 404
    assert delivered.json() == {"acknowledged": 1}
    assert fetched.json()["notifies_acknowledged"] == 1


async def test_lifespan_delivers_notifies_in_the_background() -> None:
    async with swiftpass_rig() as rig:
        async with rig.sandbox.app.router.lifespan_context(rig.sandbox.app):
            await native(rig, out_trade_no="B-1")
            rig.sandbox.pay_native("B-1")
            for _ in range(40):
                if rig.inbox.bodies:
                    break
                await asyncio.sleep(0.05)

        assert rig.sandbox.trades["B-1"].notifies_acknowledged == 1
