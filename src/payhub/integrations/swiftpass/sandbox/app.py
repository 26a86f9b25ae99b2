"""The SwiftPass gateway simulator's HTTP side: the real `POST /pay/gateway` protocol over GatewayState.

It checks request signatures and signs its answers with the platform's keys. Notifies go to the trade's
notify_url (optional for micropay) as signed XML and are retried on `notify_delays` (the i-th number is
the wait before attempt i+1) until the answer body is exactly `success`. The app's lifespan runs the
delivery loop; tests call `deliver_due_notifies()` instead.

Python controls: `pay_native`, `fail_next`, `deliver_due_notifies`, and the `trades`, `refunds`,
`pending_notifies` it keeps. HTTP controls under /_sandbox/ (see docs/swiftpass-sandbox.md), among them
the page a native code_url points at: open it in a browser and press 确认支付 to pay.
"""
from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from payhub.integrations.swiftpass.billfile import PAID, REFUNDED, format_bill
from payhub.integrations.swiftpass.sandbox.scenarios import (
    Fault, first_answer, refund_answer_tells_status, scenario_of, system_error_answer,
)
from payhub.integrations.swiftpass.sandbox.state import (
    DEFAULT_NOTIFY_DELAYS, PAID_STATES, STATE_NAMES, GatewayState, PendingNotify, SandboxAccount, SandboxRefund,
    SandboxRefusal, SandboxTrade, payment_fields,
)
from payhub.integrations.swiftpass.wire import (
    CHARSET, CHINA, GATEWAY_PATH, OK, ORDERNOTEXIST, REFUNDNOTEXIST, SERVICE_BILL, SERVICE_CLOSE, SERVICE_MICROPAY,
    SERVICE_NATIVE, SERVICE_QUERY, SERVICE_REFUND, SERVICE_REFUND_QUERY, SERVICE_REVERSE, USERPAYING, VERSION,
    WireError, decode_xml, encode_xml, format_time, new_nonce, parse_fen, parse_time,
)
from payhub.kernel.domain.errors import InvalidInput
from payhub.kernel.domain.money import yuan
from payhub.kernel.domain.wallets import Wallet, wallet_of

log = logging.getLogger(__name__)

_NOTIFY_POLL_SECONDS = 0.5
_WALLET_LABELS = {Wallet.WECHAT: "微信支付", Wallet.ALIPAY: "支付宝", Wallet.UNIONPAY: "云闪付"}


class _Malformed(Exception):
    """A request the gateway does not understand (answered with status≠0)."""


class _Service(Protocol):
    def __call__(self, *, mch_id: str, fields: Mapping[str, str]) -> Awaitable[dict[str, str]]: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SwiftPassSandbox(GatewayState):
    """The simulated gateway: its state, served by `.app`."""

    def __init__(
        self, *, accounts: Mapping[str, SandboxAccount], notify_http: httpx.AsyncClient | None = None,
        now: Callable[[], datetime] = _utc_now, notify_delays: Sequence[float] = DEFAULT_NOTIFY_DELAYS,
        slow_seconds: float = 20.0, public_url: str = "http://127.0.0.1:8200",
    ) -> None:
        super().__init__(accounts=accounts, now=now, notify_delays=notify_delays)
        self._notify_http = notify_http
        self._slow_seconds = slow_seconds
        self._public_url = public_url.rstrip("/")
        self._faults: dict[str, Fault] = {}
        self._delivering = asyncio.Lock()
        self._services: dict[str, _Service] = {
            SERVICE_MICROPAY: self._micropay, SERVICE_NATIVE: self._native, SERVICE_QUERY: self._query,
            SERVICE_CLOSE: self._close, SERVICE_REVERSE: self._reverse, SERVICE_REFUND: self._refund,
            SERVICE_REFUND_QUERY: self._refund_query,
        }
        self.app = self._build_app()

    # ---- Python controls -------------------------------------------------------------------------

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
                    self.drop_notify(notify)
                elif (delay := self.next_notify_delay(attempts=notify.attempts)) is not None:
                    notify.due_at = now + timedelta(seconds=delay)
                else:
                    log.warning("sandbox gives up notifying %s after %d attempts", notify.out_trade_no, notify.attempts)
                    self.drop_notify(notify)
            return acknowledged

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
        return _signed_answer(account=account, mch_id=mch_id, answer=answer, fault=fault, service=service)

    async def _micropay(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        out_trade_no, total_fee = _need(fields, "out_trade_no"), _need_fen(fields, "total_fee")
        body, auth_code = _need(fields, "body"), _need(fields, "auth_code")
        content = (SERVICE_MICROPAY, str(total_fee), body, auth_code)
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            self.check_resend(trade=existing, mch_id=mch_id, content=content)
            return _micropay_answer(trade=existing)
        try:
            wallet = wallet_of(auth_code)
        except InvalidInput:
            raise SandboxRefusal("AUTH_CODE_INVALID", "付款码无效") from None
        trade = self.open_micropay(
            mch_id=mch_id, out_trade_no=out_trade_no, total_fee=total_fee, body=body, wallet=wallet, content=content, notify_url=fields.get("notify_url") or None,
            scenario=scenario_of(auth_code=auth_code, total_fee=total_fee),
        )
        return await first_answer(trade.scenario, answer=_micropay_answer(trade=trade),
                                  slow_seconds=self._slow_seconds)

    async def _native(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        out_trade_no, total_fee = _need(fields, "out_trade_no"), _need_fen(fields, "total_fee")
        body, notify_url = _need(fields, "body"), _need(fields, "notify_url")
        time_expire = fields.get("time_expire", "")
        content = (SERVICE_NATIVE, str(total_fee), body, notify_url, time_expire)
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            self.check_resend(trade=existing, mch_id=mch_id, content=content)
            return self._native_answer(trade=existing)
        scenario = scenario_of(auth_code=None, total_fee=total_fee)
        trade = self.open_native(
            mch_id=mch_id, out_trade_no=out_trade_no, total_fee=total_fee, body=body, notify_url=notify_url,
            time_expire=_wire_time(text=time_expire) if time_expire else None, content=content, scenario=scenario,
        )
        return await first_answer(trade.scenario, answer=self._native_answer(trade=trade),
                                  slow_seconds=self._slow_seconds)

    def _native_answer(self, *, trade: SandboxTrade) -> dict[str, str]:
        return {
            "result_code": OK, "out_trade_no": trade.out_trade_no,
            "code_url": f"{self._public_url}/_sandbox/qr/{trade.out_trade_no}",
        }

    async def _query(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        trade = self._require_trade(mch_id=mch_id, fields=fields)
        self.record_query(trade=trade)
        answer = {"result_code": OK, "trade_state": trade.state, "trade_state_desc": STATE_NAMES[trade.state]}
        return {**answer, **payment_fields(trade=trade)}

    async def _close(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        return self._end(mch_id=mch_id, fields=fields, kind="native", ended_state="CLOSED")

    async def _reverse(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        return self._end(mch_id=mch_id, fields=fields, kind="micropay", ended_state="REVERSE")

    def _end(self, *, mch_id: str, fields: Mapping[str, str], kind: str, ended_state: str) -> dict[str, str]:
        trade = self._trade_of(mch_id=mch_id, fields=fields)
        out_trade_no = trade.out_trade_no if trade is not None else _need(fields, "out_trade_no")
        trade = self.end(mch_id=mch_id, trade=trade, out_trade_no=out_trade_no, kind=kind, ended_state=ended_state)
        return {"result_code": OK, "out_trade_no": trade.out_trade_no}

    async def _refund(self, *, mch_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        trade = self._require_trade(mch_id=mch_id, fields=fields)
        out_refund_no = _need(fields, "out_refund_no")
        total_fee, refund_fee = _need_fen(fields, "total_fee"), _need_fen(fields, "refund_fee")
        refund = self.refund(trade=trade, out_refund_no=out_refund_no, total_fee=total_fee, refund_fee=refund_fee)
        answer = {"result_code": OK, **_refund_fields(trade=trade, refund=refund, suffix="")}
        if not refund_answer_tells_status(trade.scenario):
            del answer["refund_status"]  # the real gateway's refund answer does not say
        return answer

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
            self.record_refund_query(refund=refund)
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
        wanted = {"ALL": (PAID, REFUNDED), "SUCCESS": (PAID,), "REFUND": (REFUNDED,)}[bill_type]
        rows = self.bill_rows(mch_id=mch_id)
        return format_bill(rows=[row for row in rows if row.state in wanted and _china_day(row.trade_time) == day])

    def _trade_of(self, *, mch_id: str, fields: Mapping[str, str]) -> SandboxTrade | None:
        out_trade_no, transaction_id = fields.get("out_trade_no"), fields.get("transaction_id")
        if not out_trade_no and not transaction_id:
            raise _Malformed("缺少参数 out_trade_no 或 transaction_id")
        return self.find_trade(mch_id=mch_id, out_trade_no=out_trade_no, transaction_id=transaction_id)

    def _require_trade(self, *, mch_id: str, fields: Mapping[str, str]) -> SandboxTrade:
        trade = self._trade_of(mch_id=mch_id, fields=fields)
        if trade is None:
            raise SandboxRefusal(ORDERNOTEXIST, "订单不存在")
        return trade

    # ---- notify delivery ----------------------------------------------------------------------------

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

    # ---- HTTP controls ------------------------------------------------------------------------------

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


def _refused(err_code: str, message: str) -> dict[str, str]:
    return {"result_code": "1", "err_code": err_code, "err_msg": message, "need_query": "N"}


def _status_answer(*, status: str, message: str) -> Response:
    """A communication-level refusal; like the real gateway's, it is not signed."""
    body = encode_xml(fields={"version": VERSION, "charset": CHARSET, "status": status, "message": message})
    return Response(body, media_type="text/xml; charset=UTF-8")


def _signed_answer(
    *, account: SandboxAccount, mch_id: str, answer: dict[str, str], fault: Fault | None, service: str,
) -> Response:
    if fault is Fault.SYSTEM_ERROR:
        answer = system_error_answer()
        if service == SERVICE_REVERSE:
            answer["retry_flag"] = "Y"
    sealed = account.credentials().seal(fields={
        "version": VERSION, "charset": CHARSET, "status": OK, "mch_id": mch_id, "nonce_str": new_nonce(), **answer,
    })
    if fault is Fault.BAD_SIGNATURE:
        sealed["sign"] = sealed["sign"][::-1]
    return Response(encode_xml(fields=sealed), media_type="text/xml; charset=UTF-8")


def _micropay_answer(*, trade: SandboxTrade) -> dict[str, str]:
    if trade.state in PAID_STATES:
        return {"result_code": OK, "pay_result": OK, "need_query": "N", **payment_fields(trade=trade)}
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
        f"<p>订单号：{html.escape(trade.out_trade_no)}</p><p>状态：{STATE_NAMES[trade.state]}</p>"
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
