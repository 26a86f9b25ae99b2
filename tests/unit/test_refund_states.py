"""The refund's state machine: table, named methods, recorded moves, stable numbers."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from payhub.kernel.domain.refunds import REFUND_TRANSITIONS, Refund, RefundState

from .machines import allowed_moves, assert_moved_once, assert_table_covers, refused, refused_moves

AT = datetime(2024, 5, 20, 2, 0, tzinfo=UTC)
R = RefundState


def refund_in(state: RefundState, *, seq: int = 1) -> Refund:
    return Refund(merchant_id=1, order_id=5, order_no="PH2024052010000000000001", seq=seq, amount=400,
                  reason="多缴", requested_by=11, approved_by=12, automatic=False, created_at=AT, state=state,
                  saved_state=state)


MOVE_TO: dict[RefundState, Callable[[Refund], object]] = {
    R.REFUNDING: lambda r: r.undone(at=AT, actor="worker"),
    R.REJECTED: lambda r: r.reject(code="NO", message="refused", at=AT, actor="worker"),
    R.REFUNDED: lambda r: r.succeeded(channel_refund_id="RF1", at=AT, actor="worker"),
    R.MANUAL: lambda r: r.to_manual(reason="check", at=AT, actor="worker"),
}
ALLOWED = allowed_moves(REFUND_TRANSITIONS)
REFUSED = refused_moves(REFUND_TRANSITIONS, MOVE_TO)


def test_the_table_names_every_state():
    assert_table_covers(REFUND_TRANSITIONS, RefundState)


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=str)
def test_every_allowed_move_is_made_by_its_named_method(source, target):
    refund = refund_in(source)

    MOVE_TO[target](refund)

    assert_moved_once(refund, source=source, target=target, actor="worker", at=AT)
    assert refund.aggregate == "退款" and refund.key == refund.refund_no


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=str)
def test_every_move_outside_the_table_is_refused(source, target):
    refund = refund_in(source)
    before = dataclasses.replace(refund)

    refused(refund, MOVE_TO[target])

    assert refund == before


def test_a_rejection_and_a_manual_hand_over_keep_why():
    rejected, manual = refund_in(R.UNDOING), refund_in(R.REFUNDING)

    rejected.reject(code="E42", message="已过账期", at=AT, actor="worker")
    manual.to_manual(reason="渠道退款失败", at=AT, actor="worker")

    assert (rejected.failure_code, rejected.failure_message) == ("E42", "已过账期")
    assert (manual.failure_code, manual.failure_message) == ("MANUAL", "渠道退款失败")


def test_success_keeps_the_channel_refund_id():
    refund = refund_in(R.REFUNDING)

    refund.succeeded(channel_refund_id="RF77", at=AT, actor="worker")

    assert refund.channel_refund_id == "RF77"


def test_refund_and_reversal_numbers_are_stable_and_distinct_per_sequence():
    first, again, second = refund_in(R.UNDOING, seq=1), refund_in(R.REFUNDING, seq=1), refund_in(R.UNDOING, seq=2)

    assert first.refund_no == again.refund_no == "PH2024052010000000000001R1"
    assert first.reversal_no == again.reversal_no == "PH2024052010000000000001V1"
    assert len({first.refund_no, second.refund_no, first.reversal_no, second.reversal_no}) == 4
    first.undone(at=AT, actor="worker")
    assert (first.refund_no, first.key) == (again.refund_no, again.refund_no)
