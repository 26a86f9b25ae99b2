"""Devices a terminal agent owns (receipt printer now; card reader, cash acceptor, PIN pad later) and their states."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from payhub.kernel.domain.errors import Unavailable


class DeviceKind(StrEnum):
    PRINTER = "printer"
    CARD_READER = "card_reader"
    CASH_ACCEPTOR = "cash_acceptor"
    PIN_PAD = "pin_pad"


class DeviceState(StrEnum):
    READY = "ready"
    OFFLINE = "offline"      # not connected, powered off, or the printer reports itself off line
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"  # still prints: a warning for the operator
    ERROR = "error"          # cover open, cutter jam, a fault the device reports


PRINTABLE_STATES = frozenset({DeviceState.READY, DeviceState.PAPER_LOW})


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    kind: DeviceKind
    name: str
    state: DeviceState
    detail: str = ""


class DeviceUnavailable(Unavailable):
    """A device cannot do the job now; the code says why (PRINTER_OFFLINE, PAPER_OUT, PRINTER_ERROR)."""


def printer_refusal(status: DeviceStatus) -> DeviceUnavailable:
    """The error to report when a device in this state is asked to work."""
    if status.state is DeviceState.PAPER_OUT:
        return DeviceUnavailable("PAPER_OUT")
    if status.state is DeviceState.OFFLINE:
        return DeviceUnavailable("PRINTER_OFFLINE")
    return DeviceUnavailable("PRINTER_ERROR", detail=status.detail or status.state.value)
