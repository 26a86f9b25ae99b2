"""ESC/POS on the wire: the real-time status request (DLE EOT n), its answer bits, and reading a job back as text.

Status answers are one byte; bits 1 and 4 are always set (0x12) and bit 7 is always clear, so an
answer can be told from printed data. Bits used here:

    DLE EOT 1 (printer)   bit 3: offline
    DLE EOT 2 (offline)   bit 2: cover open · bit 5: stopped by paper end · bit 6: error
    DLE EOT 4 (paper)     bits 2+3: roll near its end · bits 5+6: paper end
"""
from __future__ import annotations

from dataclasses import dataclass, field

from payhub.kernel.domain.devices import DeviceState

DLE, EOT, ESC, FS, GS = 0x10, 0x04, 0x1B, 0x1C, 0x1D
STATUS_REQUEST = bytes((DLE, EOT))
PRINTER_STATUS, OFFLINE_CAUSE, PAPER_STATUS = 1, 2, 4
FIXED_BITS = 0x12
OFFLINE_BIT = 0x08
COVER_OPEN_BIT, PAPER_STOP_BIT, ERROR_BIT = 0x04, 0x20, 0x40
NEAR_END_BITS, PAPER_END_BITS = 0x0C, 0x60
CHINESE_MODE_ON = bytes((FS, ord("&")))
ENCODING = "gb18030"


def status_request(n: int) -> bytes:
    """DLE EOT n."""
    return STATUS_REQUEST + bytes((n,))


def is_status_byte(value: int) -> bool:
    return value & 0x93 == FIXED_BITS


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the three answers say, in the agent's terms."""

    state: DeviceState
    detail: str


def interpret(*, printer: int, offline: int, paper: int) -> PrinterStatus:
    """One state from the answers to DLE EOT 1, 2 and 4 (the worst wins)."""
    if paper & PAPER_END_BITS or offline & PAPER_STOP_BIT:
        return PrinterStatus(DeviceState.PAPER_OUT, "缺纸")
    if offline & COVER_OPEN_BIT:
        return PrinterStatus(DeviceState.ERROR, "纸仓盖打开")
    if offline & ERROR_BIT:
        return PrinterStatus(DeviceState.ERROR, "打印机报错")
    if printer & OFFLINE_BIT:
        return PrinterStatus(DeviceState.OFFLINE, "打印机脱机")
    if paper & NEAR_END_BITS:
        return PrinterStatus(DeviceState.PAPER_LOW, "纸将用完")
    return PrinterStatus(DeviceState.READY, "就绪")


def answer(*, n: int, offline: bool, paper_out: bool, paper_low: bool, cover_open: bool = False) -> int:
    """The byte a printer in this condition answers to DLE EOT n (the sandbox speaks it)."""
    if n == PRINTER_STATUS:
        return FIXED_BITS | (OFFLINE_BIT if offline or paper_out or cover_open else 0)
    if n == OFFLINE_CAUSE:
        return FIXED_BITS | (PAPER_STOP_BIT if paper_out else 0) | (COVER_OPEN_BIT if cover_open else 0)
    if n == PAPER_STATUS:
        return FIXED_BITS | (PAPER_END_BITS if paper_out else 0) | (NEAR_END_BITS if paper_low else 0)
    return FIXED_BITS


# --- reading a job back ---------------------------------------------------------------------------

_FIXED_LENGTHS = {  # command bytes -> total length, for the commands receipts use
    (ESC, ord("@")): 2, (FS, ord("&")): 2, (FS, ord(".")): 2, (ESC, ord("2")): 2,
    (DLE, EOT): 3, (ESC, ord("a")): 3, (ESC, ord("E")): 3, (ESC, ord("!")): 3, (ESC, ord("-")): 3,
    (ESC, ord("d")): 3, (ESC, ord("t")): 3, (ESC, ord("M")): 3, (ESC, ord("3")): 3, (ESC, ord("G")): 3,
    (ESC, ord("{")): 3, (GS, ord("!")): 3, (GS, ord("B")): 3, (GS, ord("b")): 3, (FS, ord("!")): 3,
}


def command_length(data: bytes | bytearray, i: int) -> int | None:
    """Bytes taken by the command or text byte at i; None while the command is not complete yet."""
    byte = data[i]
    if byte not in (ESC, FS, GS, DLE):
        return 1
    if i + 1 >= len(data):
        return None
    pair = (byte, data[i + 1])
    if pair == (GS, ord("(")):
        if i + 4 >= len(data):
            return None
        length = 5 + (data[i + 3] | data[i + 4] << 8)
    elif pair == (GS, ord("V")):
        if i + 2 >= len(data):
            return None
        length = 4 if data[i + 2] in (65, 66) else 3
    else:
        length = _FIXED_LENGTHS.get(pair, 3)
    return length if i + length <= len(data) else None


def is_status_request(data: bytes | bytearray, i: int) -> bool:
    return data[i:i + 2] == STATUS_REQUEST


@dataclass
class ReadBack:
    """A job as a person would see it: the text lines, QR contents and cuts."""

    text: str = ""
    qr_codes: list[str] = field(default_factory=list)
    cuts: int = 0


def read_back(data: bytes) -> ReadBack:
    """Decode an ESC/POS stream: text as GB18030, QR data (GS ( k fn 80), cuts (GS V); other commands skipped."""
    out, text, i = ReadBack(), bytearray(), 0
    while i < len(data):
        length = command_length(data, i) or len(data) - i
        command = data[i:i + length]
        if length == 1:
            text += command
        elif command[:2] == bytes((GS, ord("("))) and command[5:8] == b"1P0":
            out.qr_codes.append(command[8:].decode("utf-8", "replace"))
        elif command[:2] == bytes((GS, ord("V"))):
            out.cuts += 1
        i += length
    out.text = text.decode(ENCODING, "replace")
    return out
