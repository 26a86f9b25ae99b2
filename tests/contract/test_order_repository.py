"""The OrderRepository and RefundRepository contract, for the fakes and SQL on both engines."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

import pytest

from payhub.kernel.domain.errors import Conflict, StaleState
from payhub.counter.domain.fees import FeeType
from payhub.kernel.domain.orders import Order, OrderState, PayMethod
from payhub.kernel.domain.payments import PayResult, PayStatus
from payhub.kernel.domain.refunds import Refund, RefundState
from payhub.kernel.ports import UnitOfWork, UnitOfWorkFactory
from payhub.kernel.services.order_views import OrderQuery
from tests.contract.stores import NOW, Tenant, add_tenant


def bill_order(tenant: Tenant, no: int, *, minutes: int = 0, fee_type: FeeType = FeeType.GAS,
               account_no: str = "10010001", operator_id: int | None = None) -> Order:
    """A new order placed `minutes` after NOW on the tenant's terminal."""
    at = NOW + timedelta(minutes=minutes)
    return Order(
        merchant_id=tenant.merchant.id, terminal_id=tenant.terminal.id,
        operator_id=operator_id or tenant.operator.id, order_no=f"PH{tenant.merchant.code}{no:04d}",
        terminal_order_no=f"T{no}", request_hash=f"hash-{no}", kind="biller_posting", product=fee_type.value,
        account_no=account_no, customer_name="张*明", amount=1000,
        details={"biller": "fakebill", "due_amount": 1000, "bill_ids": ["B1", "B2"]},
        created_at=at, expires_at=at + timedelta(minutes=30),
    )


async def add_orders(store: UnitOfWorkFactory, *orders: Order) -> None:
    async with store() as uow:
        for order in orders:
            await uow.orders.add(order)
        await uow.commit()


def paid(order: Order, *, minutes: int = 1) -> Order:
    """The order moved to paid `minutes` after it was placed (not saved)."""
    at = order.created_at + timedelta(minutes=minutes)
    order.start_payment(channel="fakepay", method=PayMethod.MICROPAY, deadline=at + timedelta(minutes=1), at=at, actor="li",
                        auth_code_masked="1345****6789", wallet="wechat")
    order.confirm_paid(result=PayResult(PayStatus.PAID, order.order_no, "TX1", "pay.weixin.micropay", 1000, at),
                       at=at, actor="worker")
    return order


# --- orders ------------------------------------------------------------------------------------------------


async def test_an_added_order_reads_back_by_number_and_by_terminal_order_no(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    order = bill_order(tenant, 1)
    await add_orders(store, order)

    async with store(read_only=True) as uow:
        by_no = await uow.orders.get(order_no=order.order_no)
        by_terminal = await uow.orders.by_terminal_order_no(terminal_id=tenant.terminal.id, terminal_order_no="T1")
        assert await uow.orders.get(order_no="PH-none") is None
        assert await uow.orders.by_terminal_order_no(terminal_id=tenant.terminal.id, terminal_order_no="T2") is None

    assert order.id is not None and order.updated_at == order.created_at and order.saved_state is OrderState.CREATED
    assert by_no == order and by_terminal == order
    assert by_no is not None and by_no.details["bill_ids"] == ["B1", "B2"] and by_no.product == FeeType.GAS


async def test_a_second_order_with_a_terminal_order_no_is_a_conflict_and_the_transaction_goes_on(
        store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    await add_orders(store, bill_order(tenant, 1))

    async with store() as uow:
        with pytest.raises(Conflict) as refused:
            await uow.orders.add(replace(bill_order(tenant, 2), terminal_order_no="T1"))
        await uow.orders.add(bill_order(tenant, 3))
        await uow.commit()

    assert refused.value.code == "DUPLICATE"
    async with store(read_only=True) as uow:
        assert await uow.orders.get(order_no=bill_order(tenant, 2).order_no) is None
        assert await uow.orders.get(order_no=bill_order(tenant, 3).order_no) is not None


async def test_a_unit_of_work_left_without_commit_keeps_nothing(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    async with store() as uow:
        await uow.orders.add(bill_order(tenant, 1))

    async with store(read_only=True) as uow:
        assert await uow.orders.get(order_no=bill_order(tenant, 1).order_no) is None
        assert await uow.orders.count_by_state() == {}


async def test_save_bumps_the_version_records_each_move_and_refuses_a_stale_copy(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    await add_orders(store, bill_order(tenant, 1))
    no = bill_order(tenant, 1).order_no
    async with store(read_only=True) as uow:
        mine = await uow.orders.get(order_no=no)
        theirs = await uow.orders.get(order_no=no)
    assert mine is not None and theirs is not None

    async with store() as uow:
        await uow.orders.save(paid(theirs))
        await uow.commit()
    async with store() as uow:
        mine.cancel_unpaid(reason="柜员取消", at=NOW, actor="li")
        with pytest.raises(StaleState):
            await uow.orders.save(mine)

    async with store(read_only=True) as uow:
        stored = await uow.orders.get(order_no=no)
        history = await uow.orders.history(key=no)
    assert stored is not None and stored.state is OrderState.PAID and stored.version == 1
    payment = stored.paid_payment
    assert payment is not None and payment.id is not None and stored.payments == theirs.payments
    assert payment.paid_at == NOW + timedelta(minutes=1) and stored.updated_at == payment.paid_at
    assert payment.transaction_id == "TX1" and payment.method is PayMethod.MICROPAY and payment.wallet == "wechat"
    assert theirs.version == 1 and theirs.saved_state is OrderState.PAID and theirs.transitions == []
    assert [(t.from_state, t.to_state, t.actor, t.at) for t in history] == [
        ("created", "paying", "li", NOW + timedelta(minutes=1)),
        ("paying", "paid", "worker", NOW + timedelta(minutes=1)),
    ]


async def _one_stored_order(store: UnitOfWorkFactory) -> str:
    """The order no. of an order added in a fresh tenant."""
    tenant = await add_tenant(store)
    await add_orders(store, bill_order(tenant, 1))
    return bill_order(tenant, 1).order_no


async def _read(uow: UnitOfWork, no: str) -> Order:
    order = await uow.orders.get(order_no=no)
    assert order is not None
    return order


async def test_a_save_without_a_move_still_bumps_the_version(store: UnitOfWorkFactory) -> None:
    no = await _one_stored_order(store)
    async with store() as uow:
        order = await _read(uow, no)
        order.customer_name = "李*"
        await uow.orders.save(order)
        stale = copy.copy(order)
        stale.version -= 1
        with pytest.raises(StaleState):
            await uow.orders.save(stale)
        await uow.commit()

    async with store(read_only=True) as uow:
        stored = await uow.orders.get(order_no=no)
        assert stored is not None and stored.version == 1 and stored.customer_name == "李*"
        assert await uow.orders.history(key=no) == []


async def test_a_document_changed_in_place_is_saved_and_so_is_a_later_change(store: UnitOfWorkFactory) -> None:
    no = await _one_stored_order(store)
    async with store() as uow:
        order = await _read(uow, no)
        order.details["posted"] = ["B1"]  # the same dict the order was read with
        await uow.orders.save(order)
        order.details["posted"].append("B2")
        order.customer_name = "王*"
        await uow.orders.save(order)
        await uow.commit()

    async with store(read_only=True) as uow:
        stored = await _read(uow, no)
        assert stored.version == 2
        assert (stored.details["posted"], stored.customer_name) == (["B1", "B2"], "王*")


def _filters(tenant: Tenant, **given: object) -> OrderQuery:
    return OrderQuery(**({"merchant_id": tenant.merchant.id} | given))  # type: ignore[arg-type]


async def test_search_filters_newest_first_and_pages(store: UnitOfWorkFactory) -> None:
    tenant, other = await add_tenant(store), await add_tenant(store, "M2")
    orders = [
        bill_order(tenant, 1, minutes=0),
        bill_order(tenant, 2, minutes=10, fee_type=FeeType.WATER, account_no="20010001"),
        bill_order(tenant, 3, minutes=20, operator_id=tenant.supervisor.id),
        bill_order(tenant, 4, minutes=30),
        bill_order(other, 1, minutes=5),
    ]
    await add_orders(store, *orders)
    async with store() as uow:
        order = await uow.orders.get(order_no=orders[3].order_no)
        assert order is not None
        await uow.orders.save(paid(order))
        await uow.commit()

    async def numbers(limit: int = 50, offset: int = 0, **given: object) -> list[str]:
        async with store(read_only=True) as uow:
            found = await uow.orders.search(filters=_filters(tenant, **given), limit=limit, offset=offset)
        return [o.terminal_order_no for o in found]

    assert await numbers() == ["T4", "T3", "T2", "T1"]
    assert await numbers(limit=2) == ["T4", "T3"] and await numbers(limit=2, offset=2) == ["T2", "T1"]
    assert await numbers(offset=4) == []
    assert await numbers(states=["paid"]) == ["T4"]
    assert await numbers(states=["created", "closed"]) == ["T3", "T2", "T1"]
    assert await numbers(fee_type="water") == ["T2"]
    assert await numbers(account_no="10010001") == ["T4", "T3", "T1"]
    assert await numbers(operator_id=tenant.supervisor.id) == ["T3"]
    assert await numbers(terminal_id=tenant.terminal.id) == ["T4", "T3", "T2", "T1"]
    assert await numbers(terminal_id=other.terminal.id) == []
    span = {"created_from": NOW + timedelta(minutes=10), "created_to": NOW + timedelta(minutes=30)}
    assert await numbers(**span) == ["T3", "T2"]


async def test_orders_placed_at_the_same_moment_list_the_later_added_first(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    await add_orders(store, bill_order(tenant, 1), bill_order(tenant, 2), bill_order(tenant, 3))
    async with store(read_only=True) as uow:
        found = await uow.orders.search(filters=_filters(tenant), limit=10, offset=0)
    assert [o.terminal_order_no for o in found] == ["T3", "T2", "T1"]


async def test_count_by_state_counts_every_merchant(store: UnitOfWorkFactory) -> None:
    tenant, other = await add_tenant(store), await add_tenant(store, "M2")
    await add_orders(store, bill_order(tenant, 1), bill_order(tenant, 2), bill_order(other, 1))
    async with store() as uow:
        order = await uow.orders.get(order_no=bill_order(tenant, 2).order_no)
        assert order is not None
        await uow.orders.save(paid(order))
        await uow.commit()
    async with store(read_only=True) as uow:
        assert await uow.orders.count_by_state() == {"created": 2, "paid": 1}


async def test_paid_between_lists_the_operators_orders_paid_in_the_half_open_span(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    orders = [bill_order(tenant, n) for n in range(1, 6)]
    orders[4].operator_id = tenant.supervisor.id
    await add_orders(store, *orders)
    paid_after = {"T1": 12, "T2": 10, "T3": 20, "T5": 11}  # minutes after placing; T4 is never paid
    async with store() as uow:
        for order in orders:
            if order.terminal_order_no in paid_after:
                stored = await uow.orders.get(order_no=order.order_no)
                assert stored is not None
                await uow.orders.save(paid(stored, minutes=paid_after[order.terminal_order_no]))
        await uow.commit()

    async with store(read_only=True) as uow:
        found = await uow.orders.paid_between(merchant_id=tenant.merchant.id, operator_id=tenant.operator.id,
                                              start=NOW + timedelta(minutes=10), end=NOW + timedelta(minutes=20))
    assert [o.terminal_order_no for o in found] == ["T2", "T1"]


# --- refunds -----------------------------------------------------------------------------------------------


def refund_of(order: Order, seq: int, *, amount: int = 300, requested_by: int | None = None,
              automatic: bool = False, minutes: int = 0) -> Refund:
    assert order.id is not None
    return Refund(merchant_id=order.merchant_id, order_id=order.id, order_no=order.order_no, seq=seq, amount=amount,
                  reason="顾客退款", requested_by=requested_by, approved_by=None, automatic=automatic,
                  created_at=NOW + timedelta(minutes=minutes))


async def test_refunds_read_back_by_number_by_request_and_by_order(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    order = bill_order(tenant, 1)
    await add_orders(store, order)
    second, first = refund_of(order, 2), refund_of(order, 1)
    async with store() as uow:
        await uow.refunds.add(second, terminal_id=tenant.terminal.id, request_no="RQ2", request_hash="h2")
        await uow.refunds.add(first)
        await uow.commit()

    async with store(read_only=True) as uow:
        assert await uow.refunds.get(refund_no=first.refund_no) == first
        assert await uow.refunds.by_request(terminal_id=tenant.terminal.id, request_no="RQ2") == (second, "h2")
        assert await uow.refunds.by_request(terminal_id=tenant.terminal.id, request_no="RQ1") is None
        assert await uow.refunds.for_order(order_id=order.id) == [first, second]
        assert await uow.refunds.get(refund_no="none") is None


async def test_a_refund_request_number_is_used_once_per_terminal(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    order = bill_order(tenant, 1)
    await add_orders(store, order)
    async with store() as uow:
        await uow.refunds.add(refund_of(order, 1), terminal_id=tenant.terminal.id, request_no="RQ", request_hash="h")
        with pytest.raises(Conflict):
            await uow.refunds.add(refund_of(order, 2), terminal_id=tenant.terminal.id, request_no="RQ",
                                  request_hash="h")
        with pytest.raises(Conflict):
            await uow.refunds.add(refund_of(order, 1))  # the same refund number
        await uow.commit()
    async with store(read_only=True) as uow:
        assert [r.seq for r in await uow.refunds.for_order(order_id=order.id)] == [1]


async def test_a_refund_save_is_guarded_and_recorded(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    order = bill_order(tenant, 1)
    await add_orders(store, order)
    refund = refund_of(order, 1)
    async with store() as uow:
        await uow.refunds.add(refund)
        await uow.commit()
    stale = copy.deepcopy(refund)

    async with store() as uow:
        refund.succeeded(channel_refund_id="RF1", at=NOW + timedelta(minutes=2), actor="worker")
        await uow.refunds.save(refund)
        await uow.commit()
    async with store() as uow:
        stale.to_manual(reason="查询失败", at=NOW, actor="worker")
        with pytest.raises(StaleState):
            await uow.refunds.save(stale)

    async with store(read_only=True) as uow:
        stored = await uow.refunds.get(refund_no=refund.refund_no)
        history = await uow.orders.history(key=refund.refund_no)
    assert stored is not None and stored.state is RefundState.REFUNDED and stored.version == 1
    assert stored.channel_refund_id == "RF1" and stored.updated_at == NOW + timedelta(minutes=2)
    assert [(t.from_state, t.to_state) for t in history] == [("refunding", "refunded")]


async def test_an_operators_refunds_are_the_ones_asked_and_the_automatic_ones_of_their_orders(
        store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    mine, theirs = bill_order(tenant, 1), bill_order(tenant, 2, operator_id=tenant.supervisor.id)
    await add_orders(store, mine, theirs)
    refunds = [
        refund_of(mine, 1, requested_by=tenant.supervisor.id, minutes=1),  # asked by someone else on my order
        refund_of(mine, 2, automatic=True, minutes=2),                     # automatic on my order
        refund_of(theirs, 1, requested_by=tenant.operator.id, minutes=3),  # asked by me on their order
        refund_of(theirs, 2, automatic=True, minutes=4),                   # automatic on their order
        refund_of(mine, 3, automatic=True, minutes=10),                    # out of the span
    ]
    async with store() as uow:
        for refund in refunds:
            await uow.refunds.add(refund)
        await uow.commit()

    async with store(read_only=True) as uow:
        found = await uow.refunds.of_operator_between(merchant_id=tenant.merchant.id, operator_id=tenant.operator.id,
                                                      start=NOW, end=NOW + timedelta(minutes=10))
    assert [r.refund_no for r in found] == [refunds[1].refund_no, refunds[2].refund_no]


async def test_expired_unpaid_lists_created_orders_past_expiry_longest_expired_first(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    later, first, not_yet, paying = (bill_order(tenant, n, minutes=m) for n, m in ((1, 5), (2, 0), (3, 40), (4, -1)))
    paid(paying)
    await add_orders(store, later, first, not_yet, paying)

    async with store(read_only=True) as uow:
        due = await uow.orders.expired_unpaid(now=NOW + timedelta(minutes=35), limit=10)
        one = await uow.orders.expired_unpaid(now=NOW + timedelta(minutes=35), limit=1)
        none = await uow.orders.expired_unpaid(now=NOW + timedelta(minutes=30) - timedelta(microseconds=1), limit=10)
    assert (due, one, none) == ([first.order_no, later.order_no], [first.order_no], [])


async def test_the_order_view_holds_the_refunds_by_seq_and_the_moves_of_the_order_then_of_each_refund(
        store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    order, other = bill_order(tenant, 1), bill_order(tenant, 2)
    await add_orders(store, order, other)
    second, first = refund_of(order, 2), refund_of(order, 1)
    async with store() as uow:
        await uow.refunds.add(second)
        await uow.refunds.add(first)
        await uow.commit()
    async with store() as uow:
        await uow.orders.save(paid(order))
        second.succeeded(channel_refund_id="RF2", at=NOW + timedelta(minutes=3), actor="worker")
        await uow.refunds.save(second)
        first.succeeded(channel_refund_id="RF1", at=NOW + timedelta(minutes=4), actor="worker")
        await uow.refunds.save(first)
        await uow.commit()

    async with store(read_only=True) as uow:
        view = await uow.orders.view(order_no=order.order_no)
        bare = await uow.orders.view(order_no=other.order_no)
        assert await uow.orders.view(order_no="none") is None
        stored = await uow.orders.get(order_no=order.order_no)
    assert view is not None and view.order == stored
    assert [r.refund_no for r in view.refunds] == [first.refund_no, second.refund_no]
    assert [(t.key, t.to_state) for t in view.history] == [
        (order.order_no, "paying"), (order.order_no, "paid"),
        (first.refund_no, "refunded"), (second.refund_no, "refunded")]
    assert bare is not None and bare.refunds == [] and bare.history == []


async def test_a_payment_changed_without_a_move_is_saved_with_its_order(store: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(store)
    await add_orders(store, bill_order(tenant, 1))
    no = bill_order(tenant, 1).order_no
    async with store() as uow:
        order = await uow.orders.get(order_no=no)
        assert order is not None
        order.start_payment(channel="fakepay", method=PayMethod.NATIVE, deadline=NOW + timedelta(minutes=5), at=NOW,
                            actor="li")
        await uow.orders.save(order)
        await uow.commit()
    async with store() as uow:
        order = await uow.orders.get(order_no=no)
        assert order is not None and order.keep_qr(code_url="weixin://wxpay/q1")
        await uow.orders.save(order)
        await uow.commit()

    async with store(read_only=True) as uow:
        stored = await uow.orders.get(order_no=no)
        viewed = await uow.orders.view(order_no=no)
    assert stored is not None and viewed is not None and viewed.order.payments == stored.payments
    [payment] = stored.payments
    assert (payment.seq, payment.channel, payment.method, payment.code_url, payment.deadline) == (
        1, "fakepay", PayMethod.NATIVE, "weixin://wxpay/q1", NOW + timedelta(minutes=5))
