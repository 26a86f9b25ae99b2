"""A receipt as ESC/POS bytes for a Chinese receipt printer, built with python-escpos.

python-escpos picks single-byte code pages by itself (ESC t n) and only switches to GB18030 for
lines holding common CJK ideographs, so a line like "（副本）" or "¥" would come out as a code-page
guess. Here its encoder is replaced by one that writes every text as GB18030, and the printer is
put into Chinese (Kanji) mode with FS & once, so a printer not booted in Chinese mode prints it too.
"""
from __future__ import annotations

from escpos.printer import Dummy

from payhub.integrations.printing.layout import columns_for, row, wrap
from payhub.integrations.printing.wire import CHINESE_MODE_ON, ENCODING
from payhub.kernel.domain.receipts import LineStyle, Receipt, ReceiptLine, label

QR_DOT_SIZE = 6


class Gb18030Encoder:
    """The two calls python-escpos's MagicEncode makes of an encoder once an encoding is fixed."""

    @staticmethod
    def get_encoding_name(encoding: str) -> str:
        return encoding.upper()

    @staticmethod
    def encode(text: str, encoding: str, defaultchar: str = "?") -> bytes:
        return text.encode(ENCODING, errors="replace")


def chinese_printer() -> Dummy:
    """A python-escpos printer that collects bytes and writes all text as GB18030 (no code-page switches)."""
    return Dummy(magic_encode_args={"encoding": ENCODING, "disabled": True, "encoder": Gb18030Encoder()})


def _big(printer: Dummy, text: str, columns: int, *, invert: bool = False) -> None:
    printer.set(align="center", bold=True, custom_size=True, width=2, height=2, invert=invert)
    for piece in wrap(text, columns // 2):
        printer.textln(piece)
    printer.set(align="left", bold=False, custom_size=True, width=1, height=1, invert=False)


def _line(printer: Dummy, line: ReceiptLine, columns: int) -> None:
    if line.style is LineStyle.RULE:
        printer.textln("-" * columns)
    elif line.style is LineStyle.HEADING:
        printer.set(bold=True)
        printer.textln(line.label)
        printer.set(bold=False)
    else:
        big = line.style is LineStyle.TOTAL
        if big:
            printer.set(bold=True, custom_size=True, width=1, height=2)
        for text in row(line.label, line.value, columns):
            printer.textln(text)
        if big:
            printer.set(bold=False, custom_size=True, width=1, height=1)

def escpos_bytes(*, receipt: Receipt, paper_mm: int = 80) -> bytes:
    """The bytes to send: init, Chinese mode, copy mark, title, rows, the order no. as a native QR, and a cut."""
    columns = columns_for(paper_mm)
    printer = chinese_printer()
    printer.hw("INIT")
    printer._raw(CHINESE_MODE_ON)
    if receipt.copy_mark:
        _big(printer, f" {receipt.copy_mark} ", columns, invert=True)
    printer.set(align="center", bold=True)
    printer.textln(receipt.merchant)
    _big(printer, receipt.title, columns)
    for line in (*receipt.header_lines(), ReceiptLine("", style=LineStyle.RULE), *receipt.lines):
        _line(printer, line, columns)
    printer.textln("-" * columns)
    if receipt.qr:
        printer.set(align="center")
        printer.qr(receipt.qr, native=True, size=QR_DOT_SIZE)
        printer.textln(receipt.qr)
        printer.textln(label("scan_hint", receipt.locale))
        printer.set(align="left")
    for line in receipt.footer_lines():
        _line(printer, line, columns)
    if receipt.copy_mark:
        printer.set(align="center", bold=True)
        printer.textln(receipt.copy_mark)
        printer.set(align="left", bold=False)
    if receipt.keep_note:
        printer.set(align="center")
        printer.textln(receipt.keep_note)
    printer.cut()
    output: bytes = printer.output
    return output
