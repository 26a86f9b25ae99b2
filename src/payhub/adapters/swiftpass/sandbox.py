"""A SwiftPass gateway simulator: the real `POST /pay/gateway` protocol, in memory, with test scenarios.

It checks request signatures, signs its answers and notifies with the platform's keys, and enforces what
a real gateway does: out_trade_no unique (here across all merchants, so that `trades[out_trade_no]`
works), a resend with the same content returns the first trade and one with other content is refused,
closed or reversed trades cannot be paid, a QR cannot be paid after its time_expire, refunds only of paid
trades and never beyond total_fee, one refund per out_refund_no (a resend returns it).

Scenarios, picked by the last two digits of the payment code (micropay) or else of total_fee in fen:

    91  declined: micropay answers PAYERROR, need_query=N; a QR scan is declined (trade PAYERROR)
    92  insufficient funds: as 91 with err_code NOTENOUGH
    93  system error: micropay/native answer SYSTEMERROR, need_query=Y, yet the trade exists (and a
        micropay is paid); a resend with the same content answers normally
    94  slow: micropay/native sleep `slow_seconds` before answering; the trade is done before the sleep
    95  user paying, then paid: micropay answers USERPAYING; the 2nd query finds it SUCCESS (QR: normal)
    96  user paying forever: micropay stays USERPAYING; reverse succeeds (QR: normal)
    97  refund fails: every refund answers refund_status FAIL
    98  refund processing: refund answers PROCESSING; refundquery says PROCESSING once, then SUCCESS
    99  notify chaos: each payment notify is sent twice, then a stale not-paid notify follows
    other  plain success (a refund answer then carries no refund_status, like the real gateway's)

Notifies go to the trade's notify_url (optional for micropay) as signed XML and are retried on
`notify_delays` (the i-th number is the wait before attempt i+1) until the answer body is exactly
`success`. The app's lifespan runs the delivery loop; tests call `deliver_due_notifies()` instead.

Python controls: `pay_native`, `fail_next`, `deliver_due_notifies`, and the `trades`, `refunds`,
`pending_notifies` it keeps. HTTP controls under /_sandbox/ (see docs/swiftpass-sandbox.md), among them
the page a native code_url points at: open it in a browser and press 确认支付 to pay.
"""
from __future__ import annotations

import asyncio
import html
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from payhub.adapters.swiftpass.billfile import PAID, REFUNDED, BillRow, format_bill
from payhub.adapters.swiftpass.wire import (
    CHARSET, CHINA, GATEWAY_PATH, OK, ORDERNOTEXIST, ORDERPAID, REFUNDNOTEXIST, SERVICE_BILL, SERVICE_CLOSE,
    SERVICE_MICROPAY, SERVICE_NATIVE, SERVICE_QUERY, SERVICE_REFUND, SERVICE_REFUND_QUERY, SERVICE_REVERSE,
    SYSTEMERROR, USERPAYING, VERSION, Credentials, SignType, WireError, decode_xml, encode_xml, format_time,
    new_nonce, parse_fen, parse_time,
)
from payhub.domain.errors import InvalidInput
from payhub.domain.money import yuan
from payhub.domain.wallets import Wallet, wallet_of
from payhub.ports import ChannelRefused

log = logging.getLogger(__name__)

DEFAULT_NOTIFY_DELAYS = (0, 2, 5, 15, 30, 60, 180, 600, 1800)
_NOTIFY_POLL_SECONDS = 0.5
_WALLET_WIRE_NAMES = {Wallet.WECHAT: "weixin", Wallet.ALIPAY: "alipay", Wallet.UNIONPAY: "unionpay"}
_WALLET_LABELS = {Wallet.WECHAT: "微信支付", Wallet.ALIPAY: "支付宝", Wallet.UNIONPAY: "云闪付"}
_PAID_STATES = frozenset({"SUCCESS", "REFUND"})
_ENDED_STATES = {"CLOSED": "ORDERCLOSED", "REVERSE": "ORDERREVERSED"}  # trade_state -> err_code for a late pay
_STATE_NAMES = {
    "NOTPAY": "待支付", "USERPAYING": "支付中", "SUCCESS": "已支付", "REFUND": "已退款",
    "PAYERROR": "支付失败", "CLOSED": "已关闭", "REVERSE": "已撤销",
}


class Scenario(StrEnum):
    DECLINED = "91"
    INSUFFICIENT_FUNDS = "92"
    SYSTEM_ERROR = "93"
    SLOW = "94"
    USER_PAYING_THEN_PAID = "95"
    USER_PAYING_FOREVER = "96"
    REFUND_FAILS = "97"
    REFUND_PROCESSING = "98"
    NOTIFY_CHAOS = "99"


_DECLINES = {
    Scenario.DECLINED: ("PAYERROR", "支付被拒绝"),
    Scenario.INSUFFICIENT_FUNDS: ("NOTENOUGH", "余额不足"),
}


class Fault(StrEnum):
    """A one-off fault `fail_next` puts on the next answer to a service, after the service has run."""

    SYSTEM_ERROR = "system_error"    # SYSTEMERROR, need_query=Y (reverse: retry_flag=Y)
    BAD_SIGNATURE = "bad_signature"  # the answer's sign is corrupted


def scenario_of(*, auth_code: str | None, total_fee: int) -> Scenario | None:
    """The scenario the payment code's, or else the amount's, last two digits select."""
    for digits in (auth_code[-2:] if auth_code else "", f"{total_fee % 100:02d}"):
        with suppress(ValueError):
            return Scenario(digits)
    return None


class SandboxRefusal(ChannelRefused):
    """The simulated gateway refuses: a business error answer, or a refused Python/HTTP control."""


class _Malformed(Exception):
    """A request the gateway does not understand (answered with status≠0)."""


@dataclass(frozen=True, slots=True)
class SandboxAccount:
    """One simulated merchant: its sign type and the keys the platform side needs."""

    sign_type: SignType = "MD5"
    key: str | None = None
    merchant_public_key_pem: str | None = None    # verifies the merchant's RSA requests
    platform_private_key_pem: str | None = None   # signs RSA answers and notifies

    def credentials(self) -> Credentials:
        """The platform side's credentials for this merchant."""
        return Credentials(
            sign_type=self.sign_type, md5_key=self.key, own_private_key_pem=self.platform_private_key_pem,
            peer_public_key_pem=self.merchant_public_key_pem,
        )


@dataclass(slots=True)
class SandboxRefund:
    """A refund as the gateway keeps it."""

    out_refund_no: str
    refund_id: str
    out_trade_no: str
    refund_fee: int
    state: str  # SUCCESS | FAIL | PROCESSING
    refunded_at: datetime | None = None
    queries: int = 0


@dataclass(slots=True)
class SandboxTrade:
    """A trade as the gateway keeps it. `kind` is "" for the marker a close/reverse of an unknown order leaves."""

    mch_id: str
    out_trade_no: str
    kind: str  # micropay | native | ""
    transaction_id: str
    state: str  # the wire trade_state
    total_fee: int = 0
    body: str = ""
    content: tuple[str, ...] = ()  # what a resend must repeat
    scenario: Scenario | None = None
    trade_type: str | None = None
    notify_url: str | None = None
    time_expire: datetime | None = None
    paid_at: datetime | None = None
    err_code: str | None = None
    err_msg: str | None = None
    queries: int = 0
    refunds: list[SandboxRefund] = field(default_factory=list)
    notifies_sent: int = 0
    notifies_acknowledged: int = 0

    def refunded_fee(self) -> int:
        """Fen refunded or on the way back (failed refunds do not count)."""
        return sum(refund.refund_fee for refund in self.refunds if refund.state != "FAIL")


@dataclass(slots=True)
class PendingNotify:
    """A signed notify waiting for its next delivery attempt."""

    out_trade_no: str
    url: str
    body: bytes
    due_at: datetime
    attempts: int = 0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SwiftPassSandbox:
    """The simulated gateway; `.app` is its FastAPI application."""

    def __init__(
        self, *, accounts: Mapping[str, SandboxAccount], notify_http: httpx.AsyncClient | None = None,
        now: Callable[[], datetime] = _utc_now, notify_delays: Sequence[float] = DEFAULT_NOTIFY_DELAYS,
        slow_seconds: float = 20.0, public_url: str = "http://127.0.0.1:8200",
    ) -> None:
        if not notify_delays:
            raise ValueError("notify_delays needs at least one entry")
        self.accounts = dict(accounts)
        self.trades: dict[str, SandboxTrade] = {}
        self.refunds: dict[str, SandboxRefund] = {}
        self.pending_notifies: list[PendingNotify] = []
        self._notify_http = notify_http
        self._now = now
        self._notify_delays = tuple(notify_delays)
        self._slow_seconds = slow_seconds
        self._public_url = public_url.rstrip("/")
        self._faults: dict[str, Fault] = {}
        self._numbers = itertools.count(1)
        self._delivering = asyncio.Lock()
        self._services: dict[str, Callable[..., Any]] = {
            SERVICE_MICROPAY: self._micropay, SERVICE_NATIVE: self._native, SERVICE_QUERY: self._query,
            SERVICE_CLOSE: self._close, SERVICE_REVERSE: self._reverse, SERVICE_REFUND: self._refund,
            SERVICE_REFUND_QUERY: self._refund_query,
        }
        self.app = self._build_app()

    # ---- Python controls -------------------------------------------------------------------------

    def pay_native(self, out_trade_no: str, *, wallet: str = "wechat") -> SandboxTrade:
        """The customer scans the QR and pays; raises SandboxRefusal when the trade cannot be paid."""
        trade = self.trades.get(out_trade_no)
        if trade is None or trade.kind != "native":
            raise SandboxRefusal(ORDERNOTEXIST, "没有这个二维码订单")
        if trade.state in _PAID_STATES:
            raise SandboxRefusal(ORDERPAID, "订单已支付")
        if trade.state in _ENDED_STATES:
            raise SandboxRefusal(_ENDED_STATES[trade.state], "订单已关闭，不能支付")
        if trade.time_expire is not None and self._now() >= trade.time_expire:
            raise SandboxRefusal("ORDEREXPIRED", "二维码已过期")
        try:
            chosen = Wallet(wallet)
        except ValueError:
            raise SandboxRefusal("WALLET_INVALID", f"不支持的钱包 {wallet}") from None
        trade.trade_type = f"pay.{_WALLET_WIRE_NAMES[chosen]}.native"
        if trade.scenario in _DECLINES:
            trade.state = "PAYERROR"
            trade.err_code, trade.err_msg = _DECLINES[trade.scenario]
            raise SandboxRefusal(trade.err_code, trade.err_msg)
        self._mark_paid(trade)
        return trade

    def fail_next(self, *, service: str, fault: Fault) -> None:
        """Spoil the next answer to `service` (e.g. unified.micropay.reverse) with `fault`."""
        self._faults[service] = fault

    async def deliver_due_notifies(self) -> int:
        """Send every notify due now; reschedule the unacknowledged; returns how many were acknowledged."""
        async with self._delivering:
            now = self._now()
            acknowledged = 0
            for notify in [notify for notify in self.pending_notifies if notify.due_at <= now]:
                trade = self.trades[notify.out_trade_no]
                notify.attempts += 1
                trade.notifies_sent += 1
                if await self._post_notify(notify=notify):
                    trade.notifies_acknowledged += 1
                    acknowledged += 1
                    self._drop(notify)
                elif notify.attempts < len(self._notify_delays):
                    notify.due_at = now + timedelta(seconds=self._notify_delays[notify.attempts])
                else:
                    log.warning("sandbox gives up notifying %s after %d attempts", notify.out_trade_no, notify.attempts)
                    self._drop(notify)
            return acknowledged

    def _drop(self, notify: PendingNotify) -> None:
        # a reverse may have dropped it already while its delivery was under way
        self.pending_notifies = [pending for pending in self.pending_notifies if pending is not notify]

    # ---- the gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: Request) -> Response:
        try:
            fields = decode_xml(body=await request.body())
        except WireError:
            return _status_answer(status="400", message="XML 格式错误")
        mch_id = fields.get("mch_id", "")
        account = self.accounts.get(mch_id)
        if account is None:
            return _status_answer(status="401", message="商户不存在")
        if fields.get("sign_type", "MD5") != account.sign_type or not account.credentials().verify(fields=fields):
            return _status_answer(status="401", message="签名错误")
        service = fields.get("service", "")
        handler = self._services.get(service)
        if handler is None and service != SERVICE_BILL:
            return _status_answer(status="400", message=f"不支持的接口 {service}")
        try:
            if handler is None:
                return PlainTextResponse(self._bill(mch_id=mch_id, fields=fields))
            answer = await handler(mch_id=mch_id, fields=fields)
        except _Malformed as error:
            return _status_answer(status="400", message=str(error))
        except SandboxRefusal as refusal:
            answer = _refused(refusal.err_code, refusal.message)
        fault = self._faults.pop(service, None)
        return self._signed_answer(account=account, mch_id=mch_id, answer=answer, fault=fault, service=service)

    def _signed_answer(
        self, *, account: SandboxAccount, mch_id: str, answer: dict[str, str], fault: Fault | None, service: str,
    ) -> Response:
        if fault is Fault.SYSTEM_ERROR:
            answer = _system_error()
            if service == SERVICE_REVERSE:
                answer["retry_flag"] = "Y"
        sealed = account.credentials().seal(fields={
            "version": VERSION, "charset": CHARSET, "status": OK, "mch_id": mch_id, "nonce_str": new_nonce(), **answer,
        })
        if fault is Fault.BAD_SIGNATURE:
            sealed["sign"] = sealed["sign"][::-1]
        return Response(encode_xml(fields=sealed), media_type="text/xml; charset=UTF-8")

    async def _micropay(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        out_trade_no, total_fee = _need(fields, "out_trade_no"), _need_fen(fields, "total_fee")
        body, auth_code = _need(fields, "body"), _need(fields, "auth_code")
        content = (SERVICE_MICROPAY, str(total_fee), body, auth_code)
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            _check_resend(trade=existing, mch_id=mch_id, content=content)
            return _micropay_answer(trade=existing)
        try:
            wallet = wallet_of(auth_code)
        except InvalidInput:
            raise SandboxRefusal("AUTH_CODE_INVALID", "付款码无效") from None
        scenario = scenario_of(auth_code=auth_code, total_fee=total_fee)
        trade = self._open_trade(
            mch_id=mch_id, out_trade_no=out_trade_no, kind="micropay", total_fee=total_fee, body=body,
            content=content, scenario=scenario, notify_url=fields.get("notify_url") or None,
        )
        trade.trade_type = f"pay.{_WALLET_WIRE_NAMES[wallet]}.micropay"
        if scenario in _DECLINES:
            trade.state = "PAYERROR"
            trade.err_code, trade.err_msg = _DECLINES[scenario]
        elif scenario in (Scenario.USER_PAYING_THEN_PAID, Scenario.USER_PAYING_FOREVER):
            trade.state = "USERPAYING"
        else:
            self._mark_paid(trade)
        return await self._first_answer(trade=trade, answer=_micropay_answer(trade=trade))

    async def _native(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        out_trade_no, total_fee = _need(fields, "out_trade_no"), _need_fen(fields, "total_fee")
        body, notify_url = _need(fields, "body"), _need(fields, "notify_url")
        time_expire = fields.get("time_expire", "")
        content = (SERVICE_NATIVE, str(total_fee), body, notify_url, time_expire)
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            _check_resend(trade=existing, mch_id=mch_id, content=content)
            return self._native_answer(trade=existing)
        trade = self._open_trade(
            mch_id=mch_id, out_trade_no=out_trade_no, kind="native", total_fee=total_fee, body=body, content=content,
            scenario=scenario_of(auth_code=None, total_fee=total_fee), notify_url=notify_url,
        )
        trade.time_expire = _wire_time(text=time_expire) if time_expire else None
        return await self._first_answer(trade=trade, answer=self._native_answer(trade=trade))

    async def _first_answer(self, *, trade: SandboxTrade, answer: dict[str, str]) -> dict[str, str]:
        """How the scenario spoils the first answer of a new trade (the trade itself is already done)."""
        if trade.scenario is Scenario.SLOW:
            await asyncio.sleep(self._slow_seconds)
        if trade.scenario is Scenario.SYSTEM_ERROR:
            return _system_error()
        return answer

    def _native_answer(self, *, trade: SandboxTrade) -> dict[str, str]:
        return {
            "result_code": OK, "out_trade_no": trade.out_trade_no,
            "code_url": f"{self._public_url}/_sandbox/qr/{trade.out_trade_no}",
        }

    async def _query(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        trade = self._require_trade(mch_id=mch_id, fields=fields)
        trade.queries += 1
        if trade.state == "USERPAYING" and trade.scenario is Scenario.USER_PAYING_THEN_PAID and trade.queries >= 2:
            self._mark_paid(trade)
        answer = {"result_code": OK, "trade_state": trade.state, "trade_state_desc": _STATE_NAMES[trade.state]}
        return {**answer, **_payment_fields(trade=trade)}

    async def _close(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        return self._end(mch_id=mch_id, fields=fields, kind="native", ended_state="CLOSED")

    async def _reverse(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        return self._end(mch_id=mch_id, fields=fields, kind="micropay", ended_state="REVERSE")

    def _end(self, *, mch_id: str, fields: Mapping[str, str], kind: str, ended_state: str) -> dict[str, str]:
        """Close (native) or reverse (micropay); an unknown order is marked so that it can never be paid."""
        trade = self._trade_of(mch_id=mch_id, fields=fields)
        if trade is None:
            trade = self._open_trade(mch_id=mch_id, out_trade_no=_need(fields, "out_trade_no"), kind="")
        elif trade.kind not in (kind, ""):
            raise SandboxRefusal("TRADE_TYPE_ERROR", "付款码订单请撤销，二维码订单请关闭")
        elif trade.refunds:
            raise SandboxRefusal("ORDERREFUNDED", "订单已退款")
        elif trade.state in _PAID_STATES and kind == "native":
            raise SandboxRefusal(ORDERPAID, "订单已支付")
        trade.state = ended_state
        self.pending_notifies = [n for n in self.pending_notifies if n.out_trade_no != trade.out_trade_no]
        return {"result_code": OK, "out_trade_no": trade.out_trade_no}

    async def _refund(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        trade = self._require_trade(mch_id=mch_id, fields=fields)
        out_refund_no = _need(fields, "out_refund_no")
        total_fee, refund_fee = _need_fen(fields, "total_fee"), _need_fen(fields, "refund_fee")
        refund = self.refunds.get(out_refund_no)
        if refund is not None:
            if refund.out_trade_no != trade.out_trade_no:
                raise SandboxRefusal("OUT_REFUND_NO_USED", "退款单号已用于其他订单")
        else:
            refund = self._open_refund(trade=trade, out_refund_no=out_refund_no, total_fee=total_fee,
                                       refund_fee=refund_fee)
        answer = {"result_code": OK, **_refund_fields(trade=trade, refund=refund, suffix="")}
        if trade.scenario not in (Scenario.REFUND_FAILS, Scenario.REFUND_PROCESSING):
            del answer["refund_status"]  # the real gateway's refund answer does not say
        return answer

    def _open_refund(
        self, *, trade: SandboxTrade, out_refund_no: str, total_fee: int, refund_fee: int,
    ) -> SandboxRefund:
        if trade.state not in _PAID_STATES:
            raise SandboxRefusal("TRADE_STATE_ERROR", "订单未支付，不能退款")
        if total_fee != trade.total_fee:
            raise SandboxRefusal("TOTAL_FEE_MISMATCH", "订单金额不符")
        if trade.refunded_fee() + refund_fee > trade.total_fee:
            raise SandboxRefusal("REFUND_FEE_INVALID", "退款金额超过可退金额")
        state = {Scenario.REFUND_FAILS: "FAIL", Scenario.REFUND_PROCESSING: "PROCESSING"}.get(trade.scenario, "SUCCESS")
        refund = SandboxRefund(
            out_refund_no=out_refund_no, refund_id=self._number(prefix="RF"), out_trade_no=trade.out_trade_no,
            refund_fee=refund_fee, state=state, refunded_at=self._now() if state == "SUCCESS" else None,
        )
        self.refunds[out_refund_no] = refund
        trade.refunds.append(refund)
        if state != "FAIL":
            trade.state = "REFUND"
        return refund

    async def _refund_query(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        if out_refund_no := fields.get("out_refund_no"):
            refund = self.refunds.get(out_refund_no)
            trade = self.trades[refund.out_trade_no] if refund else None
            refunds = [refund] if refund else []
        else:
            trade = self._trade_of(mch_id=mch_id, fields=fields)
            refunds = list(trade.refunds) if trade else []
        if trade is None or trade.mch_id != mch_id or not refunds:
            raise SandboxRefusal(REFUNDNOTEXIST, "退款单不存在")
        answer = {"result_code": OK, "out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id,
                  "refund_count": str(len(refunds))}
        for n, refund in enumerate(refunds):
            refund.queries += 1
            if refund.state == "PROCESSING" and refund.queries >= 2:
                refund.state, refund.refunded_at = "SUCCESS", self._now()
            answer |= _refund_fields(trade=trade, refund=refund, suffix=f"_{n}")
        return answer

    def _bill(self, *, mch_id: str, fields: Mapping[str, str]) -> str:
        try:
            day = datetime.strptime(_need(fields, "bill_date"), "%Y%m%d").date()
        except ValueError:
            raise _Malformed("bill_date 格式应为 yyyyMMdd") from None
        bill_type = fields.get("bill_type", "ALL")
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise _Malformed("bill_type 应为 ALL、SUCCESS 或 REFUND")
        rows = [row for trade in self.trades.values() if trade.mch_id == mch_id for row in _bill_rows(trade=trade)]
        wanted = {"ALL": (PAID, REFUNDED), "SUCCESS": (PAID,), "REFUND": (REFUNDED,)}[bill_type]
        return format_bill(rows=[row for row in rows if row.state in wanted and _china_day(row.trade_time) == day])

    # ---- trades and notifies ----------------------------------------------------------------------

    def _open_trade(self, *, mch_id: str, out_trade_no: str, kind: str, **details: Any) -> SandboxTrade:
        if out_trade_no in self.trades:
            raise SandboxRefusal("OUT_TRADE_NO_USED", "商户订单号已被使用")
        initial = "NOTPAY" if kind else "CLOSED"
        trade = SandboxTrade(mch_id=mch_id, out_trade_no=out_trade_no, kind=kind,
                             transaction_id=self._number(prefix="SP"), state=initial, **details)
        self.trades[out_trade_no] = trade
        return trade

    def _trade_of(self, *, mch_id: str, fields: Mapping[str, str]) -> SandboxTrade | None:
        if out_trade_no := fields.get("out_trade_no"):
            trade = self.trades.get(out_trade_no)
        elif transaction_id := fields.get("transaction_id"):
            trade = next((t for t in self.trades.values() if t.transaction_id == transaction_id), None)
        else:
            raise _Malformed("缺少参数 out_trade_no 或 transaction_id")
        return trade if trade is not None and trade.mch_id == mch_id else None

    def _require_trade(self, *, mch_id: str, fields: Mapping[str, str]) -> SandboxTrade:
        trade = self._trade_of(mch_id=mch_id, fields=fields)
        if trade is None:
            raise SandboxRefusal(ORDERNOTEXIST, "订单不存在")
        return trade

    def _number(self, *, prefix: str) -> str:
        return f"{prefix}{format_time(moment=self._now())}{next(self._numbers):06d}"

    def _mark_paid(self, trade: SandboxTrade) -> None:
        trade.state, trade.paid_at = "SUCCESS", self._now()
        if not trade.notify_url:
            return
        paid_fields = {"result_code": OK, "pay_result": OK, **_payment_fields(trade=trade)}
        paid = self._notify_body(trade=trade, fields=paid_fields)
        bodies = [paid]
        if trade.scenario is Scenario.NOTIFY_CHAOS:
            stale = {"result_code": "1", "pay_result": "1", "err_code": "NOTPAY", "err_msg": "订单未支付",
                     "out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id,
                     "total_fee": str(trade.total_fee)}
            bodies += [paid, self._notify_body(trade=trade, fields=stale)]
        due_at = self._now() + timedelta(seconds=self._notify_delays[0])
        self.pending_notifies += [
            PendingNotify(out_trade_no=trade.out_trade_no, url=trade.notify_url, body=body, due_at=due_at)
            for body in bodies
        ]

    def _notify_body(self, *, trade: SandboxTrade, fields: Mapping[str, str]) -> bytes:
        sealed = self.accounts[trade.mch_id].credentials().seal(fields={
            "version": VERSION, "charset": CHARSET, "status": OK, "mch_id": trade.mch_id, "nonce_str": new_nonce(),
            **fields,
        })
        return encode_xml(fields=sealed)

    async def _post_notify(self, *, notify: PendingNotify) -> bool:
        if self._notify_http is None:
            raise RuntimeError("the sandbox has no notify_http client (pass one, or run the app's lifespan)")
        try:
            response = await self._notify_http.post(
                notify.url, content=notify.body, headers={"Content-Type": "text/xml; charset=UTF-8"},
            )
        except httpx.HTTPError as error:
            log.info("sandbox notify %s to %s failed: %s", notify.out_trade_no, notify.url, type(error).__name__)
            return False
        return response.text == "success"

    async def _deliver_forever(self) -> None:
        while True:
            try:
                await self.deliver_due_notifies()
            except Exception:  # the loop must outlive one bad delivery round
                log.exception("sandbox notify delivery round failed")
            await asyncio.sleep(_NOTIFY_POLL_SECONDS)

    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        own_client = None
        if self._notify_http is None:
            own_client = self._notify_http = httpx.AsyncClient(timeout=10.0)
        task = asyncio.create_task(self._deliver_forever())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            if own_client is not None:
                await own_client.aclose()
                self._notify_http = None

    # ---- HTTP ---------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="SwiftPass sandbox", lifespan=self._lifespan)
        app.add_api_route(GATEWAY_PATH, self._gateway, methods=["POST"], include_in_schema=False)
        app.add_api_route("/_sandbox/trades", self._list_trades, methods=["GET"])
        app.add_api_route("/_sandbox/trades/{out_trade_no}", self._get_trade, methods=["GET"])
        app.add_api_route("/_sandbox/trades/{out_trade_no}/pay", self._pay_trade, methods=["POST"])
        app.add_api_route("/_sandbox/notifies/deliver", self._deliver, methods=["POST"])
        app.add_api_route("/_sandbox/qr/{out_trade_no}", self._qr_page, methods=["GET", "POST"],
                          response_class=HTMLResponse)
        return app

    async def _list_trades(self) -> list[dict[str, Any]]:
        return [_trade_json(trade=trade) for trade in self.trades.values()]

    async def _get_trade(self, out_trade_no: str) -> JSONResponse:
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return JSONResponse({"code": ORDERNOTEXIST, "message": "订单不存在"}, status_code=404)
        return JSONResponse(_trade_json(trade=trade))

    async def _pay_trade(self, out_trade_no: str, wallet: str = "wechat") -> JSONResponse:
        try:
            trade = self.pay_native(out_trade_no, wallet=wallet)
        except SandboxRefusal as refusal:
            return JSONResponse({"code": refusal.err_code, "message": refusal.message}, status_code=409)
        return JSONResponse(_trade_json(trade=trade))

    async def _deliver(self) -> dict[str, int]:
        return {"acknowledged": await self.deliver_due_notifies()}

    async def _qr_page(self, out_trade_no: str, request: Request) -> HTMLResponse:
        notice = ""
        if request.method == "POST":
            form = parse_qs((await request.body()).decode("utf-8"))
            try:
                self.pay_native(out_trade_no, wallet=form.get("wallet", ["wechat"])[0])
                notice = "支付成功"
            except SandboxRefusal as refusal:
                notice = f"无法支付：{refusal.message}"
        trade = self.trades.get(out_trade_no)
        if trade is None or trade.kind != "native":
            return HTMLResponse(_page(content="<p>没有这个二维码订单。</p>"), status_code=404)
        return HTMLResponse(_page(content=_qr_content(trade=trade, notice=notice)))


# ---- answers ----------------------------------------------------------------------------------------

def _need(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise _Malformed(f"缺少参数 {name}")
    return value


def _need_fen(fields: Mapping[str, str], name: str) -> int:
    fen = parse_fen(text=_need(fields, name))
    if not fen:
        raise _Malformed(f"{name} 应为正整数（分）")
    return fen


def _wire_time(*, text: str) -> datetime:
    try:
        return parse_time(text=text)
    except ValueError:
        raise _Malformed("时间格式应为 yyyyMMddHHmmss") from None


def _check_resend(*, trade: SandboxTrade, mch_id: str, content: tuple[str, ...]) -> None:
    if trade.state in _ENDED_STATES:
        raise SandboxRefusal(_ENDED_STATES[trade.state], "订单已关闭或已撤销")
    if trade.mch_id != mch_id or trade.content != content:
        raise SandboxRefusal("OUT_TRADE_NO_USED", "商户订单号重复，且内容不同")


def _system_error() -> dict[str, str]:
    return {"result_code": "1", "err_code": SYSTEMERROR, "err_msg": "系统繁忙，请稍后查询", "need_query": "Y"}


def _refused(err_code: str, message: str) -> dict[str, str]:
    return {"result_code": "1", "err_code": err_code, "err_msg": message, "need_query": "N"}


def _status_answer(*, status: str, message: str) -> Response:
    """A communication-level refusal; like the real gateway's, it is not signed."""
    body = encode_xml(fields={"version": VERSION, "charset": CHARSET, "status": status, "message": message})
    return Response(body, media_type="text/xml; charset=UTF-8")


def _payment_fields(*, trade: SandboxTrade) -> dict[str, str]:
    fields = {
        "out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id,
        "total_fee": str(trade.total_fee), "trade_type": trade.trade_type or "",
    }
    if trade.paid_at is not None:
        fields |= {"out_transaction_id": f"W{trade.transaction_id}", "cash_fee": str(trade.total_fee),
                   "time_end": format_time(moment=trade.paid_at)}
    return fields


def _micropay_answer(*, trade: SandboxTrade) -> dict[str, str]:
    if trade.state in _PAID_STATES:
        return {"result_code": OK, "pay_result": OK, "need_query": "N", **_payment_fields(trade=trade)}
    if trade.state == "USERPAYING":
        return {"result_code": "1", "err_code": USERPAYING, "err_msg": "等待用户输入密码", "need_query": "Y"}
    return _refused(trade.err_code or "PAYERROR", trade.err_msg or "支付失败")


def _refund_fields(*, trade: SandboxTrade, refund: SandboxRefund, suffix: str) -> dict[str, str]:
    fields = {
        "out_refund_no": refund.out_refund_no, "refund_id": refund.refund_id, "refund_fee": str(refund.refund_fee),
        "refund_channel": "ORIGINAL", "refund_status": refund.state,
    }
    if refund.refunded_at is not None:
        fields["refund_time"] = format_time(moment=refund.refunded_at)
    if not suffix:
        fields |= {"out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id}
    return {f"{name}{suffix}": value for name, value in fields.items()}


def _bill_rows(*, trade: SandboxTrade) -> list[BillRow]:
    if trade.state not in _PAID_STATES or trade.paid_at is None:
        return []
    common = {"mch_id": trade.mch_id, "out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id,
              "trade_type": trade.trade_type or "", "total_fee": trade.total_fee}
    rows = [BillRow(trade_time=trade.paid_at, state=PAID, **common)]
    rows += [
        BillRow(trade_time=refund.refunded_at, state=REFUNDED, out_refund_no=refund.out_refund_no,
                refund_id=refund.refund_id, refund_fee=refund.refund_fee, **common)
        for refund in trade.refunds if refund.state == "SUCCESS" and refund.refunded_at is not None
    ]
    return rows


def _china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _trade_json(*, trade: SandboxTrade) -> dict[str, Any]:
    return {
        "mch_id": trade.mch_id, "out_trade_no": trade.out_trade_no, "kind": trade.kind or None,
        "transaction_id": trade.transaction_id, "state": trade.state, "total_fee": trade.total_fee,
        "trade_type": trade.trade_type, "scenario": trade.scenario.value if trade.scenario else None,
        "paid_at": trade.paid_at.isoformat() if trade.paid_at else None,
        "time_expire": trade.time_expire.isoformat() if trade.time_expire else None,
        "refunds": [{"out_refund_no": r.out_refund_no, "refund_fee": r.refund_fee, "state": r.state}
                    for r in trade.refunds],
        "notifies_sent": trade.notifies_sent, "notifies_acknowledged": trade.notifies_acknowledged,
    }


def _qr_content(*, trade: SandboxTrade, notice: str) -> str:
    wallets = "".join(f'<option value="{wallet.value}">{label}</option>' for wallet, label in _WALLET_LABELS.items())
    form = ""
    if trade.state == "NOTPAY":
        form = (f'<form method="post"><label>钱包 <select name="wallet">{wallets}</select></label> '
                '<button type="submit">确认支付</button></form>')
    return (
        f"<p>商品：{html.escape(trade.body)}</p><p>金额：¥{yuan(trade.total_fee)}</p>"
        f"<p>订单号：{html.escape(trade.out_trade_no)}</p><p>状态：{_STATE_NAMES[trade.state]}</p>"
        f"{form}<p><strong>{html.escape(notice)}</strong></p>"
    )


def _page(*, content: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>威富通沙箱 · 扫码支付</title>"
        '</head><body style="font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem">'
        f"<h1>扫码支付（沙箱）</h1>{content}</body></html>"
    )
