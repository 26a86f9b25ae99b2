"""Money is integer fen (分) end to end."""
from __future__ import annotations

from payhub.kernel.domain.errors import InvalidInput

MAX_ORDER_FEN = 100_000_000  # one million yuan: above that a counter payment is surely a typo


def require_fen(value: object, *, max_fen: int = MAX_ORDER_FEN) -> int:
    """The value as a positive whole number of fen, or BAD_AMOUNT."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > max_fen:
        raise InvalidInput("BAD_AMOUNT", max_fen=max_fen)
    return value


def yuan(fen: int) -> str:
    """Fen written as yuan with two decimals, e.g. 12345 -> '123.45'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
