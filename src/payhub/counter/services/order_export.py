"""The order list as a table for people: Chinese headers, amounts in yuan, times in China time."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

from payhub.counter.domain.bill_payment import prepaid_amount, product_name
from payhub.kernel.domain.messages import state_name
from payhub.kernel.domain.money import yuan
from payhub.counter.domain.shifts import wallet_of_order
from payhub.kernel.domain.orders import Order
from payhub.kernel.domain.tenancy import StaffNames
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_numbers import CHINA
from payhub.kernel.services.order_views import OrderQuery, search_orders, staff_names

HEADERS = (
    "订单号", "终端流水号", "下单时间", "柜员", "终端", "缴费类型", "户号", "户名", "金额(元)", "缴欠费(元)", "预存(元)",
    "支付方式", "钱包", "状态", "支付时间", "入账时间", "已退款(元)", "渠道交易号", "失败原因",
)
PAY_METHODS = {"native": "收款二维码", "micropay": "扫付款码"}
WALLETS = {"wechat": "微信", "alipay": "支付宝", "unionpay": "云闪付"}
PAGE = 500


Cell = str | Decimal
AMOUNT_COLUMNS = frozenset(i for i, name in enumerate(HEADERS) if name.endswith("(元)"))
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet may run a cell starting so as a formula
NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # XLSX cannot hold these at all


def spreadsheet_text(text: str) -> str:
    """Text as a spreadsheet shows it literally: never a formula, no characters XML refuses."""
    text = NOT_IN_XML.sub("\ufffd", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def _yuan(fen: int) -> Decimal:
    return Decimal(yuan(fen))


def _local(at: datetime | None) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def order_row(order: Order, names: StaffNames) -> tuple[Cell, ...]:
    """One order as the cells of its export row (text made safe for spreadsheets)."""
    payment = order.paid_payment or order.payment
    wallet = wallet_of_order(order) or ""
    prepaid = prepaid_amount(order)
    cells = (
        order.order_no, order.terminal_order_no, _local(order.created_at), names.operators.get(order.operator_id, ""),
        names.terminals.get(order.terminal_id, ""), product_name(order.product, "zh"),
        order.account_no, order.customer_name, _yuan(order.amount), _yuan(order.amount - prepaid), _yuan(prepaid),
        PAY_METHODS.get(payment.method.value, "") if payment else "", WALLETS.get(wallet, wallet),
        state_name(order.state.value, "zh", kind=order.kind), _local(payment.paid_at if payment else None), _local(order.fulfilled_at),
        _yuan(order.refunded_amount), (payment.transaction_id if payment else None) or "", order.failure_message or "",
    )
    return tuple(spreadsheet_text(cell) if isinstance(cell, str) else cell for cell in cells)


def totals_row(count: int, fen: int) -> tuple[Cell, ...]:
    """The last row: how many orders and their sum."""
    amount = HEADERS.index("金额(元)")
    return ("合计", f"{count}笔", *([""] * (amount - 2)), _yuan(fen), *([""] * (len(HEADERS) - amount - 1)))


async def export_rows(*, hub: Hub, query: OrderQuery) -> AsyncIterator[tuple[Cell, ...]]:
    """Every order matching the filters, newest first, a page at a time, then the totals row."""
    names = await staff_names(hub=hub, merchant_id=query.merchant_id)
    # orders placed while exporting would shift the pages: those after the export began are left out
    until = hub.clock.now() + timedelta(seconds=1)
    query = dataclasses.replace(query, created_to=min(query.created_to, until) if query.created_to else until)
    count = fen = 0
    while True:
        page = await search_orders(hub=hub, query=query, limit=PAGE, offset=count)
        for order in page:
            yield order_row(order, names)
            fen += order.amount
        count += len(page)
        if len(page) < PAGE:
            break
    yield totals_row(count, fen)
