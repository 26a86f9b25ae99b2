"""The stored-value card as a payment way of the hub (channel "card"): a counter payment code becomes an offline
card consume through the same idempotent consume path (out_trade_no = the consume's external order no.), and the
channel's questions (query, refund, reverse, statement) are answered from the card records.

The hub merchant is the card issuer, and its card merchant with the same code takes the money."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from payhub.cards.domain.money import TxChannel, TxKind
from payhub.cards.domain.rows import CardTx
from payhub.kernel.domain.errors import InvalidInput, NotFound, PayhubError, Unavailable
from payhub.kernel.domain.payments import CloseResult, CloseStatus, PayResult, PayStatus, RefundResult, RefundStatus
from payhub.kernel.domain.wallets import card_code_parts
from payhub.cards.services import money as card_money
from payhub.cards.services import queries as card_queries
from payhub.cards.services.context import CardHub

CARD_CHANNEL = "card"
TRADE_TYPE = "card.micropay"
BILL_HEADER = "time,type,tx_no,original_tx_no,out_no,fen,card_no"
_BILL_KINDS = {"ALL": (TxKind.CONSUME, TxKind.REFUND), "SUCCESS": (TxKind.CONSUME,), "REFUND": (TxKind.REFUND,)}
_PAGE = 500


async def _issuer_id(hub: CardHub, merchant: str) -> int:
    async with hub.uow(read_only=True) as uow:
        found = await uow.tenancy.merchant(code=merchant)
    if found is None:
        raise NotFound("CARD_MERCHANT_NOT_FOUND", merchant_code=merchant)
    return found.id


def _paid(*, out_trade_no: str, tx_no: str, amount: int, at: datetime) -> PayResult:
    return PayResult(PayStatus.PAID, out_trade_no, transaction_id=tx_no, trade_type=TRADE_TYPE, total_fee=amount,
                     paid_at=at)


async def _record(*, hub: CardHub, merchant: str, out_no: str, kind: TxKind) -> CardTx | None:
    try:
        return await card_queries.find(hub=hub, merchant_id=await _issuer_id(hub, merchant), merchant_code=merchant,
                                       out_no=out_no, kind=kind)
    except NotFound:
        return None


async def pay(*, hub: CardHub, merchant: str, out_trade_no: str, total_fee: int, auth_code: str,
              terminal_code: str | None = None) -> PayResult:
    """Charge a card payment code (card no.=pay password) with one offline consume; refusals are FAILED."""
    try:
        card_no, password = card_code_parts(auth_code)
        tx = await card_money.consume(hub=hub, merchant_id=await _issuer_id(hub, merchant), merchant_code=merchant,
                                      card_no=card_no, out_trade_no=out_trade_no, amount=total_fee,
                                      channel=TxChannel.OFFLINE, pay_password=password, terminal_code=terminal_code)
    except Unavailable as error:
        return PayResult(PayStatus.UNKNOWN, out_trade_no, err_code=error.code, message=str(error), query_now=True)
    except PayhubError as error:
        if error.code == "IDEMPOTENCY_CONFLICT":  # paid before with other content: the first payment is the truth
            return await query(hub=hub, merchant=merchant, out_trade_no=out_trade_no)
        return PayResult(PayStatus.FAILED, out_trade_no, err_code=error.code, message=str(error))
    return _paid(out_trade_no=out_trade_no, tx_no=tx.tx_no, amount=tx.amount, at=tx.created_at)


async def query(*, hub: CardHub, merchant: str, out_trade_no: str) -> PayResult:
    """A card payment by its order no.: PAID (refunds do not change it) or NOT_FOUND."""
    row = await _record(hub=hub, merchant=merchant, out_no=out_trade_no, kind=TxKind.CONSUME)
    if row is None:
        return PayResult(PayStatus.NOT_FOUND, out_trade_no, err_code="TX_NOT_FOUND")
    return _paid(out_trade_no=out_trade_no, tx_no=row.tx_no, amount=row.amount, at=row.created_at)


async def refund(*, hub: CardHub, merchant: str, out_trade_no: str, out_refund_no: str, refund_fee: int) -> RefundResult:
    """Return part or all of a card payment to its card; the same out_refund_no refunds once."""
    try:
        tx = await card_money.refund(hub=hub, merchant_id=await _issuer_id(hub, merchant), merchant_code=merchant,
                                     out_trade_no=out_trade_no, out_refund_no=out_refund_no, amount=refund_fee,
                                     channel=TxChannel.OFFLINE)
    except NotFound as error:
        return RefundResult(RefundStatus.NOT_FOUND, out_refund_no, err_code=error.code, message=str(error))
    except Unavailable as error:
        return RefundResult(RefundStatus.UNKNOWN, out_refund_no, err_code=error.code, message=str(error))
    except PayhubError as error:
        return RefundResult(RefundStatus.FAILED, out_refund_no, err_code=error.code, message=str(error))
    return RefundResult(RefundStatus.SUCCESS, out_refund_no, refund_id=tx.tx_no, refund_fee=tx.amount)


async def refund_query(*, hub: CardHub, merchant: str, out_refund_no: str) -> RefundResult:
    """A card refund by its refund no.: SUCCESS (card refunds are booked at once) or NOT_FOUND."""
    row = await _record(hub=hub, merchant=merchant, out_no=out_refund_no, kind=TxKind.REFUND)
    if row is None:
        return RefundResult(RefundStatus.NOT_FOUND, out_refund_no, err_code="TX_NOT_FOUND")
    return RefundResult(RefundStatus.SUCCESS, out_refund_no, refund_id=row.tx_no, refund_fee=row.amount)


def reversal_no(out_trade_no: str) -> str:
    """The refund no. a reversal uses: stable per payment, within the 64 characters a card no. field takes."""
    candidate = f"REV{out_trade_no}"
    return candidate if len(candidate) <= 64 else "REV" + hashlib.sha256(out_trade_no.encode()).hexdigest()


async def cancel(*, hub: CardHub, merchant: str, out_trade_no: str) -> CloseResult:
    """Reverse or close a card payment: what is left of a paid one goes back to the card; an unknown one is closed."""
    row = await _record(hub=hub, merchant=merchant, out_no=out_trade_no, kind=TxKind.CONSUME)
    if row is None:
        return CloseResult(CloseStatus.CLOSED, out_trade_no, err_code="TX_NOT_FOUND")
    left = row.amount - row.refunded
    if left:
        result = await refund(hub=hub, merchant=merchant, out_trade_no=out_trade_no,
                              out_refund_no=reversal_no(out_trade_no), refund_fee=left)
        if result.status is not RefundStatus.SUCCESS:
            status = CloseStatus.UNKNOWN if result.status is RefundStatus.UNKNOWN else CloseStatus.RETRY
            return CloseResult(status, out_trade_no, err_code=result.err_code, message=result.message)
    return CloseResult(CloseStatus.CLOSED, out_trade_no)


def _bill_line(row: CardTx) -> str:
    kind = "PAY" if row.kind == TxKind.CONSUME.value else "REFUND"
    card = row.card_no
    return ",".join((row.created_at.isoformat(), kind, row.tx_no, row.original_tx_no or "", row.out_no,
                     str(row.amount), f"{card[:4]}****{card[-4:]}"))


async def statement(*, hub: CardHub, merchant: str, bill_date: date, bill_type: str = "ALL") -> str:
    """The day's card payments and/or refunds (ALL, SUCCESS, REFUND) as CSV lines under BILL_HEADER, oldest first."""
    if bill_type.upper() not in _BILL_KINDS:
        raise InvalidInput("VALIDATION", detail=f"bill_type: one of {', '.join(_BILL_KINDS)}")
    kinds = _BILL_KINDS[bill_type.upper()]
    start = datetime.combine(bill_date, time(), tzinfo=ZoneInfo(hub.cards.business_tz))
    merchant_id = await _issuer_id(hub, merchant)
    rows: list[CardTx] = []
    async with hub.uow(read_only=True) as uow:
        for kind in kinds:
            offset = 0
            while page := await uow.card_money.find_txs(merchant_id=merchant_id, since=start,
                                                        until=start + timedelta(days=1), limit=_PAGE, offset=offset,
                                                        kind=kind.value, card_merchant_code=merchant):
                rows += page
                offset += _PAGE
    rows.sort(key=lambda row: (row.created_at, row.id or 0))
    return "\n".join([BILL_HEADER, *map(_bill_line, rows)]) + "\n"
