"""What every card money operation shares: the answer a caller sees, transaction numbers and its event's data."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from payhub.cards.domain.rows import CardTx
from payhub.kernel.domain.errors import InvalidInput


@dataclass(frozen=True)
class TxResult:
    """A booked card transaction as the caller sees it; replayed is True for the answer to a retry."""

    tx_no: str
    kind: str
    channel: str
    card_no: str
    amount: int
    balance: int
    out_no: str
    merchant_code: str
    created_at: datetime
    refunded: int = 0
    counter_card_no: str | None = None
    original_tx_no: str | None = None
    replayed: bool = False


def result_of(row: CardTx, *, replayed: bool) -> TxResult:
    """The answer for a transaction row."""
    return TxResult(row.tx_no, row.kind, row.channel, row.card_no, row.amount, row.balance_after, row.out_no,
                    row.card_merchant_code, row.created_at, row.refunded, row.counter_card_no, row.original_tx_no,
                    replayed)


def new_tx_no(at: datetime) -> str:
    """A transaction number: time to the second and 40 random bits."""
    return f"CT{at:%Y%m%d%H%M%S}{secrets.token_hex(5)}"


def event_data(row: CardTx) -> dict[str, Any]:
    """What a transaction's push event carries."""
    keys = ("tx_no", "kind", "channel", "card_no", "counter_card_no", "amount", "balance_after", "card_merchant_code",
            "terminal_code", "out_no", "original_tx_no", "funding", "business_date")
    return {key: getattr(row, key) for key in keys}


def check_no(value: str, what: str) -> str:
    """An external number: 1 to 64 printable characters."""
    if not (1 <= len(value) <= 64) or not value.isprintable():
        raise InvalidInput("VALIDATION", detail=f"{what}: 1 to 64 printable characters")
    return value
