"""Funds accounts (资金账户): one holder, a pay password, several cards; wrong passwords are counted."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from payhub.kernel.domain.errors import InvalidInput

PASSWORD_DIGITS = 6


def check_pay_password(password: str) -> str:
    """A pay password is exactly six ASCII digits."""
    if not (password.isascii() and password.isdigit() and len(password) == PASSWORD_DIGITS):
        raise InvalidInput("BAD_PAY_PASSWORD_FORMAT")
    return password


@dataclass(slots=True)
class FundsAccount:
    """The member's account: holds the pay password hash and its wrong-try counter."""

    id: int
    merchant_id: int
    account_no: str
    holder_name: str
    phone: str
    password_hash: str
    wrong_tries: int
    password_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WrongPassword:
    """What a wrong pay password leads to: the new count, and whether the cards are now frozen."""

    tries: int
    freeze: bool


def count_wrong_password(*, tries_before: int, allowed: int) -> WrongPassword:
    """One more wrong try; at `allowed` tries the account's cards freeze and the count starts again."""
    tries = tries_before + 1
    return WrongPassword(0, True) if tries >= allowed else WrongPassword(tries, False)
