"""JSON logs that carry the request id and the order no. of whatever is being done."""
from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
order_no: ContextVar[str | None] = ContextVar("order_no", default=None)


class ContextFilter(logging.Filter):
    """Adds the current request id and order no. to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if not hasattr(record, "order_no"):
            record.order_no = order_no.get()
        return True


class QuietPrinterLibrary(logging.Filter):
    """python-escpos reports every connection open and close at INFO on the root logger: keep its warnings only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "/escpos/" not in record.pathname.replace("\\", "/")


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Send the hub's logs to stderr, one JSON object a line (or plain text for a person at a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(QuietPrinterLibrary())
    if json_lines:
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(order_no)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of the message with terminal colours
        ))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s %(order_no)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
