"""What a reversal does at the biller (TCIS): the rule of docs/tcis-contract.md, worked out by the hub.

TCIS offers no preview, so the hub applies the contract's rule to the bills the order paid: money held as
prepaid balance is taken back first, then the posting's bills reopen, newest first; a reopened bill larger
than what was left to take back leaves the difference as prepaid balance.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from payhub.counter.domain.billing import Arrears, Bill


@dataclass(frozen=True, slots=True)
class ReversalEffect:
    """A reversal's effect on the customer's account at the biller."""

    reopened: tuple[Bill, ...]  # bills owed again, newest first
    prepaid_taken: int          # taken out of the prepaid balance this posting made
    prepaid_left: int           # what a reopened bill leaves as prepaid balance (the bill minus what was taken back)

    @property
    def reopened_amount(self) -> int:
        return sum(bill.amount for bill in self.reopened)


def bills_paid(*, arrears: Arrears, amount: int, bill_ids: Sequence[str]) -> tuple[Bill, ...]:
    """The bills a posting of amount pays: those named, else the oldest ones the amount covers whole."""
    if bill_ids:
        by_id = {bill.bill_id: bill for bill in arrears.bills}
        return tuple(by_id[bill_id] for bill_id in bill_ids if bill_id in by_id)
    paid: list[Bill] = []
    left = amount
    for bill in arrears.bills:
        if bill.amount > left:
            break
        paid.append(bill)
        left -= bill.amount
    return tuple(paid)


def reversal_effect(*, bills: Sequence[Bill], posted: int, earlier: Iterable[int], amount: int) -> ReversalEffect:
    """The effect of reversing amount after the earlier reversals (in their order) of a posting of `posted` fen."""
    open_paid = list(bills)
    credit = posted - sum(bill.amount for bill in bills)
    effect = ReversalEffect((), 0, 0)
    for each in (*earlier, amount):
        taken = min(each, credit)
        credit -= taken
        owed = each - taken
        reopened: list[Bill] = []
        while owed > 0 and open_paid:
            bill = open_paid.pop()
            reopened.append(bill)
            owed -= bill.amount
        credit -= owed  # owed is now zero or minus what the last reopened bill leaves as prepaid balance
        effect = ReversalEffect(tuple(reopened), taken, max(-owed, 0))
    return effect
