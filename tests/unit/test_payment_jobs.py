"""Settling a payment's outcome: polling, closing, reversing, notifies, and the worker that runs the jobs."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from payhub.kernel.domain.errors import Conflict, Contention
from payhub.kernel.domain.jobs import Done, Job, JobKind, Retry, RunAgain
from payhub.kernel.domain.orders import OrderState
from payhub.kernel.domain.payments import CloseStatus, PayResult, PayStatus
from payhub.counter.services import counter
from payhub.kernel.services import outbox
from payhub.kernel.services.job_handlers import JobHandler, JobHandlers
from payhub.kernel.services.notifications import accept_notify
from payhub.kernel.services.order_expiry import expire_unpaid_orders
from payhub.kernel.services.payment_jobs import close_payment, poll_payment, reverse_payment
from payhub.kernel.services.payment_results import apply_pay_result

from .world import CLEARING, START, World, new_order, paid_order, paying_by_code, paying_by_qr, placed_order


async def poll(world: World, order_no: str):
    return await poll_payment(hub=world.hub, job=world.claim(JobKind.POLL_PAYMENT, order_no))


def assert_paid_once(world: World, order_no: str) -> None:
    assert world.order(order_no).state is OrderState.PAID
    assert world.entries("payment") == [order_no] and world.balance(CLEARING) == 1000
    world.pending(JobKind.FULFIL, order_no)


# --- polling -------------------------------------------------------------------------------------


async def test_a_poll_that_finds_the_payment_pays_the_order(world: World):
    order = await paying_by_code(world)
    world.channel.answer("query", PayStatus.PAID)

    assert await poll(world, order.order_no) == Done()
    assert_paid_once(world, order.order_no)


async def test_a_poll_that_finds_an_explicit_refusal_fails_the_order(world: World):
    order = await paying_by_code(world)
    world.channel.answer("query", PayStatus.FAILED, err_code="DECLINED")

    assert await poll(world, order.order_no) == Done()
    assert world.order(order.order_no).state is OrderState.PAY_FAILED


@pytest.mark.parametrize("status", [PayStatus.PENDING, PayStatus.UNKNOWN, PayStatus.NOT_FOUND])
async def test_still_unclear_before_the_deadline_looks_again_later(world: World, status):
    order = await paying_by_code(world)
    world.clock.advance(seconds=10)
    world.channel.answer("query", status)

    assert await poll(world, order.order_no) == RunAgain(at=START + timedelta(seconds=15))
    assert world.order(order.order_no).state is OrderState.PAYING


async def test_the_next_look_is_never_after_the_deadline(world: World):
    order = await paying_by_code(world)
    world.clock.advance(seconds=43)
    world.channel.answer("query", PayStatus.PENDING)

    assert await poll(world, order.order_no) == RunAgain(at=START + timedelta(seconds=45))


@pytest.mark.parametrize(("start", "wait", "state", "kind"), [
    (paying_by_code, timedelta(seconds=45), OrderState.REVERSING, JobKind.REVERSE_PAYMENT),
    (paying_by_qr, timedelta(minutes=5), OrderState.CLOSING, JobKind.CLOSE_PAYMENT),
], ids=["payment-code-is-reversed", "qr-is-closed"])
async def test_an_unconfirmed_payment_is_undone_at_its_deadline(world: World, start, wait, state, kind):
    order = await start(world)
    world.clock.moment += wait
    world.channel.answer("query", PayStatus.NOT_FOUND)

    assert await poll(world, order.order_no) == Done()
    assert world.order(order.order_no).state is state
    assert world.pending(kind, order.order_no).run_at == world.clock.now()


async def test_a_poll_for_an_order_no_longer_paying_asks_nobody(world: World):
    order = await paying_by_code(world)
    claimed = world.claim(JobKind.POLL_PAYMENT, order.order_no)  # running when the payment's notify lands
    await notify(world, order.order_no, PayStatus.PAID, transaction_id="T9", total_fee=1000)

    assert await poll_payment(hub=world.hub, job=claimed) == Done()
    assert world.channel.operations() == ["micropay"]


async def test_a_paid_order_leaves_no_poll_waiting(world: World):
    order = await paid_order(world)

    assert world.job(JobKind.POLL_PAYMENT, order.order_no).state == "done"


# --- closing and reversing -----------------------------------------------------------------------


async def closing_qr(world: World):
    order = await paying_by_qr(world)
    await counter.close_order(hub=world.hub, actor=world.actor, order_no=order.order_no)
    return order


async def close_job(world: World, order_no: str):
    return await close_payment(hub=world.hub, job=world.claim(JobKind.CLOSE_PAYMENT, order_no))


async def test_a_closed_trade_closes_the_order(world: World):
    order = await closing_qr(world)
    world.channel.answer("close", CloseStatus.CLOSED)

    assert await close_job(world, order.order_no) == Done()
    assert world.order(order.order_no).state is OrderState.CLOSED


async def test_a_payment_that_slipped_in_before_the_close_wins(world: World):
    order = await closing_qr(world)
    world.channel.answer("close", CloseStatus.ALREADY_PAID)
    world.channel.answer("query", PayStatus.PAID)

    assert await close_job(world, order.order_no) == Done()
    assert_paid_once(world, order.order_no)


async def test_already_paid_without_a_paid_query_is_tried_again(world: World):
    order = await closing_qr(world)
    world.channel.answer("close", CloseStatus.ALREADY_PAID)
    world.channel.answer("query", PayStatus.UNKNOWN)

    assert isinstance(await close_job(world, order.order_no), Retry)
    assert world.order(order.order_no).state is OrderState.CLOSING


@pytest.mark.parametrize("status", [CloseStatus.RETRY, CloseStatus.UNKNOWN])
async def test_an_unclear_close_is_tried_again(world: World, status):
    order = await closing_qr(world)
    world.channel.answer("close", status)

    assert isinstance(await close_job(world, order.order_no), Retry)
    assert world.order(order.order_no).state is OrderState.CLOSING


async def test_an_order_never_paid_expires_only_when_its_time_is_up(world: World):
    order = await placed_order(world)

    world.clock.advance(minutes=30, microseconds=-1)
    assert await expire_unpaid_orders(hub=world.hub, limit=10) == 0
    assert world.order(order.order_no).state is OrderState.CREATED
    world.clock.advance(microseconds=1)
    assert await expire_unpaid_orders(hub=world.hub, limit=10) == 1
    assert world.order(order.order_no).state is OrderState.CLOSED
    assert world.channel.calls == []


async def test_the_sweep_expires_in_bounded_batches_oldest_first(world: World):
    orders = []
    for n in range(3):
        orders.append(await counter.create_order(hub=world.hub, actor=world.actor, request=new_order(f"E-{n}")))
        world.clock.advance(seconds=1)
    paying = await paying_by_qr(world)  # already paying: its poll job undoes it at the channel
    world.clock.advance(minutes=31)

    assert await expire_unpaid_orders(hub=world.hub, limit=2) == 2
    assert [world.order(o.order_no).state for o in orders] == [OrderState.CLOSED, OrderState.CLOSED,
                                                                OrderState.CREATED]
    assert await expire_unpaid_orders(hub=world.hub, limit=2) == 1
    assert await expire_unpaid_orders(hub=world.hub, limit=2) == 0
    assert world.order(paying.order_no).state is OrderState.PAYING


async def test_an_expired_order_is_refused_when_paid_before_the_sweep_runs(world: World):
    order = await placed_order(world)
    world.clock.advance(minutes=30)

    with pytest.raises(Conflict) as refused:
        await counter.pay_by_qr(hub=world.hub, actor=world.actor, order_no=order.order_no, client_ip="10.0.0.7")
    assert refused.value.code == "ORDER_EXPIRED"


@pytest.mark.parametrize(("answer", "outcome", "state"), [
    (CloseStatus.CLOSED, Done, OrderState.CLOSED), (CloseStatus.UNKNOWN, Retry, OrderState.REVERSING),
])
async def test_reversing_closes_only_on_an_explicit_answer(world: World, answer, outcome, state):
    order = await paying_by_code(world)
    await counter.close_order(hub=world.hub, actor=world.actor, order_no=order.order_no)
    world.channel.answer("reverse", answer)

    result = await reverse_payment(hub=world.hub, job=world.claim(JobKind.REVERSE_PAYMENT, order.order_no))

    assert isinstance(result, outcome)
    assert world.order(order.order_no).state is state


# --- notifies and duplicate answers --------------------------------------------------------------


async def notify(world: World, order_no: str, status: PayStatus, **fields) -> bool:
    body = world.channel.signed_notify(PayResult(status, order_no, **fields))
    return await accept_notify(hub=world.hub, channel=world.channel.name, body=body)


async def test_a_paid_notify_pays_the_order(world: World):
    order = await paying_by_qr(world)

    assert await notify(world, order.order_no, PayStatus.PAID, transaction_id="T9", total_fee=1000)
    assert_paid_once(world, order.order_no)
    assert world.job(JobKind.POLL_PAYMENT, order.order_no).state == "done"  # nothing left to ask the channel


async def test_a_duplicate_paid_answer_changes_nothing_and_books_once(world: World):
    order = await paying_by_qr(world)
    await notify(world, order.order_no, PayStatus.PAID, transaction_id="T9", total_fee=1000)
    before = world.order(order.order_no)

    assert await notify(world, order.order_no, PayStatus.PAID, transaction_id="T9", total_fee=1000)

    assert world.order(order.order_no) == before
    assert_paid_once(world, order.order_no)


@pytest.mark.parametrize("status", [PayStatus.FAILED, PayStatus.CLOSED, PayStatus.PENDING, PayStatus.UNKNOWN])
async def test_a_notify_that_is_not_a_success_never_fails_a_paying_order(world: World, status):
    order = await paying_by_qr(world)

    assert await notify(world, order.order_no, status)

    assert world.order(order.order_no).state is OrderState.PAYING
    assert world.pending(JobKind.POLL_PAYMENT, order.order_no).run_at == START + timedelta(seconds=1)


async def test_money_reported_for_a_closed_order_goes_to_manual(world: World):
    order = await closing_qr(world)
    world.channel.answer("close", CloseStatus.CLOSED)
    await close_job(world, order.order_no)

    await notify(world, order.order_no, PayStatus.PAID, total_fee=1000)

    assert world.order(order.order_no).state is OrderState.MANUAL
    assert world.db.entries == {}


async def test_a_notify_that_fails_its_signature_or_names_no_order_is_not_acknowledged(world: World):
    assert not await accept_notify(hub=world.hub, channel=world.channel.name, body=b"<xml>forged</xml>")
    assert not await notify(world, "PH-unknown", PayStatus.PAID)


# --- the worker ----------------------------------------------------------------------------------


async def test_the_worker_runs_the_due_poll(world: World):
    order = await paying_by_code(world)
    world.clock.advance(seconds=5)
    world.channel.answer("query", PayStatus.PAID)

    assert await outbox.run_due_jobs(hub=world.hub) == 1

    assert_paid_once(world, order.order_no)
    assert world.job(JobKind.POLL_PAYMENT, order.order_no).state == "done"


async def test_the_worker_loop_sweeps_expired_orders_batch_after_batch(world: World, monkeypatch):
    monkeypatch.setattr(outbox, "EXPIRE_BATCH", 2)
    orders = [await counter.create_order(hub=world.hub, actor=world.actor, request=new_order(f"E-{n}"))
              for n in range(5)]
    world.clock.advance(minutes=30)
    stop = asyncio.Event()
    worker = asyncio.create_task(outbox.work_forever(hub=world.hub, idle_seconds=60, stop=stop))
    for _ in range(100):
        if all(world.order(o.order_no).state is OrderState.CLOSED for o in orders):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(worker, timeout=1)

    assert [world.order(o.order_no).state for o in orders] == [OrderState.CLOSED] * 5  # the clock stood still


async def test_a_due_job_starts_beside_a_slow_one_instead_of_waiting_for_it(world: World):
    slow_may_end, ran = asyncio.Event(), list[str]()

    async def fulfil(*, hub: object, job: Job) -> Done:
        ran.append(f"{job.ref} started")
        if job.ref == "SLOW":
            await slow_may_end.wait()
        ran.append(f"{job.ref} done")
        return Done()

    hub = replace(world.hub, jobs=JobHandlers([JobHandler(JobKind.FULFIL, fulfil)]))
    stop = asyncio.Event()
    worker = asyncio.create_task(outbox.work_forever(hub=hub, idle_seconds=0.01, stop=stop))
    try:
        for ref in ("SLOW", "QUICK"):
            async with world.hub.uow() as uow:
                await uow.jobs.enqueue(merchant_id=world.merchant.id, kind=JobKind.FULFIL, ref=ref,
                                       run_at=world.clock.now())
                await uow.commit()
            for _ in range(200):
                if f"{ref} started" in ran:
                    break
                await asyncio.sleep(0.01)
        for _ in range(200):
            if "QUICK done" in ran:
                break
            await asyncio.sleep(0.01)
        assert ran == ["SLOW started", "QUICK started", "QUICK done"]
    finally:
        stop.set()
        await asyncio.sleep(0.05)
        stopped_at_once = worker.done()
        slow_may_end.set()
        await asyncio.wait_for(worker, timeout=1)
    assert not stopped_at_once and ran[-1] == "SLOW done"  # a stopping worker lets its running jobs finish
    assert world.job(JobKind.FULFIL, "SLOW").state == "done"


async def test_a_handler_error_becomes_a_retry_with_backoff(world: World):
    order = await paying_by_code(world)
    world.channel.answer("query", RuntimeError("connection reset"))

    outcome = await outbox.run_job(hub=world.hub, job=world.claim(JobKind.POLL_PAYMENT, order.order_no))

    assert outcome == Retry("RuntimeError: connection reset")
    job = world.pending(JobKind.POLL_PAYMENT, order.order_no)
    assert (job.attempts, job.run_at, job.last_error) == (1, START + timedelta(seconds=5), outcome.error)
    assert world.order(order.order_no).state is OrderState.PAYING


async def test_contention_is_a_retry_logged_as_a_warning_not_a_failure(world: World, caplog: pytest.LogCaptureFixture):
    order = await paying_by_code(world)
    world.channel.answer("query", Contention())

    outcome = await outbox.run_job(hub=world.hub, job=world.claim(JobKind.POLL_PAYMENT, order.order_no))

    assert isinstance(outcome, Retry) and world.pending(JobKind.POLL_PAYMENT, order.order_no).attempts == 1
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith("outbox")] == [
        ("WARNING", "job met contention")]


async def test_the_last_failed_try_parks_the_job_and_hands_the_order_to_staff(world: World):
    order = await paying_by_code(world)
    world.channel.answer("query", RuntimeError("connection reset"))
    job = world.claim(JobKind.POLL_PAYMENT, order.order_no, attempt=20)

    assert isinstance(await outbox.run_job(hub=world.hub, job=job), Retry)

    assert world.job(JobKind.POLL_PAYMENT, order.order_no).state == "parked"
    stored = world.order(order.order_no)
    assert stored.state is OrderState.MANUAL and "retries exhausted" in stored.failure_message


async def test_polling_gives_its_try_back(world: World):
    order = await paying_by_code(world)
    world.channel.answer("query", PayStatus.PENDING)

    outcome = await outbox.run_job(hub=world.hub, job=world.claim(JobKind.POLL_PAYMENT, order.order_no))

    assert isinstance(outcome, RunAgain)
    assert world.pending(JobKind.POLL_PAYMENT, order.order_no).attempts == 0


async def test_apply_pay_result_calls_a_repeated_success_no_move(world: World):
    order = await paid_order(world)

    async with world.hub.uow() as uow:
        fresh = await uow.orders.get(order_no=order.order_no)
        moved = await apply_pay_result(uow=uow, order=fresh, at=world.clock.now(),
                                       result=PayResult(PayStatus.PAID, order.order_no, total_fee=1000))
        await uow.commit()

    assert moved is False
    assert_paid_once(world, order.order_no)
