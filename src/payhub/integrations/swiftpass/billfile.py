"""The day statement `pay.bill.merchant` answers, in our own layout (SwiftPass does not publish its columns).

The sandbox writes this layout and the connector's reconciliation reads it; change both here or neither.

Plain UTF-8 text, one record per line ("\\n"), fields separated by ",". No field may hold a comma or a line
break, which is why the goods description is not part of it.

    first line   the header: the column names below, in this order
    then         one line per payment or refund, oldest first
    last line    the summary: `total,<number of rows>,<sum of total_fee on SUCCESS rows>,<sum of refund_fee>`

    column          payment row (state SUCCESS)        refund row (state REFUND)
    trade_time      when it was paid                   when the refund succeeded
                    (both yyyy-MM-dd HH:mm:ss, China time)
    mch_id          the SwiftPass merchant number
    out_trade_no    the merchant's order number
    transaction_id  the platform's trade number
    trade_type      e.g. pay.weixin.micropay
    state           SUCCESS                            REFUND
    total_fee       the trade's amount in fen          the refunded trade's amount in fen
    out_refund_no   empty                              the merchant's refund number
    refund_id       empty                              the platform's refund number
    refund_fee      0                                  the refunded amount in fen

A day holds the rows whose trade_time falls on that China calendar day. `bill_type` SUCCESS keeps the
payment rows, REFUND the refund rows, ALL both.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from payhub.integrations.swiftpass.wire import CHINA

PAID = "SUCCESS"
REFUNDED = "REFUND"
COLUMNS = (
    "trade_time", "mch_id", "out_trade_no", "transaction_id", "trade_type", "state",
    "total_fee", "out_refund_no", "refund_id", "refund_fee",
)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_SUMMARY = "total"


class BillFormatError(ValueError):
    """A statement that does not follow the layout in this module's docstring."""


@dataclass(frozen=True, slots=True)
class BillRow:
    """One payment (state SUCCESS) or one refund (state REFUND) of the statement."""

    trade_time: datetime
    mch_id: str
    out_trade_no: str
    transaction_id: str
    trade_type: str
    state: str
    total_fee: int
    out_refund_no: str | None = None
    refund_id: str | None = None
    refund_fee: int = 0


def format_bill(*, rows: Sequence[BillRow]) -> str:
    """The statement text for these rows, oldest first, with header and summary."""
    lines = [",".join(COLUMNS)]
    for row in sorted(rows, key=lambda row: row.trade_time):
        lines.append(",".join(_cells(row)))
    paid, refunded = _totals(rows)
    lines.append(f"{_SUMMARY},{len(rows)},{paid},{refunded}")
    return "\n".join(lines) + "\n"


def parse_bill(*, text: str) -> list[BillRow]:
    """The rows of a statement; checks the header and that the summary matches the rows."""
    lines = text.splitlines()
    if len(lines) < 2 or lines[0] != ",".join(COLUMNS):
        raise BillFormatError("missing or unexpected header")
    rows = [_row(line=line, number=number) for number, line in enumerate(lines[1:-1], start=2)]
    summary = lines[-1].split(",")
    paid, refunded = _totals(rows)
    if summary != [_SUMMARY, str(len(rows)), str(paid), str(refunded)]:
        raise BillFormatError(f"the summary {lines[-1]!r} does not match the rows")
    return rows


def _cells(row: BillRow) -> list[str]:
    cells = [
        row.trade_time.astimezone(CHINA).strftime(_TIME_FORMAT), row.mch_id, row.out_trade_no,
        row.transaction_id, row.trade_type, row.state, str(row.total_fee), row.out_refund_no or "",
        row.refund_id or "", str(row.refund_fee),
    ]
    if any("," in cell or "\n" in cell for cell in cells):
        raise BillFormatError(f"a field of {row.out_trade_no!r} holds a separator")
    return cells


def _row(*, line: str, number: int) -> BillRow:
    cells = line.split(",")
    if len(cells) != len(COLUMNS):
        raise BillFormatError(f"line {number}: {len(cells)} fields, expected {len(COLUMNS)}")
    cell = dict(zip(COLUMNS, cells, strict=True))
    if cell["state"] not in (PAID, REFUNDED):
        raise BillFormatError(f"line {number}: unknown state {cell['state']!r}")
    try:
        trade_time = datetime.strptime(cell["trade_time"], _TIME_FORMAT).replace(tzinfo=CHINA)
        total_fee, refund_fee = _fen(cell["total_fee"]), _fen(cell["refund_fee"])
    except ValueError as error:
        raise BillFormatError(f"line {number}: {error}") from error
    return BillRow(
        trade_time=trade_time, mch_id=cell["mch_id"], out_trade_no=cell["out_trade_no"],
        transaction_id=cell["transaction_id"], trade_type=cell["trade_type"], state=cell["state"],
        total_fee=total_fee, out_refund_no=cell["out_refund_no"] or None, refund_id=cell["refund_id"] or None,
        refund_fee=refund_fee,
    )


def _fen(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a whole number of fen")
    return int(text)


def _totals(rows: Sequence[BillRow]) -> tuple[int, int]:
    paid = sum(row.total_fee for row in rows if row.state == PAID)
    refunded = sum(row.refund_fee for row in rows if row.state == REFUNDED)
    return paid, refunded
