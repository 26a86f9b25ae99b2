"""Posting paid orders to the biller, the automatic refund after a refusal, and supervisors' refunds."""
from __future__ import annotations

from dataclasses import replace

import pytest

from payhub.counter.domain.billing import PostingStatus
from payhub.kernel.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from payhub.kernel.domain.jobs import Done, JobKind, Retry
from payhub.kernel.domain.ledger import HOT_ACCOUNT_SHARDS, shard_of
from payhub.kernel.domain.orders import OrderState
from payhub.kernel.domain.payments import PayStatus, RefundStatus
from payhub.kernel.domain.refunds import RefundState
from payhub.kernel.domain.tenancy import Role
from payhub.counter.services import counter
from payhub.kernel.services import auth
from payhub.kernel.services import outbox
from payhub.kernel.services.fulfilment import fulfil
from payhub.kernel.services.refunds import refund_at_channel, request_refund, undo_fulfilment

from .world import CLEARING, PAYABLE, UNPOSTED, World, paid_order, paying_by_code, posted_order


def balances(world: World) -> tuple[int, int, int]:
    """(channel clearing, unposted receipts, biller payable)."""
    return world.balance(CLEARING), world.balance(UNPOSTED), world.balance(PAYABLE)


async def post(world: World, order_no: str, *, attempt: int | None = None):
    return await fulfil(hub=world.hub, job=world.claim(JobKind.FULFIL, order_no, attempt=attempt))


async def refund_job(world: World, refund_no: str, *, attempt: int | None = None):
    return await refund_at_channel(hub=world.hub, job=world.claim(JobKind.REFUND, refund_no, attempt=attempt))


async def ask_refund(world: World, order_no: str, amount: int, *, request_no: str = "RQ-1", reason: str = "多缴"):
    return await request_refund(hub=world.hub, actor=world.actor, approver=world.supervisor, order_no=order_no,
                                amount=amount, reason=reason, request_no=request_no)


# --- posting -------------------------------------------------------------------------------------


async def test_a_posted_payment_is_owed_to_the_biller(world: World):
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.POSTED)

    assert await post(world, order.order_no) == Done()

    stored = world.order(order.order_no)
    assert (stored.state, stored.fulfilment_ref) == (OrderState.FULFILLED, f"B{order.order_no}P")
    assert world.entries("posting") == [order.order_no]
    assert balances(world) == (1000, 0, 1000)


async def test_the_posting_carries_the_stable_posting_no_and_the_trade(world: World):
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.POSTED)

    await post(world, order.order_no)

    [(_, call)] = world.biller.calls
    request = call["request"]
    assert (request.posting_no, request.amount, request.channel_trade_no) == (
        f"{order.order_no}P", 1000, f"T{order.order_no}")


async def test_a_refused_posting_refunds_the_customer_automatically(world: World):
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.REFUSED, code="E17", message="户号已销户")

    assert await post(world, order.order_no) == Done()

    stored = world.order(order.order_no)
    assert (stored.state, stored.failure_code, stored.refund_reserved) == (OrderState.REFUNDING, "E17", 1000)
    refund = world.refund(f"{order.order_no}R1")
    assert (refund.state, refund.amount, refund.automatic) == (RefundState.REFUNDING, 1000, True)
    assert "户号已销户" in refund.reason
    world.pending(JobKind.REFUND, refund.refund_no)
    assert world.entries("posting") == []


@pytest.mark.parametrize("status", [PostingStatus.UNKNOWN, PostingStatus.NOT_FOUND])
async def test_an_unclear_posting_is_tried_again(world: World, status):
    order = await paid_order(world)
    world.biller.answer("post_payment", status)

    assert isinstance(await post(world, order.order_no), Retry)
    assert world.order(order.order_no).state is OrderState.FULFILLING
    assert world.entries("posting") == []


async def test_after_an_unclear_try_the_next_attempt_queries_before_posting(world: World):
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.UNKNOWN)
    await post(world, order.order_no)
    world.biller.answer("query_posting", PostingStatus.POSTED)

    assert await post(world, order.order_no) == Done()

    assert world.biller.operations() == ["post_payment", "query_posting"]
    assert world.order(order.order_no).state is OrderState.FULFILLED


async def test_a_posting_the_biller_never_received_is_sent_again_with_the_same_no(world: World):
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.UNKNOWN)
    await post(world, order.order_no)
    world.biller.answer("query_posting", PostingStatus.NOT_FOUND)
    world.biller.answer("post_payment", PostingStatus.POSTED)

    assert await post(world, order.order_no) == Done()

    assert world.biller.operations() == ["post_payment", "query_posting", "post_payment"]
    first, last = world.biller.calls[0][1]["request"], world.biller.calls[2][1]["request"]
    assert first.posting_no == last.posting_no
    assert world.order(order.order_no).state is OrderState.FULFILLED


async def test_a_posting_job_for_a_finished_order_does_nothing(world: World):
    order = await posted_order(world)

    async with world.hub.uow() as uow:  # a late duplicate of the job
        await uow.jobs.enqueue(merchant_id=1, kind=JobKind.FULFIL, ref=order.order_no, run_at=world.clock.now())
        await uow.commit()

    assert await post(world, order.order_no) == Done()
    assert world.biller.operations() == ["post_payment"]


async def test_a_posting_out_of_tries_goes_to_manual(world: World):
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.UNKNOWN)

    await outbox.run_job(hub=world.hub, job=world.claim(JobKind.FULFIL, order.order_no, attempt=15))

    assert world.job(JobKind.FULFIL, order.order_no).state == "parked"
    assert world.order(order.order_no).state is OrderState.MANUAL


# --- the automatic refund at the channel ---------------------------------------------------------


async def refused_posting(world: World) -> str:
    """A paid order whose posting the biller refused; returns its refund no."""
    order = await paid_order(world)
    world.biller.answer("post_payment", PostingStatus.REFUSED, code="E17", message="户号已销户")
    await post(world, order.order_no)
    return f"{order.order_no}R1"


async def test_a_successful_refund_gives_all_money_back(world: World):
    refund_no = await refused_posting(world)
    world.channel.answer("refund", RefundStatus.SUCCESS)

    assert await refund_job(world, refund_no) == Done()

    refund = world.refund(refund_no)
    assert (refund.state, refund.channel_refund_id) == (RefundState.REFUNDED, f"RF{refund_no}")
    assert world.order(refund.order_no).state is OrderState.REFUNDED
    assert world.entries("refund") == [refund_no]
    assert balances(world) == (0, 0, 0)


async def test_a_refund_names_the_trade_of_the_payment_that_took_the_money(world: World):
    order = await paying_by_code(world, PayStatus.FAILED, err_code="NOTENOUGH", message="余额不足")
    world.channel.answer("micropay", PayStatus.PAID)
    await counter.pay_by_code(hub=world.hub, actor=world.actor, order_no=order.order_no,
                              auth_code="280000000000000001", client_ip="10.0.0.7")
    world.biller.answer("post_payment", PostingStatus.REFUSED, code="E17", message="户号已销户")
    await post(world, order.order_no)
    world.channel.answer("refund", RefundStatus.SUCCESS)

    assert await refund_job(world, f"{order.order_no}R1") == Done()

    assert world.channel.calls[-1][1]["out_trade_no"] == f"{order.order_no}-2"
    assert world.order(order.order_no).state is OrderState.REFUNDED


async def test_a_failed_automatic_refund_goes_to_manual_with_its_order(world: World):
    refund_no = await refused_posting(world)
    world.channel.answer("refund", RefundStatus.FAILED, message="商户余额不足")

    assert await refund_job(world, refund_no) == Done()

    refund = world.refund(refund_no)
    assert refund.state is RefundState.MANUAL and "商户余额不足" in refund.failure_message
    assert world.order(refund.order_no).state is OrderState.MANUAL
    assert balances(world) == (1000, 1000, 0)


@pytest.mark.parametrize("status", [RefundStatus.PROCESSING, RefundStatus.UNKNOWN])
async def test_a_refund_in_progress_is_tried_again(world: World, status):
    refund_no = await refused_posting(world)
    world.channel.answer("refund", status)

    assert isinstance(await refund_job(world, refund_no), Retry)
    assert world.refund(refund_no).state is RefundState.REFUNDING


async def test_after_an_unclear_refund_the_next_attempt_queries_first(world: World):
    refund_no = await refused_posting(world)
    world.channel.answer("refund", RefundStatus.PROCESSING)
    await refund_job(world, refund_no)
    world.channel.answer("refund_query", RefundStatus.SUCCESS)

    assert await refund_job(world, refund_no) == Done()

    assert world.channel.operations()[-2:] == ["refund", "refund_query"]
    assert world.refund(refund_no).state is RefundState.REFUNDED


async def test_a_refund_out_of_tries_hands_refund_and_order_to_staff(world: World):
    refund_no = await refused_posting(world)
    world.channel.answer("refund", RefundStatus.UNKNOWN)

    await outbox.run_job(hub=world.hub, job=world.claim(JobKind.REFUND, refund_no, attempt=15))

    assert world.job(JobKind.REFUND, refund_no).state == "parked"
    assert world.refund(refund_no).state is RefundState.MANUAL
    assert world.order(world.refund(refund_no).order_no).state is OrderState.MANUAL


# --- a supervisor's refund -----------------------------------------------------------------------


async def test_a_refund_request_holds_the_amount_and_asks_the_biller_first(world: World):
    order = await posted_order(world)

    refund = await ask_refund(world, order.order_no, 400)

    assert (refund.state, refund.seq, refund.approved_by) == (RefundState.UNDOING, 1, world.supervisor.id)
    assert world.order(order.order_no).refund_reserved == 400
    world.pending(JobKind.UNDO_FULFILMENT, refund.refund_no)


async def test_the_same_refund_request_again_returns_the_first_refund(world: World):
    order = await posted_order(world)
    first = await ask_refund(world, order.order_no, 400)

    again = await ask_refund(world, order.order_no, 400)

    assert again.refund_no == first.refund_no
    assert world.order(order.order_no).refund_reserved == 400 and len(world.db.refunds) == 1


async def test_the_same_refund_request_no_with_other_content_is_refused(world: World):
    order = await posted_order(world)
    await ask_refund(world, order.order_no, 400)

    with pytest.raises(Conflict) as refused:
        await ask_refund(world, order.order_no, 500)
    assert refused.value.code == "IDEMPOTENCY_CONFLICT"


async def test_partial_refunds_take_turns_and_stop_at_the_amount(world: World):
    order = await posted_order(world)
    first = await ask_refund(world, order.order_no, 400, request_no="RQ-1")
    second = await ask_refund(world, order.order_no, 600, request_no="RQ-2")

    with pytest.raises(Conflict) as refused:
        await ask_refund(world, order.order_no, 1, request_no="RQ-3")

    assert (first.seq, second.seq) == (1, 2) and first.refund_no != second.refund_no
    assert refused.value.code == "REFUND_EXCEEDS"
    assert world.order(order.order_no).refund_reserved == 1000


async def test_an_order_not_yet_posted_cannot_be_refunded(world: World):
    order = await paid_order(world)

    with pytest.raises(Conflict) as refused:
        await ask_refund(world, order.order_no, 100)
    assert refused.value.code == "ORDER_NOT_REFUNDABLE"
    assert world.db.refunds == {}


@pytest.mark.parametrize("amount", [0, -100, 1.5])
async def test_a_refund_of_no_whole_fen_is_refused(world: World, amount):
    order = await posted_order(world)

    with pytest.raises(InvalidInput):
        await ask_refund(world, order.order_no, amount)


async def test_another_merchants_order_cannot_be_refunded(world: World):
    order = await posted_order(world)
    stranger = replace(world.actor, merchant_id=2)

    with pytest.raises(NotFound):
        await request_refund(hub=world.hub, actor=stranger, approver=world.supervisor, order_no=order.order_no,
                             amount=100, reason="x", request_no="RQ-9")


async def approve(world: World, username: str | None = None, password: str | None = None):
    return await auth.approve_as(hub=world.hub, actor=world.actor, needed=Role.SUPERVISOR, username=username,
                                 password=password)


async def test_an_operator_alone_cannot_approve_a_refund(world: World):
    with pytest.raises(Forbidden) as refused:
        await approve(world)
    assert refused.value.code == "ROLE_REQUIRED"


async def test_a_supervisor_approves_on_the_spot_with_credentials(world: World):
    assert await approve(world, "wang", "pw-wang") == world.supervisor


async def test_wrong_credentials_or_an_operators_own_approve_nothing(world: World):
    with pytest.raises(Unauthorized):
        await approve(world, "wang", "wrong")
    with pytest.raises(Forbidden):
        await approve(world, "li", "pw-li")


# --- taking the posting back, then refunding -----------------------------------------------------


async def unpost_job(world: World, refund_no: str):
    return await undo_fulfilment(hub=world.hub, job=world.claim(JobKind.UNDO_FULFILMENT, refund_no))


async def test_a_reversed_posting_moves_the_refund_to_the_channel(world: World):
    order = await posted_order(world)
    refund = await ask_refund(world, order.order_no, 400)
    world.biller.answer("reverse_posting", PostingStatus.REVERSED)

    assert await unpost_job(world, refund.refund_no) == Done()

    assert world.refund(refund.refund_no).state is RefundState.REFUNDING
    world.pending(JobKind.REFUND, refund.refund_no)
    assert balances(world) == (1000, 400, 600)
    assert world.biller.calls[-1][1]["reversal_no"] == refund.reversal_no


async def test_a_refused_reversal_rejects_the_refund_and_frees_the_hold(world: World):
    order = await posted_order(world)
    refund = await ask_refund(world, order.order_no, 400)
    world.biller.answer("reverse_posting", PostingStatus.REFUSED, code="E9", message="已过账期")

    assert await unpost_job(world, refund.refund_no) == Done()

    assert world.refund(refund.refund_no).state is RefundState.REJECTED
    assert world.order(order.order_no).refundable == 1000
    assert balances(world) == (1000, 0, 1000)


async def test_an_unclear_reversal_is_tried_again(world: World):
    order = await posted_order(world)
    refund = await ask_refund(world, order.order_no, 400)
    world.biller.answer("reverse_posting", PostingStatus.UNKNOWN)

    assert isinstance(await unpost_job(world, refund.refund_no), Retry)
    assert world.refund(refund.refund_no).state is RefundState.UNDOING


async def refunded(world: World, order_no: str, amount: int, request_no: str) -> str:
    refund = await ask_refund(world, order_no, amount, request_no=request_no)
    world.biller.answer("reverse_posting", PostingStatus.REVERSED)
    await unpost_job(world, refund.refund_no)
    world.channel.answer("refund", RefundStatus.SUCCESS)
    await refund_job(world, refund.refund_no)
    return refund.refund_no


async def test_a_partial_refund_leaves_the_order_posted_and_the_books_balanced(world: World):
    order = await posted_order(world)

    refund_no = await refunded(world, order.order_no, 400, "RQ-1")

    assert world.refund(refund_no).state is RefundState.REFUNDED
    stored = world.order(order.order_no)
    assert (stored.state, stored.refunded_amount) == (OrderState.FULFILLED, 400)
    assert balances(world) == (600, 0, 600)


async def test_refunds_that_return_all_money_refund_the_order(world: World):
    order = await posted_order(world)

    await refunded(world, order.order_no, 400, "RQ-1")
    await refunded(world, order.order_no, 600, "RQ-2")

    assert world.order(order.order_no).state is OrderState.REFUNDED
    assert balances(world) == (0, 0, 0)


async def test_a_failed_supervisor_refund_goes_to_manual_and_leaves_the_order_posted(world: World):
    order = await posted_order(world)
    refund = await ask_refund(world, order.order_no, 400)
    world.biller.answer("reverse_posting", PostingStatus.REVERSED)
    await unpost_job(world, refund.refund_no)
    world.channel.answer("refund", RefundStatus.CHANGE)

    assert await refund_job(world, refund.refund_no) == Done()

    assert world.refund(refund.refund_no).state is RefundState.MANUAL
    assert world.order(order.order_no).state is OrderState.FULFILLED


async def test_every_entry_of_an_order_books_to_the_same_shard_of_each_hub_wide_account(world: World):
    order = await posted_order(world)
    await ask_refund(world, order.order_no, 1000)
    world.biller.answer("reverse_posting", PostingStatus.REVERSED)
    await undo_fulfilment(hub=world.hub, job=world.claim(JobKind.UNDO_FULFILMENT, f"{order.order_no}R1"))
    world.channel.answer("refund", RefundStatus.SUCCESS)
    await refund_job(world, f"{order.order_no}R1")

    shard = f"#{shard_of(order.order_no, HOT_ACCOUNT_SHARDS)}"
    touched = {code for (_, code) in world.db.accounts}
    assert touched == {CLEARING + shard, UNPOSTED + shard, PAYABLE + shard}
    assert balances(world) == (0, 0, 0)
