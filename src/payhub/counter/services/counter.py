"""Counter bill payment: look up arrears, place an order, take the money by QR or payment code, close."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from payhub.counter.domain.bill_payment import KIND, BillPayment, product_name
from payhub.counter.domain.billing import Arrears
from payhub.counter.domain.reversals import bills_paid
from payhub.kernel.domain.errors import Conflict, Contention, InvalidInput, NotFound, StaleState, Unavailable
from payhub.counter.domain.fees import FeeType, parse_fee_type
from payhub.kernel.domain.jobs import JobKind
from payhub.kernel.domain.money import require_fen, yuan
from payhub.kernel.domain.orders import MOVING_ON_STATES, Order, OrderState, Payment, PayMethod
from payhub.kernel.domain.payments import Capability, PayResult, PayStatus
from payhub.kernel.domain.wallets import Wallet, mask_code, wallet_of
from payhub.kernel.ports import ChannelRefused, ChannelUnavailable, PaymentChannel
from payhub.counter.ports import BillerAccountUnknown, BillerUnavailable
from payhub.kernel.services.auth import Actor, known_merchant
from payhub.counter.services.context import CounterHub
from payhub.kernel.services.context import Hub
from payhub.kernel.services.order_waits import until_changed
from payhub.kernel.services.orders import OrderRequest, earlier_order, place_order
from payhub.kernel.services.payment_results import CHANNEL, apply_pay_result
from payhub.kernel.services.retries import retrying

_ANSWER_MARGIN_SECONDS = 1.0  # after the channel's answer, the first request still writes it down
_SAVE_TRIES = 3  # a racing request that saved first leaves its answer: one more read finds it


@dataclass(frozen=True)
class NewOrder:
    """What a terminal asks for when it places an order."""

    terminal_order_no: str
    fee_type: str
    account_no: str
    amount: int
    bill_ids: tuple[str, ...] = ()

    def content_hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def lookup_arrears(*, hub: CounterHub, actor: Actor, fee_type: str, account_no: str) -> Arrears:
    """The customer's arrears for a fee type, from the merchant's biller."""
    kind = parse_fee_type(fee_type)
    if not kind.has_arrears:
        raise InvalidInput("NO_ARREARS_QUERY")
    if not account_no.strip():
        raise InvalidInput("ACCOUNT_REQUIRED")
    merchant = await known_merchant(hub=hub, merchant_id=actor.merchant_id)
    try:
        return await hub.billers.biller(merchant.biller).query_arrears(account_no=account_no.strip(), fee_type=kind)
    except BillerAccountUnknown:
        raise NotFound("UNKNOWN_ACCOUNT", account_no=account_no) from None
    except BillerUnavailable:
        raise Unavailable("BILLER_UNAVAILABLE") from None


def _due_for(*, arrears: Arrears, amount: int, bill_ids: tuple[str, ...]) -> int:
    """What part of amount pays arrears; refuses amounts the biller would not take."""
    if bill_ids:
        by_id = {bill.bill_id: bill for bill in arrears.bills}
        for bill_id in bill_ids:
            if bill_id not in by_id:
                raise InvalidInput("UNKNOWN_BILL", bill_id=bill_id)
        if len(set(bill_ids)) != len(bill_ids):
            raise InvalidInput("DUPLICATE_BILL")
        due = sum(by_id[b].amount for b in bill_ids)
        if amount != due:
            raise InvalidInput("AMOUNT_MISMATCH")
        return due
    if arrears.prepay_allowed:
        return min(amount, arrears.total_due)
    if arrears.total_due == 0:
        raise InvalidInput("NOTHING_DUE")
    if amount != arrears.total_due:
        raise InvalidInput("AMOUNT_BELOW_DUE", due=yuan(arrears.total_due))
    return amount


async def create_order(*, hub: CounterHub, actor: Actor, request: NewOrder) -> Order:
    """Place an order; the same terminal order no. with the same content returns the first order."""
    content_hash = request.content_hash()
    kind = parse_fee_type(request.fee_type)
    if kind.has_arrears:  # a retry must not be checked against bills its first request has paid meanwhile
        existing = await earlier_order(hub=hub, actor=actor, terminal_order_no=request.terminal_order_no,
                                       request_hash=content_hash)
        if existing is not None:
            return existing
    merchant = await known_merchant(hub=hub, merchant_id=actor.merchant_id)
    amount = require_fen(request.amount)
    account_no = request.account_no.strip()
    if not account_no:
        raise InvalidInput("ACCOUNT_REQUIRED")
    customer_name, due, paid = "", amount, None
    if kind.has_arrears:
        arrears = await lookup_arrears(hub=hub, actor=actor, fee_type=kind.value, account_no=account_no)
        due = _due_for(arrears=arrears, amount=amount, bill_ids=request.bill_ids)
        customer_name = arrears.customer_name
        paid = bills_paid(arrears=arrears, amount=amount, bill_ids=request.bill_ids)
    bill = BillPayment(fee_type=kind, biller=merchant.biller, due_amount=due, bill_ids=tuple(request.bill_ids),
                       bills=paid)
    return await place_order(hub=hub, actor=actor, request=OrderRequest(
        terminal_order_no=request.terminal_order_no, request_hash=content_hash, kind=KIND, product=kind.value,
        account_no=account_no, amount=amount, customer_name=customer_name, details=bill.details(),
    ))


async def get_order(*, hub: Hub, actor: Actor, order_no: str) -> Order:
    """One of the actor's merchant's orders."""
    async with hub.uow(read_only=True) as uow:
        order = await uow.orders.get(order_no=order_no)
    if order is None or order.merchant_id != actor.merchant_id:
        raise NotFound("ORDER_NOT_FOUND", order_no=order_no)
    return order


def _payment(order: Order) -> Payment:
    """The payment under way (an order past created has one)."""
    assert order.payment is not None, order.order_no
    return order.payment


async def _channel_for(*, hub: Hub, order: Order) -> tuple[str, PaymentChannel]:
    """The channel the order is (or will be) paid through: its payment's, else its merchant's."""
    if order.payment is not None:
        name = order.payment.channel
    else:
        name = (await known_merchant(hub=hub, merchant_id=order.merchant_id)).channel
    return name, hub.registry.channel(name)


def _require_payable(*, order: Order, method: PayMethod, masked: str | None, now: datetime) -> None:
    payment = order.payment
    if order.state is OrderState.PAYING and payment is not None and (
            payment.method is not method or payment.auth_code_masked != masked):
        raise Conflict("PAYMENT_METHOD_MISMATCH")
    if order.state not in (OrderState.CREATED, OrderState.PAY_FAILED):
        raise Conflict("ORDER_NOT_PAYABLE", state=str(order.state))
    if now >= order.expires_at:
        raise Conflict("ORDER_EXPIRED")


def _is_retry(*, order: Order, method: PayMethod, masked: str | None) -> bool:
    """Whether this pay request repeats the one that started the order's payment (and so gets its answer).

    After a refusal a new payment code, or the QR, is another try; the refused code sent again gets the refusal.
    """
    payment = order.payment
    if payment is None or payment.method is not method or payment.auth_code_masked != masked:
        return False
    return order.state is not OrderState.PAY_FAILED or method is PayMethod.MICROPAY


async def _start_payment(*, hub: Hub, actor: Actor, order: Order, channel: str, method: PayMethod,
                         masked: str | None, wallet: str | None = None) -> bool:
    """Created (or pay failed) → paying with its poll queued; False when a racing request started it first.

    True makes this request the payment's first attempt: it must call `hub.attempts.end` once it has its answer.
    """
    now = hub.clock.now()
    _require_payable(order=order, method=method, masked=masked, now=now)
    policy = hub.policy
    if method is PayMethod.MICROPAY:
        deadline, first_poll = now + timedelta(seconds=policy.micropay_poll_cap_seconds), policy.micropay_poll_seconds
    else:
        deadline, first_poll = now + timedelta(minutes=policy.native_qr_minutes), policy.micropay_poll_seconds * 2
    try:
        async with hub.uow() as uow:
            order.start_payment(channel=channel, method=method, at=now, actor=actor.name, deadline=deadline,
                                auth_code_masked=masked, wallet=wallet)
            await uow.orders.save(order)
            # the guarded save won; known before the commit, so a retry that sees the order paying finds it
            hub.attempts.begin(order.order_no)
            try:
                # written before the call: if we die while the channel is charging, the poll finds out what happened
                await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.POLL_PAYMENT, ref=order.order_no,
                                       run_at=now + timedelta(seconds=first_poll))
                await uow.commit()
            except BaseException:
                hub.attempts.end(order.order_no)
                raise
    except StaleState:
        started = await get_order(hub=hub, actor=actor, order_no=order.order_no)
        if not _is_retry(order=started, method=method, masked=masked):
            _require_payable(order=started, method=method, masked=masked, now=now)
        return False
    hub.signals.publish(order.order_no)
    return True


async def _after_first_attempt(*, hub: Hub, actor: Actor, order_no: str) -> Order:
    """The order once the first pay request, if it runs in this process, has its answer."""
    await hub.attempts.wait(order_no, timeout=hub.policy.channel_answer_seconds + _ANSWER_MARGIN_SECONDS)
    return await get_order(hub=hub, actor=actor, order_no=order_no)


async def _in_flight_until(*, hub: Hub, order: Order) -> datetime:
    """Until when the request that started the order's payment may still be waiting for the channel's answer."""
    async with hub.uow(read_only=True) as uow:
        history = await uow.orders.history(key=order.order_no)
    started = max((move.at for move in history if move.to_state == OrderState.PAYING), default=order.created_at)
    return started + timedelta(seconds=hub.policy.channel_answer_seconds + _ANSWER_MARGIN_SECONDS)


async def pay_by_qr(*, hub: Hub, actor: Actor, order_no: str, client_ip: str) -> Order:
    """Show a collection QR (收款二维码); a retry, also one racing the first, returns the same QR."""
    order = await get_order(hub=hub, actor=actor, order_no=order_no)
    name, channel = await _channel_for(hub=hub, order=order)
    if Capability.QR not in channel.supports:
        raise InvalidInput("CARD_NO_QR")
    retry = _is_retry(order=order, method=PayMethod.NATIVE, masked=None)
    if not retry and await _start_payment(hub=hub, actor=actor, order=order, channel=name, method=PayMethod.NATIVE,
                                          masked=None):
        try:
            return await _ask_for_qr(hub=hub, actor=actor, order=order, client_ip=client_ip)
        finally:
            hub.attempts.end(order_no)
    order = await _after_first_attempt(hub=hub, actor=actor, order_no=order_no)
    if _payment(order).code_url is not None or order.state is not OrderState.PAYING:
        return _first_qr_answer(order)
    # the first request died or timed out before it got the QR: ask again (same out_trade_no, same content)
    return await _ask_for_qr(hub=hub, actor=actor, order=order, client_ip=client_ip)


async def _ask_for_qr(*, hub: Hub, actor: Actor, order: Order, client_ip: str) -> Order:
    payment = _payment(order)
    try:
        qr = await hub.registry.channel(payment.channel).native(
            merchant=await _merchant_code(hub=hub, merchant_id=order.merchant_id), out_trade_no=order.out_trade_no,
            total_fee=order.amount, body=_body(order), notify_url=hub.policy.notify_url, client_ip=client_ip,
            time_expire=payment.deadline,
        )
    except ChannelUnavailable:
        raise Unavailable("CHANNEL_UNAVAILABLE") from None
    except ChannelRefused as refused:
        return await _qr_refused(hub=hub, order_no=order.order_no, refused=refused)
    return await _keep_first_qr(hub=hub, actor=actor, order_no=order.order_no, code_url=qr.code_url)


async def _qr_refused(*, hub: Hub, order_no: str, refused: ChannelRefused) -> Order:
    """The channel gave no QR: the order fails, unless a racing request already got one (that is the answer)."""
    async with hub.uow() as uow:
        fresh = await uow.orders.get(order_no=order_no)
        assert fresh is not None
        if _payment(fresh).code_url is not None:
            return fresh
        if fresh.state is OrderState.PAYING:
            fresh.fail_payment(code=refused.err_code, message=refused.message, at=hub.clock.now(), actor=CHANNEL)
            await uow.orders.save(fresh)
            await uow.commit()
    hub.signals.publish(order_no)
    raise Conflict("CHANNEL_REFUSED", reason=refused.message)


def _first_qr_answer(order: Order) -> Order:
    """What the request that asked for the QR answered: the QR, or the channel's refusal to give one."""
    if _payment(order).code_url is None and order.state is OrderState.PAY_FAILED:
        raise Conflict("CHANNEL_REFUSED", reason=order.failure_message or "")
    return order


async def _keep_first_qr(*, hub: Hub, actor: Actor, order_no: str, code_url: str) -> Order:
    """Store the QR unless a racing request stored one first; the stored one is the answer."""

    async def keep() -> Order:
        async with hub.uow() as uow:
            fresh = await uow.orders.get(order_no=order_no)
            assert fresh is not None
            if fresh.keep_qr(code_url=code_url):
                await uow.orders.save(fresh)
                await uow.commit()
        return fresh

    try:
        return await retrying(keep, on=(StaleState,), tries=_SAVE_TRIES, pause=0)
    except StaleState:
        return await get_order(hub=hub, actor=actor, order_no=order_no)


def _body(order: Order) -> str:
    """What the customer's wallet shows: the fee type (or goods) and the account (or ticket)."""
    return f"{product_name(order.product, 'zh')}-{order.account_no}"


async def _merchant_code(*, hub: Hub, merchant_id: int) -> str:
    return (await known_merchant(hub=hub, merchant_id=merchant_id)).code


async def pay_by_code(*, hub: Hub, actor: Actor, order_no: str, auth_code: str, client_ip: str) -> Order:
    """Charge the customer's payment code (扫付款码); a retry with the same code gets the first attempt's answer."""
    wallet = wallet_of(auth_code)
    masked = mask_code(auth_code)
    order = await get_order(hub=hub, actor=actor, order_no=order_no)
    name, channel = await _channel_for(hub=hub, order=order)
    if Capability.PAYMENT_CODE not in channel.supports or (
            (wallet is Wallet.CARD) != (Capability.STORED_VALUE in channel.supports)):
        raise InvalidInput("BAD_PAYMENT_CODE")
    retry = _is_retry(order=order, method=PayMethod.MICROPAY, masked=masked)
    if not retry and await _start_payment(hub=hub, actor=actor, order=order, channel=name, method=PayMethod.MICROPAY,
                                          masked=masked, wallet=wallet.value):
        try:
            result = await _send_code(hub=hub, actor=actor, order=order, auth_code=auth_code, client_ip=client_ip)
            return await _take_answer(hub=hub, actor=actor, order=order, result=result)
        finally:
            hub.attempts.end(order_no)
    order = await _after_first_attempt(hub=hub, actor=actor, order_no=order_no)
    if order.state is not OrderState.PAYING or hub.clock.now() < await _in_flight_until(hub=hub, order=order):
        return order  # the first attempt's outcome, or "in progress" while it may still be talking to the channel
    return await _resume_code(hub=hub, actor=actor, order=order, auth_code=auth_code, client_ip=client_ip)


async def _resume_code(*, hub: Hub, actor: Actor, order: Order, auth_code: str, client_ip: str) -> Order:
    """The first attempt ended without an answer (the hub died): ask the channel; send the code if it never got it."""
    merchant = await _merchant_code(hub=hub, merchant_id=order.merchant_id)
    payment = _payment(order)
    result = await hub.registry.channel(payment.channel).query(merchant=merchant, out_trade_no=order.out_trade_no)
    if result.status is PayStatus.NOT_FOUND and hub.clock.now() < payment.deadline:
        # the same out_trade_no: should the first one still turn up, the channel takes only one of them
        result = await _send_code(hub=hub, actor=actor, order=order, auth_code=auth_code, client_ip=client_ip)
    return await _take_answer(hub=hub, actor=actor, order=order, result=result)


async def _send_code(*, hub: Hub, actor: Actor, order: Order, auth_code: str, client_ip: str) -> PayResult:
    return await hub.registry.channel(_payment(order).channel).micropay(
        merchant=await _merchant_code(hub=hub, merchant_id=order.merchant_id), out_trade_no=order.out_trade_no,
        total_fee=order.amount, body=_body(order), auth_code=auth_code.strip(), client_ip=client_ip,
        device_info=actor.terminal.code, op_user_id=actor.operator.username,
    )


async def _take_answer(*, hub: Hub, actor: Actor, order: Order, result: PayResult) -> Order:
    """Apply the channel's answer about a payment code to the order as this request last read or saved it (read
    again only when a guarded save finds it moved); an unclear answer is polled in the background."""
    order_no = order.order_no
    known: Order | None = order

    async def take() -> Order:
        nonlocal known
        async with hub.uow() as uow:
            fresh, known = known or await uow.orders.get(order_no=order_no), None
            assert fresh is not None
            moved = await apply_pay_result(uow=uow, order=fresh, result=result, at=hub.clock.now())
            if not moved and result.status in (PayStatus.PENDING, PayStatus.UNKNOWN, PayStatus.NOT_FOUND):
                wait = 0 if result.query_now else hub.policy.micropay_poll_seconds
                await uow.jobs.enqueue(merchant_id=fresh.merchant_id, kind=JobKind.POLL_PAYMENT, ref=fresh.order_no,
                                       run_at=hub.clock.now() + timedelta(seconds=wait))
            await uow.commit()
        return fresh

    try:
        fresh = await retrying(take, on=(StaleState, Contention), tries=_SAVE_TRIES, pause=0)
    except StaleState:
        return await get_order(hub=hub, actor=actor, order_no=order_no)
    hub.signals.publish(order_no)
    return fresh


async def close_order(*, hub: Hub, actor: Actor, order_no: str) -> Order:
    """Cancel an unpaid order: at once if no payment was asked, else by closing or reversing at the channel."""
    order = await get_order(hub=hub, actor=actor, order_no=order_no)
    now = hub.clock.now()
    async with hub.uow() as uow:
        if order.state is OrderState.CREATED:
            order.cancel_unpaid(reason="柜台取消", at=now, actor=actor.name)
        elif order.state is OrderState.PAYING and _payment(order).method is PayMethod.NATIVE:
            order.begin_close(reason="柜台取消", at=now, actor=actor.name)
            await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.CLOSE_PAYMENT, ref=order.order_no, run_at=now)
        elif order.state is OrderState.PAYING:
            order.begin_reverse(reason="柜台取消", at=now, actor=actor.name)
            await uow.jobs.enqueue(merchant_id=order.merchant_id, kind=JobKind.REVERSE_PAYMENT, ref=order.order_no, run_at=now)
        elif order.state in (OrderState.CLOSING, OrderState.REVERSING, OrderState.CLOSED):
            return order
        else:
            raise Conflict("ORDER_NOT_CLOSABLE", state=str(order.state))
        await uow.orders.save(order)
        await uow.commit()
    hub.signals.publish(order.order_no)
    return order


async def wait_for_change(*, hub: Hub, actor: Actor, order_no: str, seen_version: int, timeout: float) -> Order:
    """The order once its version differs from seen_version, or as it is when timeout seconds have passed."""
    return await until_changed(hub=hub, order_no=order_no, seen_version=seen_version, timeout=timeout,
                               look=lambda: get_order(hub=hub, actor=actor, order_no=order_no),
                               version=lambda order: order.version,
                               moving_on=lambda order: order.state in MOVING_ON_STATES)


FEE_TYPES = [
    {"code": kind.value, "name": kind.label_zh, "name_en": kind.label_en, "has_arrears": kind.has_arrears}
    for kind in FeeType
]
