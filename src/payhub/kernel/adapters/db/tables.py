"""The schema. Every table carries merchant_id (the tenant key) so it can be distributed by tenant."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from payhub.kernel.adapters.db.types import Id, UtcDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _money(name: str, *, server_default: str | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default=server_default)


def _stamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    ]


merchants = sa.Table(
    "merchants", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("biller", sa.String(32), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("service_phone", sa.String(32), nullable=False, server_default=""),
    *_stamps(),
)

terminals = sa.Table(
    "terminals", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False, index=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("key_sealed", sa.Text, nullable=False),  # the HMAC key, encrypted with the hub's secret
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    *_stamps(),
)

operators = sa.Table(
    "operators", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "username"),
)

operator_sessions = sa.Table(
    "operator_sessions", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("operator_id", Id, sa.ForeignKey("operators.id"), nullable=False),
    sa.Column("terminal_id", Id, sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
)

terminal_nonces = sa.Table(
    "terminal_nonces", metadata,
    sa.Column("merchant_id", Id, nullable=False),
    sa.Column("terminal_id", Id, sa.ForeignKey("terminals.id"), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", UtcDateTime, nullable=False, index=True),
)

sign_in_counters = sa.Table(
    "sign_in_counters", metadata,  # wrong operator passwords per user name or terminal ("user:…", "terminal:…")
    sa.Column("merchant_id", Id, primary_key=True),
    sa.Column("subject", sa.String(80), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("lockouts", sa.Integer, nullable=False),  # lockouts in a row: each lasts longer
    sa.Column("window_started_at", UtcDateTime, nullable=False),
    sa.Column("locked_until", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False, index=True),
)

sign_in_audit = sa.Table(
    "sign_in_audit", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, nullable=False),
    sa.Column("terminal_id", Id, sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(80)),          # the counter a lockout is on
    sa.Column("locked_until", UtcDateTime),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_sign_in_audit_merchant_at", "merchant_id", "at"),
    sa.Index("ix_sign_in_audit_at", "at"),  # the purge by age
)

orders = sa.Table(
    "orders", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("terminal_id", Id, sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("operator_id", Id, sa.ForeignKey("operators.id"), nullable=False),
    sa.Column("order_no", sa.String(32), nullable=False, unique=True),
    sa.Column("terminal_order_no", sa.String(64), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),          # the fulfilment kind
    sa.Column("product", sa.String(64), nullable=False),       # what is bought (a fee type, goods)
    sa.Column("account_no", sa.String(64), nullable=False),    # for whom (the biller account, card, meter, ticket)
    sa.Column("customer_name", sa.String(64), nullable=False),
    _money("amount"),
    sa.Column("details", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),  # the kind's own facts
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("fulfilment_ref", sa.String(64)),
    sa.Column("fulfilled_at", UtcDateTime),
    sa.Column("fulfil_attempts", sa.Integer, nullable=False, server_default="0"),
    _money("refund_reserved", server_default="0"),
    _money("refunded_amount", server_default="0"),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("failure_message", sa.Text),
    *_stamps(),
    sa.UniqueConstraint("terminal_id", "terminal_order_no"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("refunded_amount <= refund_reserved AND refund_reserved <= amount", name="refunds_within_amount"),
    sa.Index("ix_orders_merchant_created", "merchant_id", "created_at"),
    sa.Index("ix_orders_merchant_state", "merchant_id", "state"),
    sa.Index("ix_orders_state_expires", "state", "expires_at"),  # the worker's sweep of expired orders
)

payments = sa.Table(
    "payments", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("order_id", Id, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    _money("amount"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("deadline", UtcDateTime, nullable=False),
    sa.Column("code_url", sa.Text),
    sa.Column("auth_code_masked", sa.String(32)),
    sa.Column("wallet", sa.String(16)),
    sa.Column("transaction_id", sa.String(64)),
    sa.Column("trade_type", sa.String(64)),
    sa.Column("paid_at", UtcDateTime),
    sa.UniqueConstraint("order_id", "seq"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index("ix_payments_merchant_paid", "merchant_id", "paid_at"),
)

receipt_originals = sa.Table(
    "receipt_originals", metadata,  # an order's payment receipt printed as the original: every later print is a copy
    sa.Column("order_id", Id, sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("terminal_id", Id, sa.ForeignKey("terminals.id"), nullable=False),
    sa.Column("printed_at", UtcDateTime, nullable=False),
)

refunds = sa.Table(
    "refunds", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("order_id", Id, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("order_no", sa.String(32), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("refund_no", sa.String(40), nullable=False, unique=True),
    _money("amount"),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", Id, sa.ForeignKey("operators.id")),
    sa.Column("approved_by", Id, sa.ForeignKey("operators.id")),
    sa.Column("automatic", sa.Boolean, nullable=False),
    sa.Column("terminal_id", Id, sa.ForeignKey("terminals.id")),
    sa.Column("request_no", sa.String(64)),
    sa.Column("request_hash", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("channel_refund_id", sa.String(64)),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("failure_message", sa.Text),
    *_stamps(),
    sa.UniqueConstraint("order_id", "seq"),
    sa.UniqueConstraint("terminal_id", "request_no"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
)

state_transitions = sa.Table(
    "state_transitions", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, nullable=False),
    sa.Column("aggregate", sa.String(16), nullable=False),
    sa.Column("aggregate_key", sa.String(40), nullable=False),
    sa.Column("from_state", sa.String(16), nullable=False),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_state_transitions_key", "aggregate_key", "id"),
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("ref", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("last_error", sa.Text),
    *_stamps(),
    sa.UniqueConstraint("kind", "ref"),
    sa.Index("ix_jobs_due", "state", "run_at"),
)

ledger_accounts = sa.Table(
    "ledger_accounts", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("normal_side", sa.String(8), nullable=False),
    sa.Column("non_negative", sa.Boolean, nullable=False),
    _money("balance"),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("merchant_id", "code"),
    sa.CheckConstraint("NOT non_negative OR balance >= 0", name="balance_not_negative"),
)

journal_entries = sa.Table(
    "journal_entries", metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # chosen by the hub, so legs can be written first
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("ref", sa.String(40), nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("merchant_id", "kind", "ref"),  # one business event is booked once
)

journal_legs = sa.Table(
    "journal_legs", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("merchant_id", Id, nullable=False),
    sa.Column(
        "entry_id", sa.String(32),
        sa.ForeignKey("journal_entries.id", deferrable=True, initially="DEFERRED"), nullable=False, index=True,
    ),
    sa.Column("account_id", Id, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("balance_before", sa.BigInteger, nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("account_version", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
    sa.UniqueConstraint("account_id", "account_version"),
)
