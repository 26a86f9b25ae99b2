"""Retries that race the first request get the first answer (or "in progress"), never a refusal or a 500."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import journal_entries
from tests.support.harness import WECHAT, Harness, code_for


async def _at_once(hub: Harness, path: str, body: dict | None, times: int) -> list[tuple[int, dict]]:
    answers = await asyncio.gather(*(hub.terminal.request("POST", path, body=body) for _ in range(times)))
    return [(answer.status_code, answer.json()) for answer in answers]


async def _payment_entries(hub: Harness, order_no: str) -> int:
    async with hub.hub.uow(read_only=True) as uow:
        conn = uow.orders._conn  # noqa: SLF001 - counting rows the API does not show
        query = sa.select(sa.func.count()).select_from(journal_entries).where(journal_entries.c.ref == order_no)
        return (await conn.execute(query.where(journal_entries.c.kind == "payment"))).scalar_one()


@pytest.mark.parametrize(("code", "state"), [(WECHAT, "paid"), (code_for(91), "pay_failed")], ids=["paid", "declined"])
async def test_identical_payment_codes_at_once_get_the_same_answer(hub: Harness, code: str, state: str) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")

    answers = await _at_once(hub, f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": code}, times=3)

    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert {body["state"] for _, body in answers} == {state}
    assert len([t for t in hub.swiftpass.trades.values() if t.out_trade_no == order["order_no"]]) == 1
    await hub.run_jobs()
    done = await hub.order(order["order_no"])
    assert [t["to_state"] for t in done["history"]].count("paying") == 1


async def test_a_payment_code_retry_after_the_answer_gets_the_same_answer(hub: Harness) -> None:
    order = await hub.place(fee_type="water", account_no="20010001")
    path = f"/api/v1/orders/{order['order_no']}/pay/code"
    first = await hub.call("POST", path, {"auth_code": code_for(91)})

    again = await hub.call("POST", path, {"auth_code": code_for(91)})

    assert first["state"] == again["state"] == "pay_failed"
    assert again["failure_code"] == first["failure_code"]


async def test_identical_qr_requests_at_once_show_the_same_qr(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=2600)

    answers = await _at_once(hub, f"/api/v1/orders/{order['order_no']}/pay/qr", None, times=3)

    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert {body["state"] for _, body in answers} == {"paying"}
    assert len({body["code_url"] for _, body in answers}) == 1
    assert answers[0][1]["code_url"]
    stored = await hub.order(order["order_no"])
    assert stored["code_url"] == answers[0][1]["code_url"]
    assert [t["to_state"] for t in stored["history"]] == ["paying"]


async def test_identical_paid_notifies_at_once_are_all_acknowledged_and_booked_once(hub: Harness) -> None:
    order = await hub.place(fee_type="other", account_no="10010001", amount=3300)
    await hub.call("POST", f"/api/v1/orders/{order['order_no']}/pay/qr")
    hub.swiftpass.pay_native(order["order_no"])
    notify = hub.swiftpass.pending_notifies[0].body
    hub.swiftpass.pending_notifies.clear()

    answers = await asyncio.gather(*(
        hub.http.post("/notify/swiftpass", content=notify, headers={"Content-Type": "text/xml"}) for _ in range(6)
    ))

    assert [(a.status_code, a.text) for a in answers] == [(200, "success")] * 6
    assert await _payment_entries(hub, order["order_no"]) == 1
    await hub.run_jobs()
    done = await hub.order(order["order_no"])
    assert done["state"] == "fulfilled"
    assert [t["to_state"] for t in done["history"]].count("paid") == 1
    assert await hub.balances() == {"channel:swiftpass:clearing": 3300, "orders:unposted": 0,
                                    "biller:tcis:payable": 3300}
