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
    "by_wallet": ("按支付渠道", "By payment channel"),
    "collected": ("收款合计", "Collected"),
    "refunds": ("退款合计", "Refunds"),
    "net": ("净收款", "Net"),
    "native": ("收款二维码", "Collection QR"),
    "micropay": ("扫付款码", "Payment code"),
    "wechat": ("微信支付", "WeChat Pay"),
    "alipay": ("支付宝", "Alipay"),
    "unionpay": ("云闪付", "UnionPay"),
    "unknown_wallet": ("其他钱包", "Other wallet"),
    "automatic": ("系统自动退款", "Automatic refund"),
    "count": ("{count}笔", "{count} txn"),
    "scan_hint": ("扫码查询 / 退款", "Scan to look up or refund"),
    "printed_at": ("打印时间", "Printed at"),
    "footer": ("请妥善保管本凭条", "Please keep this receipt"),
    "yuan": ("{amount}元", "CNY {amount}"),
    "in_capitals": ("大写", "In words"),
    "periods": ("缴费账期", "Bill periods"),
    "order_terminal": ("下单终端", "Ordered at"),
    "service_phone": ("客服电话", "Service phone"),
    "refund_notice_title": ("退款通知", "Refund notice"),
    "refused_reason": ("未入账原因", "Not posted because"),
    "refund_notice_note": ("缴费未入账，款项原路退回", "Not posted: the money goes back the way it came"),
    "refund_pending_title": ("退款凭条（处理中）", "Refund receipt (in progress)"),
    "refund_pending_note": ("冲正处理中，以最终结果为准", "Reversal in progress: the final result prevails"),
    "reopened_bill": ("重新欠费 {period}", "Owed again {period}"),
    "prepaid_taken": ("扣回预存", "Taken from prepaid"),
    "prepaid_left": ("转为预存", "Left as prepaid"),
    "effect_unknown": ("入账影响", "At the biller"),
    "effect_unknown_value": ("以缴费系统为准", "as the billing system applies it"),
    "shift_start": ("班次开始", "Shift start"),
    "shift_end": ("班次结束", "Shift end"),
    "supervisor_refunds": ("主管授权退款", "Supervisor refunds"),
    "automatic_refunds": ("系统自动退款", "Automatic refunds"),
    "manual_orders": ("待人工处理", "Awaiting manual handling"),
    "handed_over_by": ("交班人", "Handed over by"),
    "taken_over_by": ("接班人", "Taken over by"),
    "supervisor": ("主管", "Supervisor"),
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
    service_phone: str = ""

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
        printed = ReceiptLine(label("printed_at", self.locale), f"{self.printed_at:%Y-%m-%d %H:%M:%S}")
        if self.service_phone:
            return printed, ReceiptLine(label("service_phone", self.locale), self.service_phone)
        return (printed,)

    @property
    def keep_note(self) -> str | None:
        """请妥善保管本凭条 on what a customer takes home; the shift summary stays at the counter."""
        return None if self.kind is ReceiptKind.SHIFT else label("footer", self.locale)
