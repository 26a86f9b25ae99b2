"""Online recharge through the SwiftPass sandbox (paid but not creditable → manual), and T+1 custody settlement."""
from __future__ import annotations

from datetime import date

from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.services import custody as card_custody
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from payhub.cards.services import online_recharge as card_online_recharge
from tests.cards.conftest import card_no, expect
from tests.cards.invariants import check_ledger
from tests.support.cards import open_active_card
from tests.support.harness import WECHAT, Harness, code_for


async def _world(hub: Harness) -> tuple[int, str]:
    async with hub.hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(code="M1")
    await card_lifecycle.add_card_merchant(hub=hub.hub, merchant_id=merchant.id, code="APP", name="线上商城")
    card = await open_active_card(hub=hub.hub, merchant_id=merchant.id, card_no=card_no(9), phone="13811112222",
                                  pay_password="123456")
    return merchant.id, card


async def test_online_recharge_paid_then_credited_or_manual(hub: Harness) -> None:
    m, card = await _world(hub)
    done = await card_online_recharge.start(hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card,
                                            out_trade_no="W1", amount=5_000, auth_code=WECHAT, merchant="M1",
                                            client_ip="127.0.0.1")
    assert done["state"] == "credited"
    again = await card_online_recharge.start(hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card,
                                             out_trade_no="W1", amount=5_000, auth_code=WECHAT, merchant="M1",
                                             client_ip="127.0.0.1")
    assert again["recharge_no"] == done["recharge_no"]
    pending = await card_online_recharge.start(hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card,
                                               out_trade_no="W2", amount=3_000, auth_code=code_for(95), merchant="M1",
                                               client_ip="127.0.0.1")
    assert pending["state"] == "paying"
    await card_lifecycle.freeze(hub=hub.hub, merchant_id=m, card_no=card, reason="staff", actor="t")
    await hub.settle(seconds=10, steps=2)
    manual = await card_online_recharge.get(hub=hub.hub, merchant_id=m, recharge_no=pending["recharge_no"])
    assert manual["state"] == "manual" and "CARD_NOT_ACTIVE" in manual["failure"]
    await card_lifecycle.unfreeze(hub=hub.hub, merchant_id=m, card_no=card, actor="sup")
    fixed = await card_online_recharge.resolve_manual(hub=hub.hub, merchant_id=m, recharge_no=pending["recharge_no"])
    assert fixed["state"] == "credited"
    info = await card_lifecycle.card_info(hub=hub.hub, merchant_id=m, card_no=card)
    assert info["balance"] == 8_000


async def test_custody_settles_a_finished_day_once(hub: Harness) -> None:
    m, card = await _world(hub)
    await card_money.recharge(hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card, out_trade_no="C1",
                              amount=700, funding=Funding.CASH, channel=TxChannel.OFFLINE)
    await card_money.recharge(hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card, out_trade_no="S1",
                              amount=300, funding=Funding.SWIFTPASS, channel=TxChannel.ONLINE)
    day = date(2026, 11, 2)
    report = await card_custody.report(hub=hub.hub, merchant_id=m, day=day)
    assert (report["online_amount"], report["offline_amount"], report["settleable"]) == (300, 700, False)
    with expect("NOT_YET_SETTLEABLE"):
        await card_custody.settle(hub=hub.hub, merchant_id=m, day=day, bank_ref="B1", actor="admin")
    hub.clock.advance(days=1)
    await card_custody.settle(hub=hub.hub, merchant_id=m, day=day, bank_ref="B1", actor="admin")
    with expect("ALREADY_SETTLED"):
        await card_custody.settle(hub=hub.hub, merchant_id=m, day=day, bank_ref="B1", actor="admin")
    balances = await check_ledger(hub.container.database)
    assert balances["cards:custody"] == 1_000
    assert sum(v for k, v in balances.items() if k.startswith("cards:collected:")) == 0
