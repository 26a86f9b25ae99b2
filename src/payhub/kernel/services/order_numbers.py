"""Hub order numbers and the business time zone they are stamped in."""
from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def new_order_no(*, at: datetime) -> str:
    """A hub order number: PH, China-time stamp, 10 random digits (26 characters, fits every channel)."""
    return f"PH{at.astimezone(CHINA):%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"
