"""What the card system's use cases need beyond the kernel's hub: its storage, settings, pushes and SMS."""
from __future__ import annotations

from dataclasses import dataclass

from payhub.cards.domain.risk import RiskRules
from payhub.cards.ports import CardUnitOfWorkFactory
from payhub.kernel.ports import Notifier, SmsGateway
from payhub.kernel.services.context import Hub


@dataclass(frozen=True)
class CardPolicy:
    """Stored-value card settings, from settings."""

    shards: int = 16                   # sub-accounts of each hot account (merchant payable, recharge collection)
    business_tz: str = "Asia/Shanghai"
    password_tries: int = 3            # wrong pay passwords that freeze the account's cards (an issuer may override)
    sms_code_minutes: int = 5
    sms_resend_seconds: int = 60
    risk: RiskRules = RiskRules()


@dataclass(frozen=True, kw_only=True)
class CardHub(Hub):
    """The kernel's hub with the card repositories in every unit of work."""

    uow: CardUnitOfWorkFactory
    cards: CardPolicy = CardPolicy()
    notifier: Notifier | None = None    # card transaction pushes
    sms: SmsGateway | None = None       # member verification codes
