"""What the simulated SwiftPass gateway holds in memory, and the rules a real gateway enforces on it.

out_trade_no is unique (here across all merchants, so that `trades[out_trade_no]` works), a resend with
the same content returns the first trade and one with other content is refused, closed or reversed
trades cannot be paid, a QR cannot be paid after its time_expire, refunds only of paid trades and never
beyond total_fee, one refund per out_refund_no (a resend returns it). A paid trade with a notify_url
gets signed notifies queued in `pending_notifies`; the app delivers them.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from payhub.integrations.swiftpass.billfile import PAID, REFUNDED, BillRow
from payhub.integrations.swiftpass.sandbox.scenarios import (
    Scenario, decline_of, keeps_user_paying, paid_at_query, refund_settled_at_query, refund_state_of,
    sends_chaotic_notifies,
)
from payhub.integrations.swiftpass.wire import (
    CHARSET, OK, ORDERNOTEXIST, ORDERPAID, VERSION, Credentials, SignType, encode_xml, format_time, new_nonce,
)
from payhub.kernel.domain.wallets import Wallet
from payhub.kernel.ports import ChannelRefused

DEFAULT_NOTIFY_DELAYS = (0, 2, 5, 15, 30, 60, 180, 600, 1800)
WALLET_WIRE_NAMES = {Wallet.WECHAT: "weixin", Wallet.ALIPAY: "alipay", Wallet.UNIONPAY: "unionpay"}
PAID_STATES = frozenset({"SUCCESS", "REFUND"})
ENDED_STATES = {"CLOSED": "ORDERCLOSED", "REVERSE": "ORDERREVERSED"}  # trade_state -> err_code for a late pay
STATE_NAMES = {
    "NOTPAY": "待支付", "USERPAYING": "支付中", "SUCCESS": "已支付", "REFUND": "已退款",
    "PAYERROR": "支付失败", "CLOSED": "已关闭", "REVERSE": "已撤销",
}


class SandboxRefusal(ChannelRefused):
    """The simulated gateway refuses: a business error answer, or a refused Python/HTTP control."""

    def __init__(self, err_code: str, message: str) -> None:
        super().__init__(err_code, message)
        self.message: str = message  # the gateway always says why (its err_msg)


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


def payment_fields(*, trade: SandboxTrade) -> dict[str, str]:
    """The trade's payment in wire fields, as query answers and notifies carry it."""
    fields = {
        "out_trade_no": trade.out_trade_no, "transaction_id": trade.transaction_id,
        "total_fee": str(trade.total_fee), "trade_type": trade.trade_type or "",
    }
    if trade.paid_at is not None:
        fields |= {"out_transaction_id": f"W{trade.transaction_id}", "cash_fee": str(trade.total_fee),
                   "time_end": format_time(moment=trade.paid_at)}
    return fields


class GatewayState:
    """The gateway's merchants, trades, refunds and queued notifies."""

    def __init__(
        self, *, accounts: Mapping[str, SandboxAccount], now: Callable[[], datetime],
        notify_delays: Sequence[float] = DEFAULT_NOTIFY_DELAYS,
    ) -> None:
        if not notify_delays:
            raise ValueError("notify_delays needs at least one entry")
        self.accounts = dict(accounts)
        self.trades: dict[str, SandboxTrade] = {}
        self.refunds: dict[str, SandboxRefund] = {}
        self.pending_notifies: list[PendingNotify] = []
        self._now = now
        self._notify_delays = tuple(notify_delays)
        self._numbers = itertools.count(1)

    def pay_native(self, out_trade_no: str, *, wallet: str = "wechat") -> SandboxTrade:
        """The customer scans the QR and pays; raises SandboxRefusal when the trade cannot be paid."""
        trade = self.trades.get(out_trade_no)
        if trade is None or trade.kind != "native":
            raise SandboxRefusal(ORDERNOTEXIST, "没有这个二维码订单")
        if trade.state in PAID_STATES:
            raise SandboxRefusal(ORDERPAID, "订单已支付")
        if trade.state in ENDED_STATES:
            raise SandboxRefusal(ENDED_STATES[trade.state], "订单已关闭，不能支付")
        if trade.time_expire is not None and self._now() >= trade.time_expire:
            raise SandboxRefusal("ORDEREXPIRED", "二维码已过期")
        try:
            chosen = Wallet(wallet)
        except ValueError:
            raise SandboxRefusal("WALLET_INVALID", f"不支持的钱包 {wallet}") from None
        trade.trade_type = f"pay.{WALLET_WIRE_NAMES[chosen]}.native"
        if decline := decline_of(trade.scenario):
            trade.state = "PAYERROR"
            trade.err_code, trade.err_msg = decline
            raise SandboxRefusal(*decline)
        self._mark_paid(trade)
        return trade

    def check_resend(self, *, trade: SandboxTrade, mch_id: str, content: tuple[str, ...]) -> None:
        """Refuse a resend of an ended trade, or one whose merchant or content differs from the first."""
        if trade.state in ENDED_STATES:
            raise SandboxRefusal(ENDED_STATES[trade.state], "订单已关闭或已撤销")
        if trade.mch_id != mch_id or trade.content != content:
            raise SandboxRefusal("OUT_TRADE_NO_USED", "商户订单号重复，且内容不同")

    def open_micropay(
        self, *, mch_id: str, out_trade_no: str, total_fee: int, body: str, wallet: Wallet,
        content: tuple[str, ...], notify_url: str | None, scenario: Scenario | None,
    ) -> SandboxTrade:
        """A new payment-code trade, paid, declined or waiting for the customer as its scenario says."""
        trade = self._open_trade(
            mch_id=mch_id, out_trade_no=out_trade_no, kind="micropay", total_fee=total_fee, body=body,
            content=content, scenario=scenario, notify_url=notify_url,
        )
        trade.trade_type = f"pay.{WALLET_WIRE_NAMES[wallet]}.micropay"
        if decline := decline_of(scenario):
            trade.state = "PAYERROR"
            trade.err_code, trade.err_msg = decline
        elif keeps_user_paying(scenario):
            trade.state = "USERPAYING"
        else:
            self._mark_paid(trade)
        return trade

    def open_native(
        self, *, mch_id: str, out_trade_no: str, total_fee: int, body: str, notify_url: str,
        time_expire: datetime | None, content: tuple[str, ...], scenario: Scenario | None,
    ) -> SandboxTrade:
        """A new QR trade waiting to be scanned."""
        trade = self._open_trade(
            mch_id=mch_id, out_trade_no=out_trade_no, kind="native", total_fee=total_fee, body=body,
            content=content, scenario=scenario, notify_url=notify_url,
        )
        trade.time_expire = time_expire
        return trade

    def find_trade(self, *, mch_id: str, out_trade_no: str | None, transaction_id: str | None) -> SandboxTrade | None:
        """The merchant's trade by out_trade_no, or else by transaction_id."""
        if out_trade_no:
            trade = self.trades.get(out_trade_no)
        else:
            trade = next((t for t in self.trades.values() if t.transaction_id == transaction_id), None)
        return trade if trade is not None and trade.mch_id == mch_id else None

    def record_query(self, *, trade: SandboxTrade) -> None:
        """Count a query; a waiting trade may be found paid by it."""
        trade.queries += 1
        if trade.state == "USERPAYING" and paid_at_query(trade.scenario, queries=trade.queries):
            self._mark_paid(trade)

    def end(
        self, *, mch_id: str, trade: SandboxTrade | None, out_trade_no: str, kind: str, ended_state: str,
    ) -> SandboxTrade:
        """Close (native) or reverse (micropay); an unknown order is marked so that it can never be paid."""
        if trade is None:
            trade = self._open_trade(mch_id=mch_id, out_trade_no=out_trade_no, kind="")
        elif trade.kind not in (kind, ""):
            raise SandboxRefusal("TRADE_TYPE_ERROR", "付款码订单请撤销，二维码订单请关闭")
        elif trade.refunds:
            raise SandboxRefusal("ORDERREFUNDED", "订单已退款")
        elif trade.state in PAID_STATES and kind == "native":
            raise SandboxRefusal(ORDERPAID, "订单已支付")
        trade.state = ended_state
        self.pending_notifies = [n for n in self.pending_notifies if n.out_trade_no != trade.out_trade_no]
        return trade

    def refund(self, *, trade: SandboxTrade, out_refund_no: str, total_fee: int, refund_fee: int) -> SandboxRefund:
        """Refund part of a paid trade, or return the refund a resent out_refund_no made."""
        refund = self.refunds.get(out_refund_no)
        if refund is not None:
            if refund.out_trade_no != trade.out_trade_no:
                raise SandboxRefusal("OUT_REFUND_NO_USED", "退款单号已用于其他订单")
            return refund
        if trade.state not in PAID_STATES:
            raise SandboxRefusal("TRADE_STATE_ERROR", "订单未支付，不能退款")
        if total_fee != trade.total_fee:
            raise SandboxRefusal("TOTAL_FEE_MISMATCH", "订单金额不符")
        if trade.refunded_fee() + refund_fee > trade.total_fee:
            raise SandboxRefusal("REFUND_FEE_INVALID", "退款金额超过可退金额")
        state = refund_state_of(trade.scenario)
        refund = SandboxRefund(
            out_refund_no=out_refund_no, refund_id=self._number(prefix="RF"), out_trade_no=trade.out_trade_no,
            refund_fee=refund_fee, state=state, refunded_at=self._now() if state == "SUCCESS" else None,
        )
        self.refunds[out_refund_no] = refund
        trade.refunds.append(refund)
        if state != "FAIL":
            trade.state = "REFUND"
        return refund

    def record_refund_query(self, *, refund: SandboxRefund) -> None:
        """Count a refund query; a processing refund may be found done by it."""
        refund.queries += 1
        if refund.state == "PROCESSING" and refund_settled_at_query(queries=refund.queries):
            refund.state, refund.refunded_at = "SUCCESS", self._now()

    def bill_rows(self, *, mch_id: str) -> list[BillRow]:
        """The merchant's statement lines: one per payment and one per successful refund."""
        return [row for trade in self.trades.values() if trade.mch_id == mch_id for row in _bill_rows(trade=trade)]

    def drop_notify(self, notify: PendingNotify) -> None:
        """Forget a delivered or abandoned notify."""
        # a reverse may have dropped it already while its delivery was under way
        self.pending_notifies = [pending for pending in self.pending_notifies if pending is not notify]

    def next_notify_delay(self, *, attempts: int) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones, or None to give up."""
        return self._notify_delays[attempts] if attempts < len(self._notify_delays) else None

    def _open_trade(
        self, *, mch_id: str, out_trade_no: str, kind: str, total_fee: int = 0, body: str = "",
        content: tuple[str, ...] = (), scenario: Scenario | None = None, notify_url: str | None = None,
    ) -> SandboxTrade:
        if out_trade_no in self.trades:
            raise SandboxRefusal("OUT_TRADE_NO_USED", "商户订单号已被使用")
        trade = SandboxTrade(
            mch_id=mch_id, out_trade_no=out_trade_no, kind=kind, transaction_id=self._number(prefix="SP"),
            state="NOTPAY" if kind else "CLOSED", total_fee=total_fee, body=body, content=content,
            scenario=scenario, notify_url=notify_url,
        )
        self.trades[out_trade_no] = trade
        return trade

    def _number(self, *, prefix: str) -> str:
        return f"{prefix}{format_time(moment=self._now())}{next(self._numbers):06d}"

    def _mark_paid(self, trade: SandboxTrade) -> None:
        trade.state, trade.paid_at = "SUCCESS", self._now()
        if not trade.notify_url:
            return
        paid_fields = {"result_code": OK, "pay_result": OK, **payment_fields(trade=trade)}
        paid = self._notify_body(trade=trade, fields=paid_fields)
        bodies = [paid]
        if sends_chaotic_notifies(trade.scenario):
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


def _bill_rows(*, trade: SandboxTrade) -> list[BillRow]:
    if trade.state not in PAID_STATES or trade.paid_at is None:
        return []
    paid = BillRow(trade_time=trade.paid_at, mch_id=trade.mch_id, out_trade_no=trade.out_trade_no,
                   transaction_id=trade.transaction_id, trade_type=trade.trade_type or "", state=PAID,
                   total_fee=trade.total_fee)
    return [paid] + [
        BillRow(trade_time=refund.refunded_at, mch_id=trade.mch_id, out_trade_no=trade.out_trade_no,
                transaction_id=trade.transaction_id, trade_type=trade.trade_type or "", state=REFUNDED,
                total_fee=trade.total_fee, out_refund_no=refund.out_refund_no, refund_id=refund.refund_id,
                refund_fee=refund.refund_fee)
        for refund in trade.refunds if refund.state == "SUCCESS" and refund.refunded_at is not None
    ]
