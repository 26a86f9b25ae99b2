"""SMS verification codes for member flows: sent through the SmsGateway, kept hashed, single use, few tries."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from payhub.kernel.domain.errors import Conflict, Forbidden, InvalidInput, Unavailable
from payhub.kernel.ports import SmsUnavailable
from payhub.cards.services.lifecycle import check_phone
from payhub.cards.services.context import CardHub

PURPOSES = ("register", "bind", "lost", "unlost")
MAX_TRIES = 5


def _hash(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


async def send_code(*, hub: CardHub, merchant_id: int, phone: str, purpose: str) -> None:
    """Send a 6-digit code to the phone for one purpose; at most one per resend interval."""
    check_phone(phone)
    if purpose not in PURPOSES:
        raise InvalidInput("VALIDATION", detail=f"purpose: one of {', '.join(PURPOSES)}")
    if hub.sms is None:
        raise Unavailable("SMS_UNAVAILABLE")
    now, policy = hub.clock.now(), hub.cards
    code = f"{secrets.randbelow(10**6):06d}"
    async with hub.uow() as uow:
        last = await uow.cards.latest_sms_code(merchant_id=merchant_id, phone=phone, purpose=purpose)
        wait = policy.sms_resend_seconds - (now - last.created_at).total_seconds() if last else 0
        if wait > 0:
            raise Conflict("SMS_TOO_OFTEN", seconds=int(wait) + 1)
        await uow.cards.add_sms_code(merchant_id=merchant_id, phone=phone, purpose=purpose, code_hash=_hash(phone, code),
                                     expires_at=now + timedelta(minutes=policy.sms_code_minutes), at=now)
        try:
            await hub.sms.send_code(phone=phone, code=code)
        except SmsUnavailable:
            raise Unavailable("SMS_UNAVAILABLE") from None
        await uow.commit()


async def verify_code(*, hub: CardHub, merchant_id: int, phone: str, purpose: str, code: str) -> None:
    """Use up the newest code of this phone and purpose, or SMS_CODE_WRONG (a wrong try counts)."""
    now = hub.clock.now()
    async with hub.uow() as uow:
        last = await uow.cards.latest_sms_code(merchant_id=merchant_id, phone=phone, purpose=purpose)
        if not (last and last.used_at is None and last.expires_at > now and last.attempts < MAX_TRIES):
            raise Forbidden("SMS_CODE_WRONG")
        right = secrets.compare_digest(last.code_hash, _hash(phone, code))
        await uow.cards.mark_sms_code(code_id=last.id, attempts=last.attempts + 1, used_at=now if right else None)
        await uow.commit()
    if not right:
        raise Forbidden("SMS_CODE_WRONG")
