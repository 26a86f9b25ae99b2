"""Pure rules of stored-value cards: the life cycle, card numbers, pay passwords, entries, limits, risk."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payhub.cards.domain.limits import Limits, check_per_txn
from payhub.cards.domain.money import (
    Funding, TxKind, business_date, check_amount, collected, consume_entry, custody_entry, recharge_entry,
    transfer_entry,
)
from payhub.cards.domain.risk import RiskRules, Rule, SuspiciousCase, at_night, near_limit
from payhub.cards.domain.cards import Card, CardKind, CardState, check_card_no, luhn_digit, require_transactable
from payhub.kernel.domain.ledger import shard_of
from payhub.kernel.domain.errors import Conflict, IllegalTransition, InvalidInput
from payhub.cards.domain.funds import check_pay_password, count_wrong_password

AT = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _card() -> Card:
    return Card(merchant_id=1, card_no="8800000000000013", account_id=1, kind=CardKind.PHYSICAL, created_at=AT)


def test_a_card_goes_opened_audited_active_and_back_and_forth() -> None:
    card = _card()
    with pytest.raises(Conflict):
        card.activate(at=AT, actor="t")
    card.audit(at=AT, actor="t")
    card.activate(at=AT, actor="t")
    assert card.can_transact
    card.freeze(reason="staff", at=AT, actor="t")
    card.report_lost(at=AT, actor="t")
    with pytest.raises(Conflict):
        card.unfreeze(at=AT, actor="t")
    card.found(at=AT, actor="t")
    card.cancel(reason="closed", at=AT, actor="t")
    with pytest.raises(Conflict):
        card.cancel(reason="again", at=AT, actor="t")
    assert [t.to_state for t in card.transitions] == ["audited", "active", "frozen", "lost", "active", "cancelled"]
    with pytest.raises(IllegalTransition):
        card._move(CardState.ACTIVE, reason="x", actor="t", at=AT)


@pytest.mark.parametrize("state", ["opened", "audited", "frozen", "lost", "cancelled"])
def test_only_active_cards_transact(state: str) -> None:
    with pytest.raises(Conflict) as refused:
        require_transactable(card_no="8800000000000013", state=state)
    assert refused.value.code == "CARD_NOT_ACTIVE"


def test_card_numbers_carry_a_luhn_digit() -> None:
    assert luhn_digit("7992739871") == "3"
    assert check_card_no("8800000000000013") == "8800000000000013"
    for bad in ("8800000000000014", "88000000001", "88000000000000１3", "abc"):
        with pytest.raises(InvalidInput):
            check_card_no(bad)


def test_pay_passwords_and_the_wrong_try_count() -> None:
    assert check_pay_password("012345") == "012345"
    for bad in ("12345", "1234567", "12345a", "１２３４５６"):
        with pytest.raises(InvalidInput):
            check_pay_password(bad)
    assert count_wrong_password(tries_before=0, allowed=3).tries == 1
    assert count_wrong_password(tries_before=2, allowed=3).freeze
    assert count_wrong_password(tries_before=0, allowed=1).freeze


def test_every_card_entry_balances_and_hot_accounts_are_sharded() -> None:
    entries = [
        recharge_entry(merchant_id=1, tx_no="A", card_no="1", funding=Funding.CASH, amount=5, shards=16),
        consume_entry(merchant_id=1, tx_no="B", card_no="1", merchant_code="S", amount=5, shards=16),
        transfer_entry(merchant_id=1, tx_no="C", from_card="1", to_card="2", amount=5, kind=TxKind.TRANSFER),
        custody_entry(merchant_id=1, ref="2026-11-01", amounts={collected(Funding.CASH, 0): 3, collected(Funding.SWIFTPASS, 1): 4}),
    ]
    for entry in entries:
        assert sum(leg.amount for leg in entry.legs) == 0
    assert len({shard_of(f"CT{n}", 16) for n in range(200)}) == 16
    with pytest.raises(InvalidInput):
        transfer_entry(merchant_id=1, tx_no="D", from_card="1", to_card="1", amount=5, kind=TxKind.TRANSFER)
    for bad in (0, -1, 1.5, True, 10**9):
        with pytest.raises(InvalidInput):
            check_amount(bad)  # type: ignore[arg-type]


def test_business_dates_are_in_shanghai() -> None:
    assert str(business_date(datetime(2026, 11, 1, 16, 30, tzinfo=UTC), "Asia/Shanghai")) == "2026-11-02"


def test_limits_and_risk_rules() -> None:
    check_per_txn(amount=100, limits=Limits(per_txn=100), who="card")
    with pytest.raises(Conflict):
        check_per_txn(amount=101, limits=Limits(per_txn=100), who="card")
    rules = RiskRules()
    assert near_limit(amount=95, limit=100, rules=rules) and not near_limit(amount=80, limit=100, rules=rules)
    assert not near_limit(amount=95, limit=None, rules=rules)
    assert at_night(local_hour=3, rules=rules) and not at_night(local_hour=12, rules=rules)
    case = SuspiciousCase(merchant_id=1, case_no="SC1", rule=Rule.BURST, tx_no="T", card_no="1", detail="", created_at=AT)
    case.take(at=AT, actor="sup")
    case.decide(confirmed=False, note="known customer", at=AT, actor="sup")
    assert case.state.value == "dismissed"
