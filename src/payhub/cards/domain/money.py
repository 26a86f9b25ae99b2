"""Money on stored-value cards: the kinds of transaction and the balanced journal entries they book.

Account plan of an issuer (every card account is a liability that may not go below zero):

    card:{no}                         what the issuer owes the holder             credit-normal, >= 0
    cardmerchant:{code}:payable:{k}   what the issuer owes a card merchant          credit-normal (shard k)
    cards:collected:{channel}:{k}     recharges received, not yet in custody      debit-normal  (shard k)
    cards:custody                     money in the custody bank account (托管账户)  debit-normal

Hot accounts (a merchant every consume pays, the recharge collection) are split into shards chosen by
a hash of the transaction number, so that concurrent transactions lock different rows; a balance is the
sum of its shards.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from payhub.cards.domain.cards import card_account
from payhub.kernel.domain.errors import InvalidInput
from payhub.kernel.domain.ledger import AccountSpec, JournalEntry, Leg, NormalSide, shard_of, transfer

MAX_AMOUNT = 100_000_000  # one million yuan in fen


class TxKind(StrEnum):
    RECHARGE = "recharge"  # 充值
    CONSUME = "consume"    # 消费
    REFUND = "refund"      # 退款 (of a consume)
    TRANSFER = "transfer"  # 转账 (card to card)
    MOVE = "move"          # balance moved from a replaced card to its successor


class TxChannel(StrEnum):
    ONLINE = "online"    # member app / web
    OFFLINE = "offline"  # at a shop's counter or till


class Funding(StrEnum):
    """Where the money of a recharge came from."""

    CASH = "cash"            # paid at a counter
    SWIFTPASS = "swiftpass"  # a confirmed payment through the aggregated channel


def check_amount(amount: int) -> int:
    """Whole fen above zero, at most MAX_AMOUNT."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput("BAD_AMOUNT", max_fen=MAX_AMOUNT)
    return amount


def merchant_payable(code: str, shard: int) -> AccountSpec:
    return AccountSpec(f"cardmerchant:{code}:payable:{shard}", f"商户 {code} 应付 #{shard}", NormalSide.CREDIT)


def collected(funding: Funding, shard: int) -> AccountSpec:
    return AccountSpec(f"cards:collected:{funding}:{shard}", f"储值卡充值待归集 {funding} #{shard}", NormalSide.DEBIT)


def custody() -> AccountSpec:
    return AccountSpec("cards:custody", "储值卡托管账户", NormalSide.DEBIT)


def business_date(at: datetime, tz: str) -> date:
    """The business day of an instant in the issuer's time zone (Asia/Shanghai by default)."""
    return at.astimezone(ZoneInfo(tz)).date()


def fingerprint(**content: Any) -> str:
    """A hash of a request's content, to tell a retry from a different request under the same number."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def recharge_entry(*, merchant_id: int, tx_no: str, card_no: str, funding: Funding, amount: int, shards: int) -> JournalEntry:
    return transfer(merchant_id=merchant_id, kind="card_recharge", ref=tx_no,
                    debit=collected(funding, shard_of(tx_no, shards)), credit=card_account(card_no), amount=amount)


def consume_entry(*, merchant_id: int, tx_no: str, card_no: str, merchant_code: str, amount: int, shards: int,
                  shard: int | None = None) -> JournalEntry:
    """Card to merchant payable: the shard given (one per batch of consumes), else the transaction number's."""
    return transfer(merchant_id=merchant_id, kind="card_consume", ref=tx_no, debit=card_account(card_no),
                    credit=merchant_payable(merchant_code, shard_of(tx_no, shards) if shard is None else shard),
                    amount=amount)


def refund_entry(*, merchant_id: int, tx_no: str, card_no: str, merchant_code: str, amount: int, shards: int) -> JournalEntry:
    return transfer(merchant_id=merchant_id, kind="card_refund", ref=tx_no,
                    debit=merchant_payable(merchant_code, shard_of(tx_no, shards)), credit=card_account(card_no),
                    amount=amount)


def transfer_entry(*, merchant_id: int, tx_no: str, from_card: str, to_card: str, amount: int, kind: TxKind) -> JournalEntry:
    if from_card == to_card:
        raise InvalidInput("SAME_CARD")
    return transfer(merchant_id=merchant_id, kind=f"card_{kind}", ref=tx_no,
                    debit=card_account(from_card), credit=card_account(to_card), amount=amount)


def custody_entry(*, merchant_id: int, ref: str, amounts: dict[AccountSpec, int]) -> JournalEntry:
    """Move what the collection shards hold into the custody account."""
    legs = [Leg(account, -amount) for account, amount in amounts.items() if amount]
    total = -sum(leg.amount for leg in legs)
    return JournalEntry(merchant_id, "card_custody", ref, (Leg(custody(), total), *legs), memo="T+1 custody transfer")
