"""Card set-up shared by tests that need a card ready to transact."""
from __future__ import annotations

from payhub.cards.domain.cards import CardKind
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.kernel.services.context import Hub


async def open_active_card(*, hub: Hub, merchant_id: int, card_no: str, phone: str, pay_password: str,
                           holder_name: str = "会员") -> str:
    """A funds account with one physical card, opened, audited and activated; returns the card no."""
    account = await card_lifecycle.open_account(hub=hub, merchant_id=merchant_id, holder_name=holder_name,
                                                phone=phone, pay_password=pay_password)
    await card_lifecycle.open_card(hub=hub, merchant_id=merchant_id, account_no=account.account_no, card_no=card_no,
                                   kind=CardKind.PHYSICAL, actor="test")
    await card_lifecycle.audit(hub=hub, merchant_id=merchant_id, card_no=card_no, actor="test")
    await card_lifecycle.activate(hub=hub, merchant_id=merchant_id, card_no=card_no, actor="test")
    return card_no
