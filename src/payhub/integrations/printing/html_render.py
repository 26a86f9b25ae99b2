"""A receipt as one self-contained HTML page (inline CSS and SVG QR) sized for a 58 or 80 mm roll."""
from __future__ import annotations

from html import escape

import segno

from payhub.kernel.domain.receipts import LineStyle, Receipt, ReceiptLine, label

_CSS = """
@page { size: %(mm)smm auto; margin: 0; }
* { box-sizing: border-box; }
body { margin: 0; font: 12px/1.45 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; color: #000; }
.receipt { width: %(mm)smm; padding: 3mm; margin: 0 auto; }
.merchant { text-align: center; font-weight: bold; }
h1 { text-align: center; font-size: 18px; margin: 2px 0 6px; }
.copy { text-align: center; font-size: 18px; font-weight: bold; background: #000; color: #fff; padding: 2px; margin: 4px 0; }
table { width: 100%%; border-collapse: collapse; }
tr { display: flex; flex-wrap: wrap; justify-content: space-between; }
td { display: block; padding: 1px 0; white-space: nowrap; }
td.value { text-align: right; padding-left: 6px; margin-left: auto; }
tr.heading td, tr.rule td { flex: 1 1 100%%; }
tr.heading td { font-weight: bold; padding-top: 6px; }
tr.total td { font-weight: bold; font-size: 16px; }
tr.rule td, hr { border: 0; border-top: 1px dashed #000; height: 0; padding: 0; }
.qr { text-align: center; margin-top: 6px; }
.qr svg { width: 32mm; height: 32mm; }
.small { text-align: center; font-size: 11px; }
@media screen { body { background: #eee; } .receipt { background: #fff; margin: 12px auto; box-shadow: 0 1px 4px #999; } }
"""


def _row(line: ReceiptLine) -> str:
    if line.style is LineStyle.RULE:
        return '<tr class="rule"><td colspan="2"></td></tr>'
    if line.style is LineStyle.HEADING:
        return f'<tr class="heading"><td colspan="2">{escape(line.label)}</td></tr>'
    fen = f' data-fen="{line.fen}"' if line.fen is not None else ""
    return (f'<tr class="{line.style.value}"><td>{escape(line.label)}</td>'
            f'<td class="value"{fen}>{escape(line.value)}</td></tr>')


def receipt_html(*, receipt: Receipt, paper_mm: int = 80) -> str:
    """The page for browser printing and preview; the same facts as the printed receipt."""
    rows = "\n".join(_row(line) for line in (*receipt.header_lines(), *receipt.lines))
    copy = f'<div class="copy">{escape(receipt.copy_mark)}</div>' if receipt.copy_mark else ""
    qr = ""
    if receipt.qr:
        svg = segno.make(receipt.qr, error="m").svg_inline(scale=4, border=2)
        qr = (f'<div class="qr" data-qr="{escape(receipt.qr)}">{svg}<div>{escape(receipt.qr)}</div>'
              f'<div class="small">{escape(label("scan_hint", receipt.locale))}</div></div>')
    footer = "".join(f"<div class=\"small\">{escape(f.label)} {escape(f.value)}</div>" for f in receipt.footer_lines())
    lang = "en" if receipt.locale == "en" else "zh-CN"
    keep = f'<div class="small">{escape(receipt.keep_note)}</div>' if receipt.keep_note else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(receipt.title)} {escape(receipt.qr or "")}</title>
<style>{_CSS % {"mm": paper_mm}}</style></head>
<body><div class="receipt {receipt.kind.value}">
{copy}<div class="merchant">{escape(receipt.merchant)}</div>
<h1>{escape(receipt.title)}</h1>
<table>
{rows}
</table>
<hr>{qr}
{footer}{copy}{keep}
</div></body></html>
"""
