"""`payhub try-cards`: the stored-value card flows through the API of a running demo, as an issuer's app would."""
from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from payhub.cards.domain.cards import luhn_digit
from payhub.kernel.domain.money import yuan
from payhub.entrypoints.demo import PUSH_SECRET, TERMINAL, TERMINAL_KEY
from payhub.entrypoints.demo_flow import FlowError
from payhub.entrypoints.terminal_client import TerminalClient

MONEY_EVENTS = {"card.recharge": "充值", "card.consume": "消费", "card.refund": "退款", "card.transfer": "转出"}
RULES = {"burst": "短时间内多次消费", "recharge_then_transfer": "充值后很快转出", "near_limit": "金额接近限额",
         "night": "夜间交易"}


async def _call(client: TerminalClient, method: str, path: str, body: dict[str, Any] | None = None, *,
                ok: tuple[int, ...] = (200, 201), params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.request(method, path, body=body, params=params)
    if response.status_code not in ok:
        raise FlowError(f"{method} {path}: {response.status_code} {response.text}")
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
        echo(f"短信沙箱收到发给 {phone} 的验证码 {code}")
        await _call(client, "POST", "/api/v1/cards/members",
                    {"phone": phone, "name": "演示会员", "sms_code": code, "pay_password": "246810"})
        await _call(client, "POST", "/api/v1/cards/members/sms-codes", {"phone": phone, "purpose": "bind"})
        card = (await _call(client, "POST", f"/api/v1/cards/members/{phone}/virtual-card",
                            {"sms_code": await _sms_code(http, phone)}))["card_no"]
        echo(f"会员 {phone} 已注册，从卡池绑定虚拟卡 {card}")
        r = await _call(client, "POST", "/api/v1/cards/recharges",
                        {"card_no": card, "merchant_code": "SHOP1", "out_trade_no": f"R{run}", "amount": 10_000})
        echo(f"现金充值 100.00 元，余额 {yuan(r['balance'])} 元")
        c = await _call(client, "POST", "/api/v1/cards/consumes",
                        {"card_no": card, "merchant_code": "SHOP1", "out_trade_no": f"O{run}", "amount": 2_580,
                         "channel": "online", "pay_password": "246810"})
        echo(f"凭支付密码线上消费 25.80 元，余额 {yuan(c['balance'])} 元")
        f = await _call(client, "POST", "/api/v1/cards/refunds",
                        {"merchant_code": "SHOP1", "out_trade_no": f"O{run}", "out_refund_no": f"F{run}",
                         "amount": 580, "channel": "online"})
        echo(f"该笔消费退款 5.80 元，余额 {yuan(f['balance'])} 元")
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
        echo(f"转账 10.00 元到卡 {other}（由工作人员开卡、审核、激活），余额 {yuan(t['balance'])} 元")
        ours = await _pushes_of(http, card=card)
        for event in ours:
            echo(f"  推送 {event['event_id']} {_described(event)}")
        money = sum(event["type"] in MONEY_EVENTS for event in ours)
        echo(f"推送接收沙箱共收到本卡 {len(ours)} 条推送：{money} 条资金变动（应为 4 条），{len(ours) - money} 条可疑交易提示"
             f"（{base_url}/sandbox/push/）")
        return 0 if money == len(MONEY_EVENTS) and _transfer_case(ours) else 1


async def _pushes_of(http: httpx.AsyncClient, *, card: str) -> list[dict[str, Any]]:
    """The pushes for the card once its four money events and the transfer's suspicious case are in (or after 20 s)."""
    for _ in range(40):
        pushed = (await http.get("/sandbox/push/_sandbox/events")).json()
        ours: list[dict[str, Any]] = [e for e in pushed["events"] if e["data"].get("card_no") == card]
        money = sum(e["type"] in MONEY_EVENTS for e in ours)
        if money == len(MONEY_EVENTS) and _transfer_case(ours):
            break
        await asyncio.sleep(0.5)
    return ours


def _transfer_case(events: list[dict[str, Any]]) -> bool:
    return any(event["data"].get("rule") == "recharge_then_transfer" for event in events)


def _described(event: dict[str, Any]) -> str:
    data = event["data"]
    if event["type"] in MONEY_EVENTS:
        return f"{MONEY_EVENTS[event['type']]} {yuan(data['amount'])} 元，余额 {yuan(data['balance_after'])} 元"
    return f"可疑交易：{RULES.get(data.get('rule', ''), data.get('detail', ''))}（案件 {data.get('case_no')}）"
