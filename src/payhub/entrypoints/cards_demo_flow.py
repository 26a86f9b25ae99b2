"""`payhub try-cards`: the stored-value card flows through the API of a running demo, as an issuer's app would."""
from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from payhub.cards.domain.cards import luhn_digit
from payhub.entrypoints.demo import PUSH_SECRET, TERMINAL, TERMINAL_KEY
from payhub.entrypoints.terminal_client import TerminalClient


async def _call(client: TerminalClient, method: str, path: str, body: dict[str, Any] | None = None, *,
                ok: tuple[int, ...] = (200, 201), params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.request(method, path, body=body, params=params)
    if response.status_code not in ok:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    answer: dict[str, Any] = response.json()
    return answer


async def _sms_code(http: httpx.AsyncClient, phone: str) -> str:
    messages = (await http.get("/sandbox/sms/_sandbox/messages")).json()["messages"]
    text = next(m["text"] for m in reversed(messages) if m["phone"] == phone)
    code = re.search(r"验证码(\d{6})", text)
    assert code is not None, text  # the sandbox's code message always carries one
    return code.group(1)


async def run_card_flows(*, base_url: str, echo: Callable[[str], None]) -> int:
    """Set up the card program, register a member with SMS, bind a virtual card, recharge, consume, refund,
    transfer to a second card, and show the pushes the receiver sandbox got. Returns the exit status."""
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        client = TerminalClient(http=http, terminal=TERMINAL, key=TERMINAL_KEY)
        await client.login("admin", "admin123")
        await _call(client, "PUT", "/api/v1/cards/program",
                    {"push_url": f"{base_url}/sandbox/push/push", "push_secret": PUSH_SECRET})
        for code in ("SHOP1", "ONLINE"):
            await _call(client, "POST", "/api/v1/cards/merchants", {"code": code, "name": code}, ok=(201, 409))
        await _call(client, "POST", "/api/v1/cards/pool", {"prefix": "8866", "count": 20, "kind": "virtual"})
        phone = f"139{int(run, 16) % 10**8:08d}"
        await _call(client, "POST", "/api/v1/cards/members/sms-codes", {"phone": phone, "purpose": "register"})
        code = await _sms_code(http, phone)
        echo(f"SMS sandbox showed the code {code} for {phone}")
        await _call(client, "POST", "/api/v1/cards/members",
                    {"phone": phone, "name": "演示会员", "sms_code": code, "pay_password": "246810"})
        await _call(client, "POST", "/api/v1/cards/members/sms-codes", {"phone": phone, "purpose": "bind"})
        card = (await _call(client, "POST", f"/api/v1/cards/members/{phone}/virtual-card",
                            {"sms_code": await _sms_code(http, phone)}))["card_no"]
        echo(f"member {phone} registered; virtual card {card} bound from the pool")
        r = await _call(client, "POST", "/api/v1/cards/recharges",
                        {"card_no": card, "merchant_code": "SHOP1", "out_trade_no": f"R{run}", "amount": 10_000})
        echo(f"recharged 100.00 yuan in cash: balance {r['balance']} fen")
        c = await _call(client, "POST", "/api/v1/cards/consumes",
                        {"card_no": card, "merchant_code": "SHOP1", "out_trade_no": f"O{run}", "amount": 2_580,
                         "channel": "online", "pay_password": "246810"})
        echo(f"consumed 25.80 yuan online with the pay password: balance {c['balance']} fen")
        f = await _call(client, "POST", "/api/v1/cards/refunds",
                        {"merchant_code": "SHOP1", "out_trade_no": f"O{run}", "out_refund_no": f"F{run}",
                         "amount": 580, "channel": "online"})
        echo(f"refunded 5.80 yuan of that order: balance {f['balance']} fen")
        account = await _call(client, "POST", "/api/v1/cards/accounts",
                              {"holder_name": "亲友", "phone": "13700000000", "pay_password": "135790"})
        body = f"8877{int(run, 16) % 10**11:011d}"
        other = body + luhn_digit(body)
        await _call(client, "POST", "/api/v1/cards", {"account_no": account["account_no"], "card_no": other})
        await _call(client, "POST", f"/api/v1/cards/{other}/audit")
        await _call(client, "POST", f"/api/v1/cards/{other}/activate")
        t = await _call(client, "POST", "/api/v1/cards/transfers",
                        {"merchant_code": "ONLINE", "from_card": card, "to_card": other, "out_trade_no": f"T{run}",
                         "amount": 1_000, "pay_password": "246810"})
        echo(f"transferred 10.00 yuan to card {other} (opened, audited, activated by staff): balance {t['balance']} fen")
        for _ in range(40):
            pushed = (await http.get("/sandbox/push/_sandbox/events")).json()
            ours = [e for e in pushed["events"] if e["data"].get("card_no") == card]
            if len([e for e in ours if "amount" in e["data"]]) >= 4:
                break
            await asyncio.sleep(0.5)
        for event in ours:
            what = f"{event['data']['amount']:>6} fen" if "amount" in event["data"] else event["data"].get("detail", "")
            echo(f"  push {event['event_id']} {event['type']:<15} {what}")
        ours = [e for e in ours if "amount" in e["data"]]
        echo(f"the push receiver sandbox got {len(ours)} of 4 events for this card ({base_url}/sandbox/push/)")
        return 0 if len(ours) >= 4 else 1
