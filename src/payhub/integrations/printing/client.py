"""A receipt printer reached through a python-escpos connection: USB, serial, network (TCP 9100) or a file.

Each status check and each job opens the connection, does its work and closes it, so a printer that
was switched off and on again (or a file that was moved) is found again without restarting the agent.
The calls block, so they run in a worker thread, one at a time.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError
from escpos.printer import File, Network, Serial, Usb

from payhub.integrations.printing.wire import (
    OFFLINE_CAUSE, PAPER_STATUS, PRINTER_STATUS, interpret, is_status_byte, status_request,
)
from payhub.kernel.domain.devices import PRINTABLE_STATES, DeviceKind, DeviceState, DeviceStatus, printer_refusal

log = logging.getLogger(__name__)
NETWORK_TIMEOUT = 3.0


class AppendingFile(File):  # type: ignore[misc]  # python-escpos ships no types, so File is Any
    """python-escpos's file printer, appending: a receipt log file keeps every job."""

    def open(self, raise_not_found: bool = True) -> None:
        try:
            Path(self.devfile).parent.mkdir(parents=True, exist_ok=True)
            self.device: BinaryIO | None = open(self.devfile, "ab")  # noqa: SIM115 - closed by close()
        except OSError as error:
            self.device = None
            raise DeviceNotFoundError(f"cannot open {self.devfile}: {error}") from None


def connection_factory(spec: str) -> tuple[str, Callable[[], Escpos]]:
    """A name and a connection maker from `file:PATH`, `tcp:HOST[:PORT]`, `serial:DEVICE[:BAUD]` or `usb:VID:PID`."""
    scheme, _, rest = spec.partition(":")
    if not rest:
        raise ValueError(f"printer spec needs SCHEME:WHERE, got {spec!r}")
    if scheme == "file":
        return f"file {rest}", lambda: AppendingFile(devfile=rest)
    if scheme == "tcp":
        host, _, port_text = rest.partition(":")
        port = int(port_text or 9100)
        return f"tcp {host}:{port}", lambda: Network(host=host, port=port, timeout=NETWORK_TIMEOUT)
    if scheme == "serial":
        device, _, baud_text = rest.partition(":")
        baud = int(baud_text or 9600)
        return f"serial {device}", lambda: Serial(devfile=device, baudrate=baud, timeout=1)
    if scheme == "usb":
        vendor, _, product = rest.partition(":")
        ids = int(vendor, 16), int(product, 16)
        return f"usb {vendor}:{product}", lambda: Usb(idVendor=ids[0], idProduct=ids[1], timeout=0)
    raise ValueError(f"unknown printer scheme {scheme!r}: use file, tcp, serial or usb")


def can_answer(connection: Escpos) -> bool:
    """Whether the connection reads back (network, serial, USB); a file only takes bytes."""
    return type(connection)._read is not Escpos._read


def _read_status(connection: Escpos) -> DeviceStatus | None:
    """DLE EOT 1, 2 and 4 asked one by one; None when this connection cannot answer (a file)."""
    if not can_answer(connection):
        return None
    answers = []
    for n in (PRINTER_STATUS, OFFLINE_CAUSE, PAPER_STATUS):
        try:
            answer = connection.query_status(status_request(n))
        except TimeoutError:
            answer = b""
        if not answer or not is_status_byte(answer[-1]):
            return DeviceStatus(DeviceKind.PRINTER, "", DeviceState.READY, "打印机不回答状态查询")
        answers.append(answer[-1])
    found = interpret(printer=answers[0], offline=answers[1], paper=answers[2])
    return DeviceStatus(DeviceKind.PRINTER, "", found.state, found.detail)


class EscposPrinter:
    """ReceiptPrinter over one python-escpos connection kind."""

    kind = DeviceKind.PRINTER

    def __init__(self, *, name: str, connect: Callable[[], Escpos]) -> None:
        self.name = name
        self._connect = connect
        self._lock = asyncio.Lock()

    @classmethod
    def from_spec(cls, spec: str) -> EscposPrinter:
        name, connect = connection_factory(spec)
        return cls(name=name, connect=connect)

    def _status_now(self, connection: Escpos) -> DeviceStatus:
        try:
            found = _read_status(connection)
            if found is None:
                connection.open()  # only proves that the file or device can be written
        except (EscposError, OSError):
            return DeviceStatus(self.kind, self.name, DeviceState.OFFLINE, "无法连接打印机")
        if found is None:
            return DeviceStatus(self.kind, self.name, DeviceState.READY, "就绪")
        return DeviceStatus(self.kind, self.name, found.state, found.detail)  # the reading carries no name

    def _check(self) -> DeviceStatus:
        connection = self._connect()
        try:
            return self._status_now(connection)
        finally:
            connection.close()

    def _send(self, data: bytes) -> None:
        connection = self._connect()
        try:
            status = self._status_now(connection)
            if status.state not in PRINTABLE_STATES:
                raise printer_refusal(status)
            try:
                connection._raw(data)
            except (EscposError, OSError) as error:
                log.warning("printer %s failed while printing: %s", self.name, type(error).__name__)
                raise printer_refusal(DeviceStatus(self.kind, self.name, DeviceState.OFFLINE)) from None
        finally:
            connection.close()

    async def status(self) -> DeviceStatus:
        async with self._lock:
            return await asyncio.to_thread(self._check)

    async def print(self, data: bytes) -> None:
        async with self._lock:
            await asyncio.to_thread(self._send, data)
