"""Money on cards: recharge, consume, refund, transfer. Each is one transaction with its idempotency row,
its balanced journal entry, its limits, its suspicious-rule screening and its push event; contention
(a deadlock or serialization victim) is retried here and never reaches the caller. Consumes are booked by
card_consumes, alone or grouped with concurrent ones by a ConsumeBatcher."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from payhub.cards.domain.money import (
    Funding, TxChannel, TxKind, business_date, check_amount, fingerprint, recharge_entry, refund_entry,
    transfer_entry,
)
from payhub.cards.domain.rows import CardTx, LockedCard, PayingMerchant
from payhub.cards.domain.cards import card_account, check_card_no, require_transactable
from payhub.kernel.domain.ledger import shard_of
from payhub.kernel.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PayhubError
from payhub.kernel.domain.ledger import JournalEntry
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services import consumes as card_consumes
from payhub.cards.services import events as card_events
from payhub.cards.services import pin as card_pin
from payhub.cards.services import suspicious as card_suspicious
from payhub.cards.services.consumes import ConsumeBatcher, ConsumeRequest
from payhub.cards.services.tx import TxResult, check_no, event_data, new_tx_no, result_of
from payhub.cards.services.context import CardHub
from payhub.kernel.services.retries import retrying


class _LostRace(Exception):
    """Another request with the same number committed first: roll back and answer with its result."""


Book = Callable[[CardUnitOfWork, CardTx], Awaitable[CardTx]]  # the drafted row → the row to store, balance_after set


@dataclass
class _Tx:
    """One money transaction being written; cards: the card rows it locks, its own card first."""

    hub: CardHub
    merchant_id: int
    merchant_code: str
    kind: TxKind
    channel: TxChannel
    out_no: str
    request_hash: str
    cards: list[str]
    amount: int
    terminal_code: str | None = None
    password_version: int | None = None

    async def known(self) -> TxResult | None:
        """The answer to a retry of a booked number (a conflict if its content differs); None for a new one."""
        async with self.hub.uow(read_only=True) as uow:
            merchant = await uow.cards.card_merchant(merchant_id=self.merchant_id, code=self.merchant_code)
            first = merchant and await self._first(uow, merchant)
        return self._replay(first) if first else None

    async def _first(self, uow: CardUnitOfWork, merchant: PayingMerchant) -> CardTx | None:
        return await uow.card_money.tx_by_out_no(merchant_id=self.merchant_id, card_merchant_id=merchant.id,
                                                 kind=self.kind.value, out_no=self.out_no)

    async def run(self, book: Book) -> TxResult:
        """Lock the cards, replay a known number, else check, book and record; the whole under contention retries."""
        async def attempt() -> TxResult:
            try:
                async with self.hub.uow() as uow:
                    merchant = await uow.cards.card_merchant(merchant_id=self.merchant_id, code=self.merchant_code)
                    if merchant is None or not merchant.active:
                        raise NotFound("CARD_MERCHANT_NOT_FOUND", merchant_code=self.merchant_code)
                    # the number is looked up under the card locks: a retry racing its first request waits for it
                    locked = await uow.cards.lock_cards(merchant_id=self.merchant_id, card_nos=self.cards)
                    first = await self._first(uow, merchant)
                    if first is not None:
                        return self._replay(first)
                    _require(locked, self.cards, self.password_version)
                    now = self.hub.clock.now()
                    row = await book(uow, CardTx(
                        merchant_id=self.merchant_id, tx_no=new_tx_no(now), kind=self.kind.value,
                        channel=self.channel.value, funding=None, card_merchant_id=merchant.id,
                        card_merchant_code=self.merchant_code, terminal_code=self.terminal_code, card_no=self.cards[0],
                        counter_card_no=None, out_no=self.out_no, request_hash=self.request_hash, amount=self.amount,
                        refunded=0, balance_after=0, original_tx_no=None, shard=0,
                        business_date=business_date(now, self.hub.cards.business_tz), created_at=now))
                    if not await uow.card_money.claim_tx(row=row):
                        raise _LostRace()
                    push = bool(merchant.push_url)
                    await card_events.emit(uow=uow, merchant_id=self.merchant_id, type=f"card.{self.kind}", tx_no=row.tx_no,
                                           push=push, at=now, data=event_data(row))
                    await card_suspicious.screen(uow=uow, hub=self.hub, merchant_id=self.merchant_id, tx=row,
                                                 limits={}, push=push)
                    await uow.commit()
                    return result_of(row, replayed=False)
            except _LostRace:
                async with self.hub.uow(read_only=True) as uow:
                    merchant = await uow.cards.card_merchant(merchant_id=self.merchant_id, code=self.merchant_code)
                    assert merchant is not None  # the attempt that lost the race found it
                    first = await self._first(uow, merchant)
                return self._replay(first)

        return await retrying(attempt)

    def _replay(self, first: CardTx | None) -> TxResult:
        if first is None or first.request_hash != self.request_hash:
            raise Conflict("IDEMPOTENCY_CONFLICT", key=self.out_no)
        return result_of(first, replayed=True)


def _require(locked: dict[str, LockedCard], card_nos: list[str], password_version: int | None) -> None:
    for card_no in card_nos:
        if card_no not in locked:
            raise NotFound("CARD_NOT_FOUND", card_no=card_no)
        require_transactable(card_no=card_no, state=locked[card_no].state)
    if password_version is not None and locked[card_nos[0]].password_version != password_version:
        raise Forbidden("PAY_PASSWORD_CHANGED")


async def _post(uow: CardUnitOfWork, hub: CardHub, entry: JournalEntry, row: CardTx, card_no: str) -> CardTx:
    """Post the entry; the row with the card's balance after it."""
    balances = await uow.ledger.post(entry=entry, at=hub.clock.now())
    return replace(row, balance_after=balances[card_account(card_no).code])


async def recharge(*, hub: CardHub, merchant_id: int, merchant_code: str, card_no: str, out_trade_no: str, amount: int,
                   funding: Funding, channel: TxChannel, terminal_code: str | None = None) -> TxResult:
    """充值: credit a card with money received in cash at a counter or through a confirmed channel payment."""
    tx = _Tx(hub, merchant_id, merchant_code, TxKind.RECHARGE, channel, check_no(out_trade_no, "out_trade_no"),
             fingerprint(kind="recharge", card_no=card_no, amount=amount, funding=funding.value),
             [check_card_no(card_no)], check_amount(amount), terminal_code)

    async def book(uow: CardUnitOfWork, row: CardTx) -> CardTx:
        row = replace(row, funding=funding.value, shard=shard_of(row.tx_no, hub.cards.shards))
        entry = recharge_entry(merchant_id=merchant_id, tx_no=row.tx_no, card_no=card_no, funding=funding,
                               amount=amount, shards=hub.cards.shards)
        return await _post(uow, hub, entry, row, card_no)

    return await tx.run(book)


async def consume(*, hub: CardHub, merchant_id: int, merchant_code: str, card_no: str, out_trade_no: str, amount: int,
                  channel: TxChannel, pay_password: str | None, terminal_code: str | None = None,
                  batcher: ConsumeBatcher | None = None) -> TxResult:
    """消费: pay a card merchant from a card with the pay password; offline without it only where the card
    merchant allows that, up to its cap. A retry of a booked number gets the first answer without a PIN check."""
    check_card_no(card_no)
    request = ConsumeRequest(merchant_id, merchant_code, card_no, check_no(out_trade_no, "out_trade_no"),
                             check_amount(amount), channel, fingerprint(kind="consume", card_no=card_no, amount=amount),
                             terminal_code=terminal_code)
    if channel is TxChannel.ONLINE and not pay_password:
        raise InvalidInput("PAY_PASSWORD_REQUIRED")
    if pay_password:
        if (first := await card_consumes.known(hub=hub, request=request)) is not None:
            return first
        request = replace(request, password_version=await card_pin.verify(
            hub=hub, merchant_id=merchant_id, card_no=card_no, password=pay_password))
    if batcher is not None:
        return await batcher.submit(hub=hub, request=request)
    [outcome] = await card_consumes.book(hub=hub, requests=[request])
    if isinstance(outcome, PayhubError):
        raise outcome
    return outcome


async def refund(*, hub: CardHub, merchant_id: int, merchant_code: str, out_trade_no: str, out_refund_no: str, amount: int,
                 channel: TxChannel, terminal_code: str | None = None) -> TxResult:
    """退款: return part or all of a consume to its card; several refunds up to the consume's amount."""
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.cards.card_merchant(merchant_id=merchant_id, code=merchant_code)
        original = merchant and await uow.card_money.tx_by_out_no(
            merchant_id=merchant_id, card_merchant_id=merchant.id, kind=TxKind.CONSUME.value, out_no=out_trade_no)
    if not original:
        raise NotFound("TX_NOT_FOUND", out_trade_no=out_trade_no)
    card_no = original.card_no
    tx = _Tx(hub, merchant_id, merchant_code, TxKind.REFUND, channel, check_no(out_refund_no, "out_refund_no"),
             fingerprint(kind="refund", out_trade_no=out_trade_no, amount=amount), [card_no], check_amount(amount),
             terminal_code)

    async def book(uow: CardUnitOfWork, row: CardTx) -> CardTx:
        if await uow.card_money.add_refunded(tx_no=original.tx_no, amount=amount) is None:
            current = await uow.card_money.tx_by_out_no(merchant_id=merchant_id, card_merchant_id=original.card_merchant_id,
                                                        kind=TxKind.CONSUME.value, out_no=out_trade_no)
            assert current is not None  # the original consume, found above
            raise Conflict("REFUND_EXCEEDS", refundable=current.amount - current.refunded)
        row = replace(row, original_tx_no=original.tx_no, shard=shard_of(row.tx_no, hub.cards.shards))
        entry = refund_entry(merchant_id=merchant_id, tx_no=row.tx_no, card_no=card_no, merchant_code=merchant_code,
                             amount=amount, shards=hub.cards.shards)
        return await _post(uow, hub, entry, row, card_no)

    return await tx.run(book)


async def transfer(*, hub: CardHub, merchant_id: int, merchant_code: str, from_card: str, to_card: str, out_trade_no: str,
                   amount: int, pay_password: str, channel: TxChannel = TxChannel.ONLINE) -> TxResult:
    """转账: move money between two cards (the payer's pay password required; not checked for a retry)."""
    check_card_no(from_card), check_card_no(to_card)
    if from_card == to_card:
        raise InvalidInput("SAME_CARD")
    tx = _Tx(hub, merchant_id, merchant_code, TxKind.TRANSFER, channel, check_no(out_trade_no, "out_trade_no"),
             fingerprint(kind="transfer", from_card=from_card, to_card=to_card, amount=amount), [from_card, to_card],
             check_amount(amount))
    if (first := await tx.known()) is not None:
        return first
    tx.password_version = await card_pin.verify(hub=hub, merchant_id=merchant_id, card_no=from_card,
                                                password=pay_password)

    async def book(uow: CardUnitOfWork, row: CardTx) -> CardTx:
        entry = transfer_entry(merchant_id=merchant_id, tx_no=row.tx_no, from_card=from_card, to_card=to_card,
                               amount=amount, kind=TxKind.TRANSFER)
        return await _post(uow, hub, entry, replace(row, counter_card_no=to_card), from_card)

    return await tx.run(book)
