"""The receipt (凭条): one printable model for a payment, a refund and an operator's end-of-shift summary."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from payhub.kernel.domain.messages import pick

MAX_LINES = 200
MAX_TEXT = 200

LABELS: dict[str, tuple[str, str]] = {
    "payment_title": ("缴费凭条", "Payment receipt"),
    "refund_title": ("退款凭条", "Refund receipt"),
    "shift_title": ("交班汇总", "End-of-shift summary"),
    "copy_mark": ("重打印 / 副本", "REPRINT / COPY"),
    "terminal": ("终端", "Terminal"),
    "operator": ("柜员", "Operator"),
    "order_no": ("订单号", "Order no."),
    "terminal_order_no": ("终端流水号", "Terminal ref."),
    "fee_type": ("缴费类型", "Fee type"),
    "account_no": ("户号", "Account no."),
    "customer_name": ("户名", "Customer"),
    "goods": ("商品", "Goods"),
    "ticket_no": ("小票号", "Ticket no."),
    "amount": ("缴费金额", "Amount paid"),
    "arrears_paid": ("其中缴欠费", "Of which arrears"),
    "prepaid": ("其中预存", "Of which prepaid"),
    "pay_way": ("支付方式", "Paid by"),
    "channel_trade_no": ("渠道交易号", "Channel trade no."),
    "paid_at": ("支付时间", "Paid at"),
    "state": ("状态", "State"),
    "biller_ref": ("入账凭证号", "Posting ref."),
    "posted_at": ("入账时间", "Posted at"),
    "refunded": ("已退款", "Refunded"),
    "refund_no": ("退款单号", "Refund no."),
    "original_order_no": ("原订单号", "Original order"),
    "original_amount": ("原缴费金额", "Original amount"),
    "refund_amount": ("退款金额", "Refund amount"),
    "refund_reason": ("退款原因", "Reason"),
    "approved_by": ("授权主管", "Approved by"),
    "refund_requested_at": ("申请时间", "Requested at"),
    "business_date": ("营业日期", "Business date"),
    "by_fee_type": ("按缴费类型", "By fee type"),
    "by_pay_way": ("按支付方式", "By payment way"),
    "by_wallet": ("按钱包", "By wallet"),
    "collected": ("收款合计", "Collected"),
    "refunds": ("退款合计", "Refunds"),
    "net": ("净收款", "Net"),
    "native": ("收款二维码", "Collection QR"),
    "micropay": ("扫码付款", "Payment code"),
    "wechat": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "unionpay": ("云闪付", "UnionPay"),
    "unknown_wallet": ("其他钱包", "Other wallet"),
    "automatic": ("系统自动退款", "Automatic refund"),
    "count": ("{count}笔", "{count} txn"),
    "scan_hint": ("扫码查询 / 退款", "Scan to look up or refund"),
    "printed_at": ("打印时间", "Printed at"),
    "footer": ("请妥善保管本凭条", "Please keep this receipt"),
}


def label(key: str, locale: str) -> str:
    """A receipt label in the locale (Chinese unless English is asked)."""
    return pick(LABELS, key, locale)


class ReceiptKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    SHIFT = "shift"


class LineStyle(StrEnum):
    PLAIN = "plain"      # label on the left, value on the right
    HEADING = "heading"  # a section title; the value is empty
    TOTAL = "total"      # printed large: the amount the customer looks for
    RULE = "rule"        # a separating line


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One row of a receipt; `fen` keeps the exact amount when the value is money."""

    label: str
    value: str = ""
    fen: int | None = None
    style: LineStyle = LineStyle.PLAIN


@dataclass(frozen=True, slots=True)
class ItemLines:
    """A fulfilment kind's part of the payment and refund receipts: what was bought, the amount's parts, delivery."""

    item: tuple[ReceiptLine, ...] = ()      # under the order numbers: which fee of which customer, which goods
    amount: tuple[ReceiptLine, ...] = ()    # under the amount: how it splits (arrears and prepaid)
    delivery: tuple[ReceiptLine, ...] = ()  # under the state: the far system's reference and time


@dataclass(frozen=True, slots=True)
class Receipt:
    """Everything a printer or a page needs, already worded in its locale."""

    kind: ReceiptKind
    locale: str
    title: str
    merchant: str
    terminal: str
    operator: str
    printed_at: datetime
    lines: tuple[ReceiptLine, ...] = field(default_factory=tuple)
    qr: str | None = None  # the hub order no.: scanning it starts a lookup or refund
    copy: bool = False

    def __post_init__(self) -> None:
        if self.locale not in ("zh", "en"):
            raise ValueError("locale must be zh or en")
        if len(self.lines) > MAX_LINES:
            raise ValueError(f"at most {MAX_LINES} lines")
        texts = [self.title, self.merchant, self.terminal, self.operator, self.qr or ""]
        texts += [part for line in self.lines for part in (line.label, line.value)]
        if any(len(text) > MAX_TEXT for text in texts):
            raise ValueError(f"a text is longer than {MAX_TEXT} characters")
        if self.printed_at.tzinfo is None:
            raise ValueError("printed_at needs a time zone")

    @property
    def copy_mark(self) -> str | None:
        """重打印 / 副本 on a reprint, else None."""
        return label("copy_mark", self.locale) if self.copy else None

    def header_lines(self) -> tuple[ReceiptLine, ...]:
        """Terminal and operator as rows, printed under the merchant and the title."""
        return (
            ReceiptLine(label("terminal", self.locale), self.terminal),
            ReceiptLine(label("operator", self.locale), self.operator),
        )

    def footer_lines(self) -> tuple[ReceiptLine, ...]:
        """When it was printed, in the receipt's own time zone (China time)."""
        return (ReceiptLine(label("printed_at", self.locale), f"{self.printed_at:%Y-%m-%d %H:%M:%S}"),)
