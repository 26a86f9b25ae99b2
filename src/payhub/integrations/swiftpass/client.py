"""The SwiftPass connector: the hub's PaymentChannel spoken as signed XML to `<base_url>/pay/gateway`.

An answer is believed only when its signature checks out; anything else (no answer, a timeout, a
communication error, a bad signature) is reported as UNKNOWN so that the caller queries.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import date, datetime

import httpx

from payhub.integrations.swiftpass.wire import (
    BANKERROR, CHARSET, GATEWAY_PATH, NOT_FOUND_CODES, OK, ORDERPAID, REFUND_STATES, SERVICE_BILL,
    SERVICE_CLOSE, SERVICE_MICROPAY, SERVICE_NATIVE, SERVICE_QUERY, SERVICE_REFUND, SERVICE_REFUND_QUERY,
    SERVICE_REVERSE, SYSTEMERROR, TRADE_STATES, USERPAYING, VERSION, Credentials, WireError, decode_xml,
    encode_xml, format_time, new_nonce, parse_fen, parse_time,
)
from payhub.config import SwiftPassAccount, SwiftPassSettings
from payhub.kernel.domain.payments import (
    Capability, CloseResult, CloseStatus, NativeQr, PayResult, PayStatus, RefundResult, RefundStatus,
)
from payhub.kernel.domain.wallets import mask_code
from payhub.kernel.ports import ChannelRefused, ChannelUnavailable, SignatureInvalid

log = logging.getLogger(__name__)

Answer = Mapping[str, str]
_QUERY_AT_ONCE = frozenset({SYSTEMERROR, BANKERROR})
# SwiftPass's out_trade_no: at most 32 letters, digits and _-|*; anything else names no order of ours
_OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_\-|*]{1,32}")


class SwiftPassChannel:
    """PaymentChannel over the SwiftPass gateway, one signed request per operation."""

    name = "swiftpass"
    supports = frozenset({Capability.QR, Capability.PAYMENT_CODE})

    def __init__(self, *, settings: SwiftPassSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def micropay(
        self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, auth_code: str,
        client_ip: str, device_info: str | None = None, op_user_id: str | None = None,
    ) -> PayResult:
        """Charge a payment code the terminal scanned."""
        answer = await self._call(merchant=merchant, service=SERVICE_MICROPAY, fields={
            "out_trade_no": out_trade_no, "body": body, "total_fee": str(total_fee), "mch_create_ip": client_ip,
            "auth_code": auth_code, "device_info": device_info, "op_user_id": op_user_id,
        })
        result = _micropay_result(answer=answer, out_trade_no=out_trade_no)
        log.info("swiftpass micropay %s code %s: %s", out_trade_no, mask_code(auth_code), result.status)
        return result

    async def native(
        self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, notify_url: str,
        client_ip: str, time_expire: datetime | None = None,
    ) -> NativeQr:
        """Ask for a collection QR the customer scans. Raises ChannelUnavailable or ChannelRefused."""
        answer = await self._call(merchant=merchant, service=SERVICE_NATIVE, fields={
            "out_trade_no": out_trade_no, "body": body, "total_fee": str(total_fee), "mch_create_ip": client_ip,
            "notify_url": notify_url, "time_expire": format_time(moment=time_expire) if time_expire else None,
        })
        if answer is None:
            raise ChannelUnavailable(f"SwiftPass gave no trustworthy answer for QR {out_trade_no}")
        if answer.get("status") != OK:
            raise ChannelRefused(answer.get("err_code") or "GATEWAY_REFUSED", _message(answer))
        if answer.get("result_code") != OK:
            if answer.get("err_code") in _QUERY_AT_ONCE or answer.get("need_query") == "Y":
                raise ChannelUnavailable(f"SwiftPass system error for QR {out_trade_no}: {_message(answer)}")
            raise ChannelRefused(answer.get("err_code") or "REFUSED", _message(answer))
        code_url = answer.get("code_url")
        if not code_url:
            raise ChannelUnavailable(f"SwiftPass answered QR {out_trade_no} without a code_url")
        return NativeQr(out_trade_no=out_trade_no, code_url=code_url, code_img_url=answer.get("code_img_url"))

    async def query(self, *, merchant: str, out_trade_no: str) -> PayResult:
        """The trade's current state."""
        answer = await self._call(merchant=merchant, service=SERVICE_QUERY, fields={"out_trade_no": out_trade_no})
        if answer is None or answer.get("status") != OK:
            return _unknown_pay(answer=answer, out_trade_no=out_trade_no)
        if answer.get("result_code") != OK:
            if answer.get("err_code") in NOT_FOUND_CODES:
                return PayResult(status=PayStatus.NOT_FOUND, out_trade_no=out_trade_no, err_code=answer.get("err_code"))
            return _unknown_pay(answer=answer, out_trade_no=out_trade_no)
        trade_state = answer.get("trade_state", "")
        status = TRADE_STATES.get(trade_state, PayStatus.UNKNOWN)
        if status is PayStatus.PAID:
            return _paid(answer=answer, out_trade_no=out_trade_no)
        return PayResult(
            status=status, out_trade_no=out_trade_no, transaction_id=answer.get("transaction_id"),
            trade_type=answer.get("trade_type"), total_fee=parse_fen(text=answer.get("total_fee")),
            err_code=trade_state or None, message=answer.get("trade_state_desc"),
        )

    async def close(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        """Close an unpaid QR trade so that it can no longer be paid."""
        answer = await self._call(merchant=merchant, service=SERVICE_CLOSE, fields={"out_trade_no": out_trade_no})
        if answer is not None and answer.get("status") == OK and answer.get("err_code") == ORDERPAID:
            return CloseResult(status=CloseStatus.ALREADY_PAID, out_trade_no=out_trade_no, err_code=ORDERPAID)
        return _close_result(answer=answer, out_trade_no=out_trade_no)

    async def reverse(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        """Reverse a payment-code trade (refunds it if it was paid meanwhile)."""
        answer = await self._call(merchant=merchant, service=SERVICE_REVERSE, fields={"out_trade_no": out_trade_no})
        if answer is not None and answer.get("status") == OK and answer.get("retry_flag") == "Y":
            return CloseResult(
                status=CloseStatus.RETRY, out_trade_no=out_trade_no, err_code=answer.get("err_code"),
                message=_message(answer),
            )
        return _close_result(answer=answer, out_trade_no=out_trade_no)

    async def refund(
        self, *, merchant: str, out_trade_no: str, out_refund_no: str, total_fee: int, refund_fee: int,
        op_user_id: str,
    ) -> RefundResult:
        """Refund part or all of a paid trade; the same out_refund_no refunds once only."""
        answer = await self._call(merchant=merchant, service=SERVICE_REFUND, fields={
            "out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "total_fee": str(total_fee),
            "refund_fee": str(refund_fee), "op_user_id": op_user_id,
        })
        # an accepted refund answer usually carries no refund_status: the money is on its way
        return _refund_result(answer=answer, out_refund_no=out_refund_no, suffix="", missing=RefundStatus.PROCESSING)

    async def refund_query(self, *, merchant: str, out_refund_no: str) -> RefundResult:
        """The refund's current state."""
        answer = await self._call(
            merchant=merchant, service=SERVICE_REFUND_QUERY, fields={"out_refund_no": out_refund_no},
        )
        suffix = _refund_suffix(answer=answer, out_refund_no=out_refund_no) if answer is not None else ""
        return _refund_result(answer=answer, out_refund_no=out_refund_no, suffix=suffix, missing=RefundStatus.UNKNOWN)

    def notify_trade_no(self, *, body: bytes) -> str:
        """The out_trade_no a notify names, unverified. Raises SignatureInvalid for bad XML or none named."""
        out_trade_no = _notify_fields(body=body).get("out_trade_no")
        if not out_trade_no or not _OUT_TRADE_NO.fullmatch(out_trade_no):
            # unverified text: refused before it reaches a database lookup or a log line
            raise SignatureInvalid("SwiftPass notify without a well-formed out_trade_no")
        return out_trade_no

    def parse_notify(self, *, body: bytes, merchant: str) -> PayResult:
        """A notify verified as `merchant`'s: its mch_id and its key. Raises SignatureInvalid otherwise."""
        fields = _notify_fields(body=body)
        account = self._settings.accounts.get(merchant)
        if account is None:
            raise SignatureInvalid(f"no SwiftPass account for merchant {merchant!r}")
        if fields.get("mch_id") != account.mch_id or not _credentials(account=account).verify(fields=fields):
            log.warning("swiftpass notify for merchant %s (mch_id %r) refused: not signed as that merchant",
                        merchant, fields.get("mch_id"))
            raise SignatureInvalid("SwiftPass notify is not signed by the order's merchant")
        out_trade_no = fields.get("out_trade_no")
        if not out_trade_no:
            raise SignatureInvalid("SwiftPass notify without out_trade_no")
        if all(fields.get(name) == OK for name in ("status", "result_code", "pay_result")):
            return _paid(answer=fields, out_trade_no=out_trade_no)
        return PayResult(
            status=PayStatus.FAILED, out_trade_no=out_trade_no, total_fee=parse_fen(text=fields.get("total_fee")),
            err_code=fields.get("err_code") or fields.get("pay_result"), message=_message(fields),
        )

    async def bill(self, *, merchant: str, bill_date: date, bill_type: str = "ALL") -> str:
        """The channel's statement file for one day (for reconciliation), in billfile.py's layout."""
        raw = await self._post(merchant=merchant, service=SERVICE_BILL, fields={
            "bill_date": bill_date.strftime("%Y%m%d"), "bill_type": bill_type,
        })
        if raw is None:
            raise ChannelUnavailable(f"SwiftPass did not answer the {bill_date} statement")
        # a statement is plain text; an XML body is the gateway explaining why there is none
        if raw.lstrip().startswith(b"<xml"):
            try:
                answer = decode_xml(body=raw)
            except WireError as error:
                raise ChannelUnavailable("SwiftPass answered the statement with unreadable XML") from error
            raise ChannelRefused(answer.get("err_code") or "NO_BILL", _message(answer))
        return raw.decode("utf-8")

    async def _call(self, *, merchant: str, service: str, fields: Mapping[str, str | None]) -> Answer | None:
        """The gateway's answer, or None when there is none to trust. status≠0 answers come unsigned."""
        raw = await self._post(merchant=merchant, service=service, fields=fields)
        if raw is None:
            return None
        try:
            answer = decode_xml(body=raw)
        except WireError as error:
            log.warning("swiftpass %s for merchant %s: unreadable answer (%s)", service, merchant, error)
            return None
        if answer.get("status") != OK:
            log.warning("swiftpass %s for merchant %s: status %r %s", service, merchant,
                        answer.get("status"), _message(answer))
            return answer
        account = self._account(merchant=merchant)
        ours = answer.get("mch_id", account.mch_id) == account.mch_id
        if not (ours and _credentials(account=account).verify(fields=answer)):
            log.warning("swiftpass %s for merchant %s: answer failed its signature check, ignored", service, merchant)
            return None
        return answer

    async def _post(self, *, merchant: str, service: str, fields: Mapping[str, str | None]) -> bytes | None:
        """The raw body the gateway answered to a signed request, or None for no (usable) answer."""
        account = self._account(merchant=merchant)
        request = _credentials(account=account).seal(fields={
            "service": service, "version": VERSION, "charset": CHARSET, "mch_id": account.mch_id,
            "nonce_str": new_nonce(), **{name: value for name, value in fields.items() if value is not None},
        })
        url = self._settings.base_url.rstrip("/") + GATEWAY_PATH
        try:
            # the overall deadline also holds for transports that ignore httpx's own timeouts
            async with asyncio.timeout(self._settings.timeout_seconds):
                response = await self._http.post(
                    url, content=encode_xml(fields=request), timeout=self._settings.timeout_seconds,
                    headers={"Content-Type": "text/xml; charset=UTF-8"},
                )
        except (httpx.HTTPError, TimeoutError) as error:
            log.warning("swiftpass %s for merchant %s: no answer (%s)", service, merchant, type(error).__name__)
            return None
        if response.status_code != 200:
            log.warning("swiftpass %s for merchant %s: HTTP %s", service, merchant, response.status_code)
            return None
        return response.content

    def _account(self, *, merchant: str) -> SwiftPassAccount:
        try:
            return self._settings.accounts[merchant]
        except KeyError:
            raise LookupError(f"no SwiftPass account configured for merchant {merchant!r}") from None


def _notify_fields(*, body: bytes) -> dict[str, str]:
    try:
        return decode_xml(body=body)
    except WireError as error:
        raise SignatureInvalid("unreadable SwiftPass notify") from error


def _credentials(*, account: SwiftPassAccount) -> Credentials:
    return Credentials(
        sign_type=account.sign_type, md5_key=account.key, own_private_key_pem=account.private_key_pem,
        peer_public_key_pem=account.platform_public_key_pem,
    )


def _message(answer: Answer | None) -> str | None:
    if answer is None:
        return None
    return answer.get("err_msg") or answer.get("message") or None


def _paid(*, answer: Answer, out_trade_no: str) -> PayResult:
    try:
        paid_at = parse_time(text=answer.get("time_end", ""))
    except ValueError:
        paid_at = None  # absent or garbled: the hub then records when it heard of the payment
    return PayResult(
        status=PayStatus.PAID, out_trade_no=out_trade_no, transaction_id=answer.get("transaction_id"),
        trade_type=answer.get("trade_type"), total_fee=parse_fen(text=answer.get("total_fee")), paid_at=paid_at,
    )


def _unknown_pay(*, answer: Answer | None, out_trade_no: str, query_now: bool = False) -> PayResult:
    return PayResult(
        status=PayStatus.UNKNOWN, out_trade_no=out_trade_no, err_code=answer.get("err_code") if answer else None,
        message=_message(answer), query_now=query_now,
    )


def _micropay_result(*, answer: Answer | None, out_trade_no: str) -> PayResult:
    """The reference's payment-code decision: only an explicit, verified answer is final."""
    if answer is None or answer.get("status") != OK:
        return _unknown_pay(answer=answer, out_trade_no=out_trade_no)
    if answer.get("result_code") == OK and answer.get("pay_result") == OK:
        return _paid(answer=answer, out_trade_no=out_trade_no)
    err_code = answer.get("err_code")
    if err_code == USERPAYING:
        return PayResult(
            status=PayStatus.PENDING, out_trade_no=out_trade_no, err_code=err_code, message=_message(answer),
        )
    # result_code=0 without pay_result=0 is not a refusal either: ask rather than guess
    if err_code in _QUERY_AT_ONCE or answer.get("need_query") == "Y" or answer.get("result_code") == OK:
        return _unknown_pay(answer=answer, out_trade_no=out_trade_no, query_now=True)
    return PayResult(status=PayStatus.FAILED, out_trade_no=out_trade_no, err_code=err_code, message=_message(answer))


def _close_result(*, answer: Answer | None, out_trade_no: str) -> CloseResult:
    if answer is not None and answer.get("status") == OK and answer.get("result_code") == OK:
        return CloseResult(status=CloseStatus.CLOSED, out_trade_no=out_trade_no)
    return CloseResult(
        status=CloseStatus.UNKNOWN, out_trade_no=out_trade_no, err_code=answer.get("err_code") if answer else None,
        message=_message(answer),
    )


def _refund_suffix(*, answer: Answer, out_refund_no: str) -> str:
    """Which `_n` of a refundquery answer describes this refund ('' when none does)."""
    count = parse_fen(text=answer.get("refund_count")) or 0
    return next((f"_{n}" for n in range(count) if answer.get(f"out_refund_no_{n}") == out_refund_no), "")


def _refund_result(*, answer: Answer | None, out_refund_no: str, suffix: str, missing: RefundStatus) -> RefundResult:
    """A refund's state from a refund (suffix '') or refundquery (suffix '_n') answer."""
    if answer is None or answer.get("status") != OK:
        return RefundResult(status=RefundStatus.UNKNOWN, out_refund_no=out_refund_no, message=_message(answer))
    err_code = answer.get("err_code")
    if answer.get("result_code") != OK:
        if err_code in NOT_FOUND_CODES:
            status = RefundStatus.NOT_FOUND
        elif err_code in _QUERY_AT_ONCE:
            status = RefundStatus.UNKNOWN
        else:
            status = RefundStatus.FAILED
        return RefundResult(status=status, out_refund_no=out_refund_no, err_code=err_code, message=_message(answer))
    wire_status = answer.get(f"refund_status{suffix}")
    return RefundResult(
        status=REFUND_STATES.get(wire_status, RefundStatus.UNKNOWN) if wire_status else missing,
        out_refund_no=out_refund_no, refund_id=answer.get(f"refund_id{suffix}"),
        refund_fee=parse_fen(text=answer.get(f"refund_fee{suffix}")),
    )
