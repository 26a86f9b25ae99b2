"""What every use case needs, handed in by the composition root."""
from __future__ import annotations

from dataclasses import dataclass, field

from payhub.domain.card_risk import RiskRules
from payhub.domain.sign_in_throttle import SignInRules
from payhub.ports import (
    Clock, Fulfillers, KeySealer, Notifier, OrderSignals, PasswordHasher, Registry, SmsGateway, UnitOfWorkFactory,
)
from payhub.services.auth_cache import AuthCache
from payhub.services.payment_attempts import PaymentAttempts


@dataclass(frozen=True)
class CardPolicy:
    """Stored-value card settings, from settings."""

    shards: int = 16                   # sub-accounts of each hot account (merchant payable, recharge collection)
    business_tz: str = "Asia/Shanghai"
    password_tries: int = 3            # wrong pay passwords that freeze the account's cards (an issuer may override)
    sms_code_minutes: int = 5
    sms_resend_seconds: int = 60
    risk: RiskRules = RiskRules()


@dataclass(frozen=True)
class Policy:
    """Business timings and limits, from settings."""

    native_qr_minutes: int = 5
    micropay_poll_seconds: int = 5
    micropay_poll_cap_seconds: int = 45
    channel_answer_seconds: float = 15.0  # the longest a call to the channel may take (its client's timeout)
    order_unpaid_minutes: int = 30
    session_hours: int = 12
    signature_window_seconds: int = 300
    job_lease_seconds: int = 60
    notify_url: str = "http://127.0.0.1:8000/notify/swiftpass"
    sign_in: SignInRules = SignInRules()
    cards: CardPolicy = CardPolicy()


@dataclass(frozen=True)
class Hub:
    """The ports and policy the services work with."""

    uow: UnitOfWorkFactory
    clock: Clock
    registry: Registry
    fulfillers: Fulfillers              # the order kinds: what each does once an order is paid
    sealer: KeySealer
    passwords: PasswordHasher
    signals: OrderSignals
    policy: Policy
    notifier: Notifier | None = None    # card transaction pushes
    sms: SmsGateway | None = None       # member verification codes
    attempts: PaymentAttempts = field(default_factory=PaymentAttempts)  # pay requests running in this process
    auth_cache: AuthCache = field(default_factory=AuthCache)  # terminals, sessions and nonces this process knows
