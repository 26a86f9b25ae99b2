"""Journal entries: balanced or refused; transfers balance; balances move by the account's normal side."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payhub.kernel.domain.errors import InvalidInput
from payhub.kernel.domain.ledger import (
    HOT_ACCOUNT_SHARDS, AccountSpec, JournalEntry, Leg, NormalSide, balance_change, biller_payable, channel_clearing,
    family_of, transfer,
    unposted_receipts,
)

CASH = AccountSpec("cash", "现金", NormalSide.DEBIT)
DEBT = AccountSpec("debt", "应付", NormalSide.CREDIT)
ACCOUNTS = [CASH, DEBT, channel_clearing("fakepay"), unposted_receipts(), biller_payable("fakebill")]


def entry(*amounts) -> JournalEntry:
    legs = tuple(Leg(ACCOUNTS[i % len(ACCOUNTS)], amount) for i, amount in enumerate(amounts))
    return JournalEntry(1, "test", "ref-1", legs)


@pytest.mark.parametrize("amounts", [
    (100, -99),         # unbalanced
    (100,),             # single leg
    (),                 # no leg
    (0, 0),             # zero legs
    (100, 0, -100),     # one zero leg among balanced ones
    (100.0, -100.0),    # floats
    (True, -1),         # a bool is not money
    ("100", "-100"),    # text
], ids=["unbalanced", "single", "empty", "zeros", "zero-leg", "float", "bool", "text"])
def test_an_entry_that_is_not_balanced_whole_fen_is_refused(amounts):
    with pytest.raises(InvalidInput) as refused:
        entry(*amounts)

    assert refused.value.code == "UNBALANCED_ENTRY"


def test_a_balanced_entry_of_several_legs_is_accepted():
    booked = entry(700, 300, -1000)

    assert [leg.amount for leg in booked.legs] == [700, 300, -1000]


def test_transfer_debits_one_account_and_credits_the_other_by_the_same_amount():
    moved = transfer(merchant_id=1, kind="payment", ref="PH1", debit=CASH, credit=DEBT, amount=1234, memo="m")

    assert [(leg.account, leg.amount) for leg in moved.legs] == [(CASH, 1234), (DEBT, -1234)]
    assert (moved.merchant_id, moved.kind, moved.ref, moved.memo) == (1, "payment", "PH1", "m")


@pytest.mark.parametrize("amount", [0, 1.5])
def test_transfer_of_nothing_or_a_fraction_is_refused(amount):
    with pytest.raises(InvalidInput):
        transfer(merchant_id=1, kind="payment", ref="PH1", debit=CASH, credit=DEBT, amount=amount)


@pytest.mark.parametrize(("side", "leg", "change"), [
    (NormalSide.DEBIT, 500, 500), (NormalSide.DEBIT, -500, -500),
    (NormalSide.CREDIT, -500, 500), (NormalSide.CREDIT, 500, -500),
])
def test_balance_change_follows_the_normal_side(side, leg, change):
    assert balance_change(normal_side=side, leg_amount=leg) == change


def test_the_hub_accounts_have_the_sides_their_meaning_needs():
    assert channel_clearing("x").normal_side is NormalSide.DEBIT
    assert unposted_receipts().normal_side is NormalSide.CREDIT
    assert biller_payable("y").normal_side is NormalSide.CREDIT
    assert channel_clearing("x").code != channel_clearing("y").code


transfers = st.lists(
    st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(min_value=1, max_value=10**9)),
    max_size=30,
)


@given(transfers)
def test_any_list_of_transfers_keeps_the_books_balanced(moves):
    entries = [
        transfer(merchant_id=1, kind="t", ref=str(i), debit=debit, credit=credit, amount=amount)
        for i, (debit, credit, amount) in enumerate(moves)
    ]
    legs = [leg for booked in entries for leg in booked.legs]
    balances: dict[str, int] = {}
    for leg in legs:
        change = balance_change(normal_side=leg.account.normal_side, leg_amount=leg.amount)
        balances[leg.account.code] = balances.get(leg.account.code, 0) + change
    sides = {account.code: account.normal_side for account in ACCOUNTS}

    assert sum(leg.amount for leg in legs) == 0
    debit_side = sum(b for code, b in balances.items() if sides[code] is NormalSide.DEBIT)
    credit_side = sum(b for code, b in balances.items() if sides[code] is NormalSide.CREDIT)
    assert debit_side == credit_side


def test_a_hub_wide_account_shards_by_key_and_reports_add_the_shards_up():
    unposted = unposted_receipts()
    shards = {unposted.shard(f"PH{n}").code for n in range(400)}

    assert len(shards) == HOT_ACCOUNT_SHARDS
    assert unposted.shard("PH1") == unposted.shard("PH1")
    assert {family_of(code) for code in shards} == {unposted.code}
    assert unposted.shard("PH1").normal_side is unposted.normal_side
