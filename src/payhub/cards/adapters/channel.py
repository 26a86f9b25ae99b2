"""The stored-value card system behind the PaymentChannel port.

The card payment use cases live in services (adapters may not import them); the composition root hands them in,
bound to the hub, as CardOperations. This shell adds what makes it a channel: no QR, no notifies, and a failure
of the card system's own infrastructure (database away) reported as an unclear outcome, never raised."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from payhub.kernel.domain.payments import (
    Capability, CloseResult, CloseStatus, NativeQr, PayResult, PayStatus, RefundResult, RefundStatus,
)
from payhub.kernel.ports import ChannelRefused, SignatureInvalid

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CardOperations:
    """The card payment use cases, each already bound to a hub (keyword arguments as in services.card_channel)."""

    pay: Callable[..., Awaitable[PayResult]]
    query: Callable[..., Awaitable[PayResult]]
    cancel: Callable[..., Awaitable[CloseResult]]
    refund: Callable[..., Awaitable[RefundResult]]
    refund_query: Callable[..., Awaitable[RefundResult]]
    statement: Callable[..., Awaitable[str]]


class CardChannel:
    """Channel "card": payment codes are `card no.=pay password`; reverse and close refund a paid payment in full."""

    name = "card"
    supports = frozenset({Capability.PAYMENT_CODE, Capability.STORED_VALUE})

    def __init__(self, *, operations: CardOperations) -> None:
        self._ops = operations

    async def _unclear_if_broken(self, call: Awaitable[T], unclear: T, operation: str) -> T:
        try:
            return await call
        except Exception:  # noqa: BLE001 - the port's rule: an unclear outcome is answered, never raised
            log.exception("card channel %s failed", operation)
            return unclear

    async def micropay(
        self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, auth_code: str,
        client_ip: str, device_info: str | None = None, op_user_id: str | None = None,
    ) -> PayResult:
        """Consume total_fee from the card the code names, checking its pay password."""
        return await self._unclear_if_broken(
            self._ops.pay(merchant=merchant, out_trade_no=out_trade_no, total_fee=total_fee, auth_code=auth_code,
                          terminal_code=device_info),
            PayResult(PayStatus.UNKNOWN, out_trade_no, err_code="CARD_SYSTEM_ERROR", query_now=True), "micropay")

    async def native(
        self, *, merchant: str, out_trade_no: str, total_fee: int, body: str, notify_url: str,
        client_ip: str, time_expire: datetime | None = None,
    ) -> NativeQr:
        """Cards are presented at the counter: there is no collection QR."""
        raise ChannelRefused("NOT_SUPPORTED", "储值卡不支持二维码收款，请刷卡并输入支付密码")

    async def query(self, *, merchant: str, out_trade_no: str) -> PayResult:
        """The card payment's state: PAID or NOT_FOUND."""
        return await self._unclear_if_broken(
            self._ops.query(merchant=merchant, out_trade_no=out_trade_no),
            PayResult(PayStatus.UNKNOWN, out_trade_no, err_code="CARD_SYSTEM_ERROR"), "query")

    async def close(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        """Close = reverse: a paid card payment is refunded in full."""
        return await self.reverse(merchant=merchant, out_trade_no=out_trade_no)

    async def reverse(self, *, merchant: str, out_trade_no: str) -> CloseResult:
        """Give back what is left of a paid card payment; an unknown one is already closed."""
        return await self._unclear_if_broken(
            self._ops.cancel(merchant=merchant, out_trade_no=out_trade_no),
            CloseResult(CloseStatus.UNKNOWN, out_trade_no, err_code="CARD_SYSTEM_ERROR"), "reverse")

    async def refund(
        self, *, merchant: str, out_trade_no: str, out_refund_no: str, total_fee: int, refund_fee: int,
        op_user_id: str,
    ) -> RefundResult:
        """Return refund_fee to the card; the same out_refund_no refunds once."""
        return await self._unclear_if_broken(
            self._ops.refund(merchant=merchant, out_trade_no=out_trade_no, out_refund_no=out_refund_no,
                             refund_fee=refund_fee),
            RefundResult(RefundStatus.UNKNOWN, out_refund_no, err_code="CARD_SYSTEM_ERROR"), "refund")

    async def refund_query(self, *, merchant: str, out_refund_no: str) -> RefundResult:
        """The card refund's state: SUCCESS or NOT_FOUND."""
        return await self._unclear_if_broken(
            self._ops.refund_query(merchant=merchant, out_refund_no=out_refund_no),
            RefundResult(RefundStatus.UNKNOWN, out_refund_no, err_code="CARD_SYSTEM_ERROR"), "refund_query")

    def notify_trade_no(self, *, body: bytes) -> str:
        """Cards push no notifies, so anything claiming to be one is refused."""
        raise SignatureInvalid("the card channel sends no notifies")

    def parse_notify(self, *, body: bytes, merchant: str) -> PayResult:
        """Cards push no notifies, so anything claiming to be one is refused."""
        raise SignatureInvalid("the card channel sends no notifies")

    async def bill(self, *, merchant: str, bill_date: date, bill_type: str = "ALL") -> str:
        """The day's card payments and refunds, CSV (see services.card_channel.BILL_HEADER)."""
        return await self._ops.statement(merchant=merchant, bill_date=bill_date, bill_type=bill_type)
