"""An online recharge whose status polling runs out of tries goes to manual handling, and staff settle it."""
from __future__ import annotations

from payhub.cards.domain.jobs import CardJobKind
from payhub.integrations.swiftpass.sandbox import Fault
from payhub.integrations.swiftpass.wire import SERVICE_QUERY

from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import online_recharge as card_online_recharge
from tests.cards.conftest import expect
from tests.cards.test_recharge_and_custody import _world
from tests.support.harness import Harness, code_for


async def test_unclear_recharge_is_parked_for_staff_who_credit_it_once_the_channel_confirms(hub: Harness) -> None:
    m, card = await _world(hub)
    paying = await card_online_recharge.start(hub=hub.hub, merchant_id=m, merchant_code="APP", card_no=card,
                                              out_trade_no="W9", amount=2_000, auth_code=code_for(95), merchant="M1",
                                              client_ip="127.0.0.1")
    assert paying["state"] == "paying"
    for _ in range(CardJobKind.CARD_RECHARGE_POLL.max_attempts + 2):
        hub.swiftpass.fail_next(service=SERVICE_QUERY, fault=Fault.SYSTEM_ERROR)
        await hub.settle(seconds=3600)

    parked = await card_online_recharge.get(hub=hub.hub, merchant_id=m, recharge_no=paying["recharge_no"])
    assert parked["state"] == "manual" and "retries exhausted" in parked["failure"]
    with expect("RECHARGE_UNCONFIRMED"):  # the sandbox's user is still entering the password
        await card_online_recharge.resolve_manual(hub=hub.hub, merchant_id=m, recharge_no=paying["recharge_no"])
    done = await card_online_recharge.resolve_manual(hub=hub.hub, merchant_id=m, recharge_no=paying["recharge_no"])
    assert done["state"] == "credited"
    assert (await card_lifecycle.card_info(hub=hub.hub, merchant_id=m, card_no=card))["balance"] == 2_000
