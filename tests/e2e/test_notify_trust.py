"""A payment notify is a hint: only one signed by the order's own merchant, naming its amount, moves money by itself.

Anything else (another merchant's key, no amount, another amount, an unreadable body) moves nothing; when it comes
from the right merchant the hub asks the channel, and the channel's answer decides."""
from __future__ import annotations

import pytest

from payhub.integrations.swiftpass.wire import Credentials, encode_xml, new_nonce
from payhub.config import SwiftPassAccount
from tests.support.harness import MCH_ID, MD5_KEY, Harness

OTHER_MCH_ID = "755437000077"
OTHER_KEY = "another-merchants-key"


@pytest.fixture
async def two_merchants(hub: Harness) -> Harness:
    """The hub also holds the SwiftPass account of a second merchant (QB) with its own key."""
    hub.settings.swiftpass.accounts["QB"] = SwiftPassAccount(mch_id=OTHER_MCH_ID, key=OTHER_KEY)
    await hub.stop()
    hub.start()
    await hub.terminal.login("op1", "op1-pass")
    return hub


def _paid_notify(*, order_no: str, mch_id: str = MCH_ID, key: str = MD5_KEY, **fields: str) -> dict[str, str]:
    return Credentials(sign_type="MD5", md5_key=key).seal(fields={
        "version": "2.0", "charset": "UTF-8", "status": "0", "result_code": "0", "pay_result": "0",
        "mch_id": mch_id, "nonce_str": new_nonce(), "out_trade_no": order_no, "transaction_id": "4200000000001",
        "time_end": "20261102100500", **fields,
    })


async def _post(hub: Harness, body: bytes) -> str:
    response = await hub.http.post("/notify/swiftpass", content=body, headers={"Content-Type": "text/xml"})
    assert response.status_code in (200, 400), response.text
    return response.text


async def _qr_order(hub: Harness, amount: int = 1510) -> str:
    order = await hub.place(fee_type="other", account_no="10010001", amount=amount)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    return order["order_no"]


async def _assert_unpaid(hub: Harness, order_no: str) -> None:
    await hub.settle(seconds=6, steps=2)
    assert (await hub.order(order_no))["state"] == "paying"
    assert hub.swiftpass.trades[order_no].state == "NOTPAY"
    assert not [p for p in hub.tcis.postings if p.startswith(order_no)]
    assert await hub.balances() == {}


async def test_a_notify_signed_with_another_merchants_key_pays_nothing(two_merchants: Harness) -> None:
    hub = two_merchants
    order_no = await _qr_order(hub)

    forged = _paid_notify(order_no=order_no, mch_id=OTHER_MCH_ID, key=OTHER_KEY, total_fee="1510")
    assert await _post(hub, encode_xml(fields=forged)) == "fail"

    await _assert_unpaid(hub, order_no)


async def test_a_notify_naming_the_orders_merchant_but_signed_with_another_key_pays_nothing(
    two_merchants: Harness,
) -> None:
    hub = two_merchants
    order_no = await _qr_order(hub)

    forged = _paid_notify(order_no=order_no, mch_id=MCH_ID, key=OTHER_KEY, total_fee="1510")
    assert await _post(hub, encode_xml(fields=forged)) == "fail"

    await _assert_unpaid(hub, order_no)


@pytest.mark.parametrize("amount", [None, "1", "15100"], ids=["no-amount", "less", "more"])
async def test_a_genuine_notify_without_the_orders_amount_is_checked_by_a_query(
    hub: Harness, amount: str | None,
) -> None:
    order_no = await _qr_order(hub)
    fields = {"total_fee": amount} if amount else {}

    assert await _post(hub, encode_xml(fields=_paid_notify(order_no=order_no, **fields))) == "success"

    await _assert_unpaid(hub, order_no)
    assert hub.swiftpass.trades[order_no].queries >= 1


async def test_a_genuine_notify_without_an_amount_for_a_paid_trade_pays_after_the_query(hub: Harness) -> None:
    order_no = await _qr_order(hub)
    hub.swiftpass.pay_native(order_no)
    hub.swiftpass.pending_notifies.clear()

    assert await _post(hub, encode_xml(fields=_paid_notify(order_no=order_no))) == "success"
    await hub.settle(seconds=2)

    assert (await hub.order(order_no))["state"] == "fulfilled"
    assert await hub.balances() == {"channel:swiftpass:clearing": 1510, "orders:unposted": 0,
                                    "biller:tcis:payable": 1510}


async def test_a_notify_for_an_unknown_order_is_refused_cleanly(hub: Harness) -> None:
    forged = _paid_notify(order_no="PH202611021000000000000001", total_fee="1510")
    assert await _post(hub, encode_xml(fields=forged)) == "fail"


async def test_a_notify_with_a_non_ascii_signature_is_refused_cleanly(hub: Harness) -> None:
    order_no = await _qr_order(hub)
    notify = _paid_notify(order_no=order_no, total_fee="1510") | {"sign": "签名签名签名签名"}

    assert await _post(hub, encode_xml(fields=notify)) == "fail"

    await _assert_unpaid(hub, order_no)


def _declared(fields: dict[str, str], encoding: str) -> bytes:
    xml = encode_xml(fields=fields).decode("utf-8")
    return f'<?xml version="1.0" encoding="{encoding}"?>{xml}'.encode(encoding)


async def test_a_genuine_notify_in_gb18030_is_read(hub: Harness) -> None:
    order_no = await _qr_order(hub)
    hub.swiftpass.pay_native(order_no)
    hub.swiftpass.pending_notifies.clear()
    notify = _paid_notify(order_no=order_no, total_fee="1510", attach="燃气费")

    assert await _post(hub, _declared(notify, "GB18030")) == "success"
    await hub.settle(seconds=2)

    assert (await hub.order(order_no))["state"] == "fulfilled"


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0" encoding="GB18030"?><xml><out_trade_no>\x81\x20</out_trade_no></xml>',
    b'<?xml version="1.0" encoding="x-unheard-of"?><xml><out_trade_no>PH1</out_trade_no></xml>',
    b'<?xml version="1.0" encoding="Big5"?><xml><out_trade_no>PH1</out_trade_no></xml>',
], ids=["bad-gb18030-bytes", "unknown-encoding", "other-multibyte"])
async def test_a_notify_in_an_encoding_we_cannot_read_is_refused_cleanly(hub: Harness, body: bytes) -> None:
    assert await _post(hub, body) == "fail"
