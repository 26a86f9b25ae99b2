"""An SMS provider sandbox: speaks Alibaba Cloud's SendSms (see wire.py), keeps the messages it delivered and shows
them (with their codes) on a page.

Over HTTP (`POST /` or `GET /?Action=SendSms&...`) it checks what the real service checks: a known AccessKeyId,
a timestamp within 15 minutes, the HMAC-SHA1 signature, an unused SignatureNonce, a registered sign name and
template with all of its variables, mainland mobile numbers; and answers JSON like the vendor. The last four digits
of the (first) phone number choose a scenario:

    9991  rate limited: isv.BUSINESS_LIMIT_CONTROL, nothing delivered
    9992  illegal number: isv.MOBILE_NUMBER_ILLEGAL, nothing delivered
    9993  account out of balance: isv.AMOUNT_NOT_ENOUGH, nothing delivered
    9994  slow answer: the message is delivered at once, the OK answer comes after `slow_seconds`
    9995  provider error: isp.SYSTEM_ERROR, nothing delivered

In process (send_code, the SmsGateway port of tests and of a demo without SMS settings) every message is delivered
with the demo sign name and template.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from payhub.integrations.sms import wire

log = logging.getLogger(__name__)

DEMO_ACCESS_KEY_ID = "LTAI5tPayHubDemoSms01"
DEMO_ACCESS_KEY_SECRET = "demo-sms-access-key-secret"  # demo mode only
DEMO_SIGN_NAME = "交易宝"
DEMO_TEMPLATE_CODE = "SMS_490000001"
DEMO_TEMPLATE = "验证码${code}，5分钟内有效，请勿告诉他人。"
TIMESTAMP_WINDOW = timedelta(minutes=15)
MOBILE = re.compile(r"1[3-9][0-9]{9}")
VARIABLE = re.compile(r"\$\{(\w+)\}")


class Scenario(IntEnum):
    RATE_LIMITED = 9991
    BAD_NUMBER = 9992
    NO_BALANCE = 9993
    SLOW = 9994
    SYSTEM_ERROR = 9995


_SCENARIO_ANSWERS = {
    Scenario.RATE_LIMITED: (wire.RATE_LIMITED, "触发号码天级流控Permits:10"),
    Scenario.BAD_NUMBER: (wire.BAD_NUMBER, "invalid mobile number"),
    Scenario.NO_BALANCE: (wire.NO_BALANCE, "账户余额不足"),
    Scenario.SYSTEM_ERROR: (wire.SYSTEM_ERROR, "System Error"),
}


def scenario_of(phone: str) -> Scenario | None:
    try:
        return Scenario(int(phone[-4:]))
    except ValueError:
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass
class SandboxSms:
    access_keys: dict[str, str] = field(default_factory=lambda: {DEMO_ACCESS_KEY_ID: DEMO_ACCESS_KEY_SECRET})
    sign_names: frozenset[str] = frozenset({DEMO_SIGN_NAME})
    templates: dict[str, str] = field(default_factory=lambda: {DEMO_TEMPLATE_CODE: DEMO_TEMPLATE})
    slow_seconds: float = 20.0
    now: Callable[[], datetime] = utc_now
    messages: list[dict[str, str]] = field(default_factory=list)
    used_nonces: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.app = FastAPI(title="PayHub SMS sandbox (Alibaba Cloud SendSms)")
        self.app.get("/_sandbox/messages")(self._list)
        self.app.post("/")(self._api)
        self.app.get("/")(self._api_or_page)

    async def send_code(self, *, phone: str, code: str) -> None:
        """The SmsGateway port in process: deliver at once with the demo sign name and template."""
        self._deliver(phones=[phone], sign_name=DEMO_SIGN_NAME, template=DEMO_TEMPLATE, variables={"code": code})

    def last_to(self, phone: str) -> str:
        """The newest message sent to phone (tests read codes from it)."""
        return next(m["text"] for m in reversed(self.messages) if m["phone"] == phone)

    async def _list(self) -> dict[str, Any]:
        return {"messages": self.messages[-100:]}

    async def _api_or_page(self, request: Request) -> Response:
        if "Action" in request.query_params:
            return await self._api(request)
        rows = "".join(f"<tr><td>{html.escape(m['at'])}</td><td>{html.escape(m['phone'])}</td>"
                       f"<td>{html.escape(m['text'])}</td></tr>" for m in reversed(self.messages[-100:]))
        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=3><title>短信沙箱</title>"
            f"<h1>短信沙箱</h1><table border=1 cellpadding=4><tr><th>time</th><th>phone</th><th>text</th></tr>"
            f"{rows}</table>")

    async def _api(self, request: Request) -> JSONResponse:
        params = dict(request.query_params)
        if request.method == "POST":
            params |= dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        request_id = str(uuid.uuid4()).upper()
        try:
            self._authenticate(method=request.method, params=params)
            phones, sign_name, template, variables = self._message(params)
        except _Refusal as refusal:
            return JSONResponse(wire.Answer(refusal.code, refusal.message, request_id).to_json(), status_code=refusal.status)
        scenario = scenario_of(phones[0])
        if scenario in _SCENARIO_ANSWERS:
            code, message = _SCENARIO_ANSWERS[scenario]
            log.info("sandbox SMS to %s answered %s", wire.mask_phone(phones[0]), code)
            return JSONResponse(wire.Answer(code, message, request_id).to_json())
        biz_id = self._deliver(phones=phones, sign_name=sign_name, template=template, variables=variables)
        if scenario is Scenario.SLOW:
            await asyncio.sleep(self.slow_seconds)
        return JSONResponse(wire.Answer(wire.OK, "OK", request_id, biz_id).to_json())

    def _authenticate(self, *, method: str, params: dict[str, str]) -> None:
        for name in wire.REQUIRED_COMMON:
            if not params.get(name):
                raise _Refusal(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if (params["Action"], params["Version"]) != (wire.ACTION, wire.VERSION):
            raise _Refusal(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if (params["SignatureMethod"], params["SignatureVersion"]) != (wire.SIGNATURE_METHOD, wire.SIGNATURE_VERSION):
            raise _Refusal(400, "InvalidSignatureMethod", "Specified signature method or version is not supported.")
        secret = self.access_keys.get(params["AccessKeyId"])
        if secret is None:
            raise _Refusal(404, wire.UNKNOWN_ACCESS_KEY, "Specified access key is not found.")
        at = wire.parse_timestamp(params["Timestamp"])
        if at is None:
            raise _Refusal(400, "InvalidTimeStamp.Format", "Specified time stamp does not conform to the ISO 8601 format.")
        if abs(self.now() - at) > TIMESTAMP_WINDOW:
            raise _Refusal(400, wire.STALE_TIMESTAMP, "Specified time stamp or date value is expired.")
        if not wire.signature_matches(secret=secret, method=method, params=params):
            raise _Refusal(400, wire.BAD_SIGNATURE, "Specified signature is not matched with our calculation.")
        nonce = (params["AccessKeyId"], params["SignatureNonce"])
        if nonce in self.used_nonces:
            raise _Refusal(400, wire.NONCE_USED, "Specified signature nonce was used already.")
        self.used_nonces.add(nonce)

    def _message(self, params: dict[str, str]) -> tuple[list[str], str, str, dict[str, str]]:
        """The phones, sign name, template and its variables of a SendSms call, or the vendor's refusal."""
        for name in wire.REQUIRED_SEND_SMS:
            if not params.get(name):
                raise _Refusal(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if params["SignName"] not in self.sign_names:
            raise _Refusal(200, wire.BAD_SIGN_NAME, "该账号下找不到对应签名")
        template = self.templates.get(params["TemplateCode"])
        if template is None:
            raise _Refusal(200, wire.BAD_TEMPLATE, "该账号下找不到对应模板")
        try:
            variables = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            variables = None
        if not isinstance(variables, dict) or not all(isinstance(value, str) for value in variables.values()):
            raise _Refusal(200, wire.BAD_JSON_PARAMETER, "JSON参数不合法，只接受字符串值")
        if any(name not in variables for name in VARIABLE.findall(template)):
            raise _Refusal(200, wire.MISSING_TEMPLATE_PARAMETER, "模版缺少变量")
        phones = params["PhoneNumbers"].split(",")
        if not all(MOBILE.fullmatch(phone) for phone in phones):
            raise _Refusal(200, wire.BAD_NUMBER, "invalid mobile number")
        return phones, params["SignName"], template, variables

    def _deliver(self, *, phones: list[str], sign_name: str, template: str, variables: dict[str, str]) -> str:
        text = f"【{sign_name}】" + VARIABLE.sub(lambda match: variables[match.group(1)], template)
        biz_id = f"{secrets.randbelow(10**18):018d}^0"
        for phone in phones:
            self.messages.append({"phone": phone, "text": text, "at": self.now().isoformat(), "biz_id": biz_id})
            log.info("sandbox SMS delivered to %s (BizId %s)", wire.mask_phone(phone), biz_id)
        return biz_id
