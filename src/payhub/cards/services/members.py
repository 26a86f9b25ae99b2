"""Member flows of the seed: registration with SMS, binding a physical or a pooled virtual card, replacing a
bound card with a new physical card (the balance moves by a durable job), reporting lost and withdrawing it."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

from payhub.cards.domain.jobs import CardJobKind
from payhub.cards.domain.money import TxKind, transfer_entry
from payhub.cards.domain.replacements import CardReplacement, ReplacementState
from payhub.cards.domain.rows import Member
from payhub.cards.domain.cards import CardKind, CardState, card_account, check_card_no
from payhub.kernel.domain.errors import Conflict, NotFound
from payhub.cards.domain.funds import check_pay_password
from payhub.kernel.domain.jobs import Done, Job, JobOutcome
from payhub.cards.ports import CardUnitOfWork
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import sms as card_sms
from payhub.cards.services.lifecycle import add_account, add_card
from payhub.cards.services.context import CardHub


async def register(*, hub: CardHub, merchant_id: int, phone: str, name: str, sms_code: str, pay_password: str) -> dict[str, Any]:
    """注册用户: verify the SMS code, open the member's funds account with the pay password."""
    check_pay_password(pay_password)
    await card_sms.verify_code(hub=hub, merchant_id=merchant_id, phone=phone, purpose="register", code=sms_code)
    password_hash = await asyncio.to_thread(hub.passwords.hash, pay_password)
    async with hub.uow() as uow:
        account = await add_account(uow=uow, hub=hub, merchant_id=merchant_id, holder_name=name, phone=phone,
                                    password_hash=password_hash)
        member_id = await uow.cards.add_member(merchant_id=merchant_id, phone=phone, name=name, account_id=account.id,
                                               at=hub.clock.now())
        await uow.commit()
    return {"member_id": member_id, "phone": phone, "account_no": account.account_no}


async def _member(uow: CardUnitOfWork, merchant_id: int, phone: str) -> Member:
    member = await uow.cards.member(merchant_id=merchant_id, phone=phone, lock=True)
    if member is None:
        raise NotFound("MEMBER_NOT_FOUND", phone=phone)
    return member


async def bind_physical(*, hub: CardHub, merchant_id: int, phone: str, sms_code: str, card_no: str,
                        consent_to_move: bool = False) -> dict[str, Any]:
    """绑卡（实卡）: open and bind the printed card; a member who has a card replaces it (with consent)."""
    check_card_no(card_no)
    async with hub.uow(read_only=True) as uow:
        member = await _member(uow, merchant_id, phone)
        old = member.card_no and await uow.cards.card(merchant_id=merchant_id, card_no=member.card_no)
    if old and old.state is not CardState.ACTIVE:
        raise Conflict("CARD_NOT_ACTIVE", card_no=old.card_no, state=str(old.state))
    if old and not consent_to_move:
        raise Conflict("CONSENT_REQUIRED")
    await card_sms.verify_code(hub=hub, merchant_id=merchant_id, phone=phone, purpose="bind", code=sms_code)
    now = hub.clock.now()
    async with hub.uow() as uow:
        member = await _member(uow, merchant_id, phone)
        card = await add_card(uow=uow, hub=hub, merchant_id=merchant_id, account_id=member.account_id, card_no=card_no,
                              kind=CardKind.PHYSICAL, active=True, actor=f"member:{phone}")
        await uow.cards.bind_card(member_id=member.id, card_no=card_no, at=now)
        replacement = None
        if member.card_no:
            old_card = await uow.cards.card(merchant_id=merchant_id, card_no=member.card_no)
            assert old_card is not None  # the member's bound card
            old_card.freeze(reason=f"replaced by {card_no}", at=now, actor=f"member:{phone}")
            await uow.cards.save_card(old_card)
            replacement = CardReplacement(merchant_id=merchant_id, replacement_no="RP" + uuid.uuid4().hex[:24],
                                          member_id=member.id, old_card_no=old_card.card_no, new_card_no=card_no,
                                          created_at=now)
            await uow.card_money.add_replacement(replacement)
            await uow.jobs.enqueue(merchant_id=merchant_id, kind=CardJobKind.CARD_REPLACEMENT, ref=replacement.replacement_no,
                                   run_at=now)
        await uow.commit()
    return {"card_no": card.card_no, "state": card.state.value,
            "replacement_no": replacement.replacement_no if replacement else None}


async def bind_virtual(*, hub: CardHub, merchant_id: int, phone: str, sms_code: str) -> dict[str, Any]:
    """绑卡（虚拟卡）: a number from the issuer's pool, one card per member."""
    async with hub.uow(read_only=True) as uow:
        member = await _member(uow, merchant_id, phone)
    if member.card_no:
        raise Conflict("ALREADY_BOUND", card_no=member.card_no)
    await card_sms.verify_code(hub=hub, merchant_id=merchant_id, phone=phone, purpose="bind", code=sms_code)
    now = hub.clock.now()
    async with hub.uow() as uow:
        member = await _member(uow, merchant_id, phone)
        if member.card_no:
            raise Conflict("ALREADY_BOUND", card_no=member.card_no)
        card_no = await uow.cards.take_from_pool(merchant_id=merchant_id, kind=CardKind.VIRTUAL, at=now)
        if card_no is None:
            raise Conflict("POOL_EMPTY")
        card = await add_card(uow=uow, hub=hub, merchant_id=merchant_id, account_id=member.account_id, card_no=card_no,
                              kind=CardKind.VIRTUAL, active=True, actor=f"member:{phone}")
        await uow.cards.bind_card(member_id=member.id, card_no=card_no, at=now)
        await uow.commit()
    return {"card_no": card.card_no, "state": card.state.value}


async def move_balance(*, hub: CardHub, job: Job) -> JobOutcome:
    """The replacement job: cancel the old card and move its whole balance to the new one, in one transaction."""
    now = hub.clock.now()
    async with hub.uow() as uow:
        replacement = await uow.card_money.replacement(replacement_no=job.ref)
        if replacement is None or replacement.state is ReplacementState.DONE:
            return Done()
        await uow.cards.lock_cards(merchant_id=job.merchant_id, card_nos=[replacement.old_card_no, replacement.new_card_no])
        old = await uow.cards.card(merchant_id=job.merchant_id, card_no=replacement.old_card_no)
        assert old is not None  # a replacement's cards are never deleted
        balance = (await uow.ledger.balance(merchant_id=job.merchant_id, account=card_account(old.card_no).code)).balance
        if balance:
            await uow.ledger.post(entry=transfer_entry(
                merchant_id=job.merchant_id, tx_no=replacement.replacement_no, from_card=old.card_no,
                to_card=replacement.new_card_no, amount=balance, kind=TxKind.MOVE), at=now)
        old.cancel(reason=f"replaced by {replacement.new_card_no}", at=now, actor="worker")
        await uow.cards.save_card(old)
        replacement.done(moved=balance, at=now, actor="worker")
        await uow.card_money.save_replacement(replacement)
        await uow.commit()
    return Done()


async def park_replacement(*, hub: CardHub, job: Job, error: str) -> None:
    """Out of tries: staff finish the replacement by hand; the old card stays frozen with its balance."""
    async with hub.uow() as uow:
        replacement = await uow.card_money.replacement(replacement_no=job.ref)
        if replacement is not None and replacement.can_move(ReplacementState.MANUAL):
            replacement.to_manual(reason=error, at=hub.clock.now(), actor="worker")
            await uow.card_money.save_replacement(replacement)
            await uow.commit()


async def replacement_view(*, hub: CardHub, merchant_id: int, replacement_no: str) -> dict[str, Any]:
    """A replacement's state and what it moved."""
    async with hub.uow(read_only=True) as uow:
        replacement = await uow.card_money.replacement(replacement_no=replacement_no)
    if replacement is None or replacement.merchant_id != merchant_id:
        raise NotFound("NOT_FOUND")
    return {"replacement_no": replacement.replacement_no, "state": replacement.state.value,
            "old_card_no": replacement.old_card_no, "new_card_no": replacement.new_card_no,
            "moved_amount": replacement.moved_amount, "failure": replacement.failure}


async def report_lost(*, hub: CardHub, merchant_id: int, phone: str, sms_code: str) -> dict[str, Any]:
    """挂失（线上）: with an SMS code, the bound card stops transacting."""
    card_no = await _bound_card(hub, merchant_id, phone)
    await card_sms.verify_code(hub=hub, merchant_id=merchant_id, phone=phone, purpose="lost", code=sms_code)
    card = await card_lifecycle.report_lost(hub=hub, merchant_id=merchant_id, card_no=card_no, actor=f"member:{phone}")
    return {"card_no": card_no, "state": card.state.value}


async def withdraw_lost(*, hub: CardHub, merchant_id: int, phone: str, sms_code: str) -> dict[str, Any]:
    """解挂（线上）: with an SMS code, the bound card may transact again."""
    card_no = await _bound_card(hub, merchant_id, phone)
    await card_sms.verify_code(hub=hub, merchant_id=merchant_id, phone=phone, purpose="unlost", code=sms_code)
    card = await card_lifecycle.withdraw_lost(hub=hub, merchant_id=merchant_id, card_no=card_no, actor=f"member:{phone}")
    return {"card_no": card_no, "state": card.state.value}


async def _bound_card(hub: CardHub, merchant_id: int, phone: str) -> str:
    async with hub.uow(read_only=True) as uow:
        member = await _member(uow, merchant_id, phone)
    if not member.card_no:
        raise Conflict("NOT_BOUND")
    return member.card_no
