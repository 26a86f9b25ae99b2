"""Fitting receipt rows into a fixed number of printer columns (a Chinese character takes two)."""
from __future__ import annotations

from payhub.integrations.printing.wire import ENCODING

COLUMNS_BY_PAPER_MM = {58: 32, 80: 48}


def columns_for(paper_mm: int) -> int:
    """Half-width columns of font A on a 58 or 80 mm roll."""
    return COLUMNS_BY_PAPER_MM[paper_mm]


def width(text: str) -> int:
    """Printed width in half-width columns: in Chinese mode every two-byte GB18030 character is full width (even ·)."""
    return sum(1 if len(char.encode(ENCODING, errors="replace")) == 1 else 2 for char in text)


def wrap(text: str, columns: int) -> list[str]:
    """Pieces of text each at most `columns` wide."""
    pieces, current = [], ""
    for char in text:
        if width(current + char) > columns:
            pieces.append(current)
            current = ""
        current += char
    return pieces + [current] if current or not pieces else pieces


def row(label: str, value: str, columns: int) -> list[str]:
    """Label left and value right on one line, or the value right-aligned on the lines below."""
    gap = columns - width(label) - width(value)
    if gap >= 1:
        return [label + " " * gap + value]
    lines = wrap(label, columns)
    for piece in wrap(value, columns):
        lines.append(" " * (columns - width(piece)) + piece)
    return lines

