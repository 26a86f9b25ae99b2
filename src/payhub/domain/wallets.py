"""Telling wallets apart by the customer's payment code, and keeping the code out of logs."""
from __future__ import annotations

import re
from enum import StrEnum

from payhub.domain.errors import InvalidInput


class Wallet(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"


_PATTERNS = (
    (Wallet.WECHAT, re.compile(r"1[0-5][0-9]{16}")),
    (Wallet.ALIPAY, re.compile(r"(2[5-9]|30)[0-9]{14,22}")),
    (Wallet.UNIONPAY, re.compile(r"62[0-9]{17}")),
)


def wallet_of(auth_code: str) -> Wallet:
    """The wallet that issued a payment code, or BAD_PAYMENT_CODE."""
    code = auth_code.strip()
    for wallet, pattern in _PATTERNS:
        if pattern.fullmatch(code):
            return wallet
    raise InvalidInput("BAD_PAYMENT_CODE")


def mask_code(auth_code: str) -> str:
    """A payment code safe to store and log: first 4 and last 4 digits."""
    code = auth_code.strip()
    if len(code) <= 8:
        return "*" * len(code)
    return f"{code[:4]}{'*' * (len(code) - 8)}{code[-4:]}"
