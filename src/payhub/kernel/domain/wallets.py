"""Telling wallets apart by the customer's payment code, and keeping the code out of logs."""
from __future__ import annotations

import re
from enum import StrEnum

from payhub.kernel.domain.errors import InvalidInput


class Wallet(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"
    CARD = "card"  # the hub's own stored-value card: card no. "=" 6-digit pay password


_PATTERNS = (
    (Wallet.WECHAT, re.compile(r"1[0-5][0-9]{16}")),
    (Wallet.ALIPAY, re.compile(r"(2[5-9]|30)[0-9]{14,22}")),
    (Wallet.UNIONPAY, re.compile(r"62[0-9]{17}")),
    (Wallet.CARD, re.compile(r"[0-9]{12,19}=[0-9]{6}")),
)


def wallet_of(auth_code: str) -> Wallet:
    """The wallet that issued a payment code, or BAD_PAYMENT_CODE."""
    code = auth_code.strip()
    for wallet, pattern in _PATTERNS:
        if pattern.fullmatch(code):
            return wallet
    raise InvalidInput("BAD_PAYMENT_CODE")


def card_code_parts(auth_code: str) -> tuple[str, str]:
    """The card no. and pay password of a card payment code, or BAD_PAYMENT_CODE."""
    if wallet_of(auth_code) is not Wallet.CARD:
        raise InvalidInput("BAD_PAYMENT_CODE")
    card_no, password = auth_code.strip().split("=")
    return card_no, password


def mask_code(auth_code: str) -> str:
    """A payment code safe to store and log: first 4 and last 4 digits (of the card no. for a card code)."""
    code = auth_code.strip().split("=")[0]
    if len(code) <= 8:
        return "*" * len(code)
    return f"{code[:4]}{'*' * (len(code) - 8)}{code[-4:]}"
