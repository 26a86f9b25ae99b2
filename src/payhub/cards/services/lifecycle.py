"""Funds accounts and the card life cycle: open, audit, activate, freeze, lost, cancel, passwords, info."""
from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from payhub.cards.domain.money import check_amount
from payhub.cards.domain.rows import CardMerchant
from payhub.cards.domain.cards import Card, CardKind, card_account, check_card_no
from payhub.kernel.domain.errors import Conflict, InvalidInput, NotFound
from payhub.cards.domain.funds import FundsAccount, check_pay_password
from payhub.kernel.domain.tenancy import Role, require_role
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services import pin as card_pin
from payhub.cards.services.context import CardHub

PHONE = re.compile(r"1[3-9][0-9]{9}")


def check_phone(phone: str) -> str:
    """A mainland mobile number: 11 digits starting 13–19."""
    if not PHONE.fullmatch(phone):
        raise InvalidInput("BAD_PHONE")
    return phone


async def configure_program(*, hub: CardHub, merchant_id: int, push_url: str | None, push_secret: str | None,
                            password_tries: int | None = None) -> None:
    """Set the issuer's push URL (checked: HTTPS to a public address unless configured) and secret and how many
    wrong pay passwords freeze the cards."""
    tries = password_tries or hub.cards.password_tries
    if tries < 1:
        raise InvalidInput("VALIDATION", detail="password_tries >= 1")
    if push_url and hub.notifier is not None:
        await hub.notifier.check_url(url=push_url)
    async with hub.uow() as uow:
        await uow.cards.set_program(merchant_id=merchant_id, push_url=push_url,
                                    push_secret_sealed=hub.sealer.seal(push_secret) if push_secret else None,
                                    password_tries=tries, at=hub.clock.now())
        await uow.commit()


async def add_card_merchant(*, hub: CardHub, merchant_id: int, code: str, name: str) -> int:
    """Register a merchant where cards are accepted (a shop, the online store)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{2,32}", code):
        raise InvalidInput("VALIDATION", detail=f"商户编号只能含字母、数字、-、_，2到32位：{code}")
    async with hub.uow() as uow:
        merchant = await uow.cards.add_card_merchant(merchant_id=merchant_id, code=code, name=name, at=hub.clock.now())
        await uow.commit()
    return merchant


async def set_pinless_offline(*, hub: CardHub, merchant_id: int, code: str, max_amount: int | None) -> None:
    """Let a card merchant take offline consumes up to max_amount fen without the pay password (None: never)."""
    if max_amount is not None:
        check_amount(max_amount)
    async with hub.uow() as uow:
        if not await uow.cards.set_pinless_offline(merchant_id=merchant_id, code=code, max_amount=max_amount,
                                                   at=hub.clock.now()):
            raise NotFound("CARD_MERCHANT_NOT_FOUND", merchant_code=code)
        await uow.commit()


async def list_card_merchants(*, hub: CardHub, merchant_id: int) -> list[CardMerchant]:
    """The issuer's card merchants."""
    async with hub.uow(read_only=True) as uow:
        return await uow.cards.card_merchants(merchant_id=merchant_id)


async def open_account(*, hub: CardHub, merchant_id: int, holder_name: str, phone: str, pay_password: str) -> FundsAccount:
    """Open a funds account (资金账户) with its pay password."""
    check_phone(phone)
    password_hash = await asyncio.to_thread(hub.passwords.hash, check_pay_password(pay_password))
    async with hub.uow() as uow:
        account = await add_account(uow=uow, hub=hub, merchant_id=merchant_id, holder_name=holder_name, phone=phone,
                                    password_hash=password_hash)
        await uow.commit()
    return account


async def add_account(*, uow: CardUnitOfWork, hub: CardHub, merchant_id: int, holder_name: str, phone: str,
                      password_hash: str) -> FundsAccount:
    """Insert a funds account in the caller's transaction."""
    now = hub.clock.now()
    account_no = f"FA{now:%y%m%d}{secrets.randbelow(10**10):010d}"
    return await uow.cards.add_account(merchant_id=merchant_id, account_no=account_no, holder_name=holder_name.strip()[:64],
                                       phone=phone, password_hash=password_hash, at=now)


async def open_card(*, hub: CardHub, merchant_id: int, account_no: str, card_no: str, kind: CardKind, actor: str) -> Card:
    """开卡: register a card number on a funds account; it waits for the audit."""
    async with hub.uow() as uow:
        account = await uow.cards.account(merchant_id=merchant_id, account_no=account_no)
        if account is None:
            raise NotFound("FUNDS_ACCOUNT_NOT_FOUND", account_no=account_no)
        card = await add_card(uow=uow, hub=hub, merchant_id=merchant_id, account_id=account.id, card_no=card_no, kind=kind)
        await uow.commit()
    return card


async def add_card(*, uow: CardUnitOfWork, hub: CardHub, merchant_id: int, account_id: int, card_no: str, kind: CardKind,
                   active: bool = False, actor: str = "system") -> Card:
    """Insert a card and its ledger account in the caller's transaction (active at once for member binding)."""
    now = hub.clock.now()
    card = Card(merchant_id=merchant_id, card_no=check_card_no(card_no), account_id=account_id, kind=kind, created_at=now)
    if active:
        card.audit(at=now, actor=actor)
        card.activate(at=now, actor=actor)
    ledger_id = await uow.ledger.account_id(merchant_id=merchant_id, spec=card_account(card.card_no), at=now)
    await uow.cards.add_card(card, ledger_account_id=ledger_id)
    return card


async def _change(hub: CardHub, merchant_id: int, card_no: str,
                  change: Callable[[CardUnitOfWork, Card], Awaitable[None]]) -> Card:
    async with hub.uow() as uow:
        card = await uow.cards.card(merchant_id=merchant_id, card_no=card_no)
        if card is None:
            raise NotFound("CARD_NOT_FOUND", card_no=card_no)
        await change(uow, card)
        await uow.cards.save_card(card)
        await uow.commit()
    return card


async def audit(*, hub: CardHub, merchant_id: int, card_no: str, actor: str) -> Card:
    """审核: approve an opened card."""
    async def go(_uow: CardUnitOfWork, card: Card) -> None:
        card.audit(at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def activate(*, hub: CardHub, merchant_id: int, card_no: str, actor: str) -> Card:
    """激活: the audited card may transact."""
    async def go(_uow: CardUnitOfWork, card: Card) -> None:
        card.activate(at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def freeze(*, hub: CardHub, merchant_id: int, card_no: str, reason: str, actor: str) -> Card:
    """冻结: no transactions until unfrozen."""
    async def go(_uow: CardUnitOfWork, card: Card) -> None:
        card.freeze(reason=reason or "frozen", at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def unfreeze(*, hub: CardHub, merchant_id: int, card_no: str, actor: str) -> Card:
    """解冻."""
    async def go(_uow: CardUnitOfWork, card: Card) -> None:
        card.unfreeze(at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def report_lost(*, hub: CardHub, merchant_id: int, card_no: str, actor: str) -> Card:
    """挂失."""
    async def go(_uow: CardUnitOfWork, card: Card) -> None:
        card.report_lost(at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def withdraw_lost(*, hub: CardHub, merchant_id: int, card_no: str, actor: str) -> Card:
    """解挂."""
    async def go(_uow: CardUnitOfWork, card: Card) -> None:
        card.found(at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def cancel(*, hub: CardHub, merchant_id: int, card_no: str, reason: str, actor: str) -> Card:
    """注销: only an empty card (its balance is refused otherwise; card replacement moves it first)."""
    async def go(uow: CardUnitOfWork, card: Card) -> None:
        await uow.cards.lock_cards(merchant_id=merchant_id, card_nos=[card_no])  # no credit may slip in meanwhile
        balance = (await uow.ledger.balance(merchant_id=merchant_id, account=card_account(card_no).code)).balance
        if balance:
            raise Conflict("CARD_HAS_BALANCE", balance=balance)
        card.cancel(reason=reason or "cancelled", at=hub.clock.now(), actor=actor)
    return await _change(hub, merchant_id, card_no, go)


async def reset_password(*, hub: CardHub, merchant_id: int, card_no: str, new_password: str, old_password: str | None,
                         role: Role) -> None:
    """重置密码: with the old password (on an active card), or without it by a supervisor; clears the wrong-try count."""
    check_pay_password(new_password)
    if old_password is None:
        require_role(role=role, needed=Role.SUPERVISOR)
    if old_password is not None:
        await card_pin.verify(hub=hub, merchant_id=merchant_id, card_no=card_no, password=old_password,
                              wrong_code="OLD_PASSWORD_WRONG")
    async with hub.uow(read_only=True) as uow:
        account = await account_of_card(uow=uow, merchant_id=merchant_id, card_no=card_no)
    new_hash = await asyncio.to_thread(hub.passwords.hash, new_password)
    async with hub.uow() as uow:
        await uow.cards.set_password(account_id=account.id, password_hash=new_hash, at=hub.clock.now())
        await uow.commit()


async def account_of_card(*, uow: CardUnitOfWork, merchant_id: int, card_no: str) -> FundsAccount:
    """The funds account a card belongs to, or CARD_NOT_FOUND."""
    card = await uow.cards.card(merchant_id=merchant_id, card_no=card_no)
    account = card and await uow.cards.account(merchant_id=merchant_id, account_id=card.account_id)
    if not account:
        raise NotFound("CARD_NOT_FOUND", card_no=card_no)
    return account


async def card_info(*, hub: CardHub, merchant_id: int, card_no: str) -> dict[str, Any]:
    """获取卡信息: state, kind, holder (masked) and balance; no password needed."""
    async with hub.uow(read_only=True) as uow:
        view = await uow.cards.card_view(merchant_id=merchant_id, card_no=card_no)
        history = await uow.orders.history(key=card_no) if view else []
    if view is None:
        raise NotFound("CARD_NOT_FOUND", card_no=card_no)
    return dataclasses.asdict(view) | {
        "phone": f"{view.phone[:3]}****{view.phone[-4:]}",
        "history": [{"from": t.from_state, "to": t.to_state, "reason": t.reason, "actor": t.actor, "at": t.at}
                    for t in history]}
