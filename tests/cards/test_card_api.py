"""The card API end to end: set-up, member flows with SMS, money, pushes to the receiver sandbox, bad input."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from payhub.integrations.push.client import HttpNotifier
from payhub.integrations.push.targets import PushTargets
from payhub.integrations.push.sandbox import PushReceiver
from payhub.kernel.services import admin
from tests.cards.conftest import card_no
from tests.cards.invariants import check_ledger
from tests.support.harness import Crash, Harness

SECRET = "receiver-secret-0123456789"
PHONE = "13912345678"


class CrashAfterResponse(httpx.AsyncBaseTransport):
    """Delivers the request, then 'kills the process' once, before the dispatcher can record the delivery."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.armed = inner, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.armed:
            self.armed = False
            raise Crash("after push")
        return response


def _route_pushes(hub: Harness, transport: httpx.AsyncBaseTransport) -> None:
    """The hub's pushes go to the in-process receiver (again after a restart)."""
    push_http = httpx.AsyncClient(transport=transport)
    hub.container.http_clients.append(push_http)
    targets = PushTargets.from_settings(demo=True, allowed=["receiver.test"])  # the test receiver's name, configured
    hub.container.hub = dataclasses.replace(hub.hub, notifier=HttpNotifier(http=push_http, targets=targets))


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[tuple[Harness, PushReceiver, CrashAfterResponse]]:
    hub = Harness(db_url)
    await hub.seed()
    await admin.create_operator(hub=hub.hub, merchant_code="M1", username="adm", display_name="管理员", role="admin",
                                password="adm-pass")
    await hub.terminal.login("adm", "adm-pass")
    receiver = PushReceiver(secret=SECRET)
    transport = CrashAfterResponse(httpx.ASGITransport(app=receiver.app))
    _route_pushes(hub, transport)
    await hub.call("PUT", "/api/v1/cards/program", {"push_url": "http://receiver.test/push", "push_secret": SECRET})
    for code in ("SHOP1", "ONLINE"):
        await hub.call("POST", "/api/v1/cards/merchants", {"code": code, "name": code}, status=201)
    yield hub, receiver, transport
    await hub.stop()


def _sms_code(hub: Harness) -> str:
    return re.search(r"验证码(\d{6})", hub.hub.sms.last_to(PHONE)).group(1)


async def test_member_cards_money_and_pushes(api) -> None:  # type: ignore[no-untyped-def]
    hub, receiver, _ = api
    await hub.call("POST", "/api/v1/cards/pool", {"prefix": "8866", "count": 3, "kind": "virtual"}, status=201)
    await hub.call("POST", "/api/v1/cards/members/sms-codes", {"phone": PHONE, "purpose": "register"})
    wrong = await hub.call("POST", "/api/v1/cards/members", {"phone": PHONE, "name": "李四", "sms_code": "000000",
                                                            "pay_password": "654321"}, status=403)
    assert wrong["error"]["code"] == "SMS_CODE_WRONG"
    hub.clock.advance(seconds=61)
    await hub.call("POST", "/api/v1/cards/members/sms-codes", {"phone": PHONE, "purpose": "register"})
    await hub.call("POST", "/api/v1/cards/members", {"phone": PHONE, "name": "李四", "sms_code": _sms_code(hub),
                                                    "pay_password": "654321"}, status=201)
    await hub.call("POST", "/api/v1/cards/members/sms-codes", {"phone": PHONE, "purpose": "bind"})
    virtual = await hub.call("POST", f"/api/v1/cards/members/{PHONE}/virtual-card", {"sms_code": _sms_code(hub)})
    card = virtual["card_no"]
    assert card.startswith("8866") and virtual["state"] == "active"
    again = await hub.call("POST", f"/api/v1/cards/members/{PHONE}/virtual-card", {"sms_code": "123456"}, status=409)
    assert again["error"]["code"] == "ALREADY_BOUND"

    r = await hub.call("POST", "/api/v1/cards/recharges", {"card_no": card, "merchant_code": "SHOP1",
                                                          "out_trade_no": "R-1", "amount": 10_000})
    assert r["balance"] == 10_000
    c = await hub.call("POST", "/api/v1/cards/consumes", {"card_no": card, "merchant_code": "SHOP1", "out_trade_no": "O-1",
                                                         "amount": 2_000, "channel": "online", "pay_password": "654321"})
    assert c["balance"] == 8_000
    await hub.call("POST", "/api/v1/cards/refunds", {"merchant_code": "SHOP1", "out_trade_no": "O-1",
                                                    "out_refund_no": "F-1", "amount": 500, "channel": "online"})
    detail = await hub.call("GET", "/api/v1/cards/transactions/SHOP1/O-1")
    assert detail["state"] == "partly_refunded" and [f["amount"] for f in detail["refunds"]] == [500]
    listed = await hub.call("GET", "/api/v1/cards/transactions")
    assert len(listed) == 3 and "request_hash" not in str([detail, listed])  # a fingerprint is not the caller's

    # replace the virtual card by a physical one: the balance moves by a job, the old card ends cancelled
    physical = card_no(77)
    await hub.call("POST", "/api/v1/cards/members/sms-codes", {"phone": PHONE, "purpose": "bind"}, status=409)
    hub.clock.advance(seconds=61)
    await hub.call("POST", "/api/v1/cards/members/sms-codes", {"phone": PHONE, "purpose": "bind"})
    asked = await hub.call("POST", f"/api/v1/cards/members/{PHONE}/physical-card",
                           {"sms_code": _sms_code(hub), "card_no": physical}, status=409)
    assert asked["error"]["code"] == "CONSENT_REQUIRED"
    moved = await hub.call("POST", f"/api/v1/cards/members/{PHONE}/physical-card",
                           {"sms_code": _sms_code(hub), "card_no": physical, "consent_to_move": True})
    await hub.run_jobs()
    replacement = await hub.call("GET", f"/api/v1/cards/replacements/{moved['replacement_no']}")
    assert replacement["state"] == "done" and replacement["moved_amount"] == 8_500
    assert (await hub.call("GET", f"/api/v1/cards/{card}"))["state"] == "cancelled"
    assert (await hub.call("GET", f"/api/v1/cards/{physical}/balance"))["balance"] == 8_500

    pushed = {e["data"]["tx_no"] for e in receiver.events.values() if e["type"].startswith("card.")}
    assert len(pushed) == 3 and receiver.refused == 0
    await check_ledger(hub.container.database)


async def test_push_survives_a_dispatcher_crash_and_replays(api) -> None:  # type: ignore[no-untyped-def]
    hub, receiver, transport = api
    account = await hub.call("POST", "/api/v1/cards/accounts", {"holder_name": "王五", "phone": PHONE,
                                                               "pay_password": "111111"}, status=201)
    card = card_no(5)
    await hub.call("POST", "/api/v1/cards", {"account_no": account["account_no"], "card_no": card}, status=201)
    await hub.call("POST", f"/api/v1/cards/{card}/audit")
    await hub.call("POST", f"/api/v1/cards/{card}/activate")
    await hub.call("POST", "/api/v1/cards/recharges", {"card_no": card, "merchant_code": "SHOP1", "out_trade_no": "R-9",
                                                      "amount": 300})
    transport.armed = True
    with pytest.raises(Crash):
        await hub.run_jobs()
    assert len(receiver.events) == 1
    await hub.restart()
    _route_pushes(hub, transport)
    await hub.terminal.login("adm", "adm-pass")
    await hub.run_jobs()
    assert len(receiver.events) == 1 and receiver.deliveries == 2 and receiver.duplicates == 1
    (event,) = await hub.call("GET", "/api/v1/cards/events")
    assert event["delivered_at"] is not None
    await hub.call("POST", f"/api/v1/cards/events/{event['event_id']}/replay")
    await hub.run_jobs()
    assert len(receiver.events) == 1 and receiver.duplicates == 2


async def test_bad_input_is_refused_and_nothing_is_written(api) -> None:  # type: ignore[no-untyped-def]
    hub, receiver, _ = api
    good = {"card_no": card_no(1), "merchant_code": "SHOP1", "out_trade_no": "X", "amount": 1, "channel": "offline"}
    for change, status, code in (
        ({"amount": "100"}, 422, "VALIDATION"), ({"amount": 1.5}, 422, "VALIDATION"), ({"amount": 0}, 422, "VALIDATION"),
        ({"amount": -5}, 422, "VALIDATION"), ({"card_no": "12ab"}, 422, "VALIDATION"),
        ({"card_no": card_no(1)[:-1] + str((int(card_no(1)[-1]) + 1) % 10)}, 400, "BAD_CARD_NO"),
        ({"merchant_code": "NOPE"}, 404, "CARD_MERCHANT_NOT_FOUND"), ({"extra": 1}, 422, "VALIDATION"),
        ({"channel": "online"}, 400, "PAY_PASSWORD_REQUIRED"), ({}, 404, "CARD_NOT_FOUND"),
    ):
        answer = await hub.call("POST", "/api/v1/cards/consumes", good | change, status=status)
        assert answer["error"]["code"] == code, (change, answer)
    account = await hub.call("POST", "/api/v1/cards/accounts", {"holder_name": "赵六", "phone": PHONE,
                                                               "pay_password": "222222"}, status=201)
    await hub.call("POST", "/api/v1/cards", {"account_no": account["account_no"], "card_no": card_no(1)}, status=201)
    not_yet = await hub.call("POST", "/api/v1/cards/consumes", good, status=409)
    assert not_yet["error"]["code"] == "CARD_NOT_ACTIVE"
    await hub.call("POST", f"/api/v1/cards/{card_no(1)}/audit")
    await hub.call("POST", f"/api/v1/cards/{card_no(1)}/activate")
    no_pin = await hub.call("POST", "/api/v1/cards/consumes", good, status=400)
    assert no_pin["error"]["code"] == "PAY_PASSWORD_REQUIRED"
    rule = "/api/v1/cards/merchants/SHOP1/pinless-offline"
    for bad, status, code in (({"max_amount": "100"}, 422, "VALIDATION"), ({"max_amount": 0}, 422, "VALIDATION"),
                              ({}, 422, "VALIDATION")):
        assert (await hub.call("PUT", rule, bad, status=status))["error"]["code"] == code
    unknown = await hub.call("PUT", "/api/v1/cards/merchants/NOPE/pinless-offline", {"max_amount": 1}, status=404)
    assert unknown["error"]["code"] == "CARD_MERCHANT_NOT_FOUND"
    assert await hub.call("PUT", rule, {"max_amount": 1}) == {"code": "SHOP1", "pinless_offline_max": 1}
    short = await hub.call("POST", "/api/v1/cards/consumes", good, status=409)
    assert short["error"]["code"] == "INSUFFICIENT_BALANCE"
    over = await hub.call("POST", "/api/v1/cards/consumes", good | {"amount": 2}, status=400)
    assert over["error"]["code"] == "PINLESS_OVER_CAP"
    for url, codes in (("http://10.0.0.5/push", {"PUSH_URL_PRIVATE"}), ("https://169.254.169.254/", {"PUSH_URL_PRIVATE"}),
                       ("gopher://x/", {"PUSH_URL_INVALID"}), ("https://bad\x00host/", {"VALIDATION", "NUL_CHARACTER"})):
        refused = await hub.call("PUT", "/api/v1/cards/program", {"push_url": url}, status=None)
        assert refused["error"]["code"] in codes, (url, refused)
    assert await hub.call("GET", "/api/v1/cards/transactions") == []
    assert await hub.call("GET", "/api/v1/cards/events") == []
    await hub.terminal.login("op1", "op1-pass")
    denied = await hub.call("PUT", "/api/v1/cards/limits", {"subject": "card:*", "per_day": 5}, status=403)
    assert denied["error"]["code"] == "ROLE_REQUIRED"
    balances = await check_ledger(hub.container.database)
    assert balances[f"card:{card_no(1)}"] == 0
