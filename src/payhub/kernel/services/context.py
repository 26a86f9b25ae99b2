"""What every use case needs, handed in by the composition root."""
from __future__ import annotations

from dataclasses import dataclass, field

from payhub.kernel.domain.sign_in_throttle import SignInRules
from payhub.kernel.ports import (
    Clock, Fulfillers, KeySealer, OrderSignals, PasswordHasher, Registry, UnitOfWorkFactory,
)
from payhub.kernel.services.auth_cache import AuthCache
from payhub.kernel.services.request_nonces import NonceWrites
from payhub.kernel.services.job_handlers import JobHandlers
from payhub.kernel.services.payment_attempts import PaymentAttempts


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


@dataclass(frozen=True)
class Hub:
    """The ports and policy the services work with."""

    uow: UnitOfWorkFactory
    clock: Clock
    registry: Registry
    fulfillers: Fulfillers              # the order kinds: what each does once an order is paid
    jobs: JobHandlers                   # which handler runs each kind of job
    sealer: KeySealer
    passwords: PasswordHasher
    signals: OrderSignals
    policy: Policy
    attempts: PaymentAttempts = field(default_factory=PaymentAttempts)  # pay requests running in this process
    auth_cache: AuthCache = field(default_factory=AuthCache)  # terminals, sessions and nonces this process knows
    nonce_writes: NonceWrites = field(default_factory=NonceWrites)  # nonces stored on their own, grouped
