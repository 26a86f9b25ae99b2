"""The schema of stored-value cards, on the core's metadata. Every table carries merchant_id: the issuer (tenant)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from payhub.kernel.adapters.db.tables import metadata
from payhub.kernel.adapters.db.types import Id, UtcDateTime


def _stamps() -> list[sa.Column[datetime]]:
    return [sa.Column("created_at", UtcDateTime, nullable=False), sa.Column("updated_at", UtcDateTime, nullable=False)]


def _tenant() -> sa.Column[int]:
    return sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), nullable=False)


card_programs = sa.Table(
    "card_programs", metadata,
    sa.Column("merchant_id", Id, sa.ForeignKey("merchants.id"), primary_key=True),
    sa.Column("push_url", sa.Text),
    sa.Column("push_secret_sealed", sa.Text),
    sa.Column("password_tries", sa.Integer, nullable=False),
    *_stamps(),
)

card_limits = sa.Table(
    "card_limits", metadata,
    _tenant(),
    sa.Column("subject", sa.String(80), nullable=False),  # 'card:*' default, 'card:{no}', 'merchant:{code}'
    sa.Column("per_txn", sa.BigInteger),
    sa.Column("per_day", sa.BigInteger),
    *_stamps(),
    sa.PrimaryKeyConstraint("merchant_id", "subject"),
)

funds_accounts = sa.Table(
    "funds_accounts", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("account_no", sa.String(32), nullable=False),
    sa.Column("holder_name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("wrong_tries", sa.Integer, nullable=False),
    sa.Column("password_version", sa.Integer, nullable=False),
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "account_no"),
)

cards = sa.Table(
    "cards", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("card_no", sa.String(19), nullable=False),
    sa.Column("account_id", Id, sa.ForeignKey("funds_accounts.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("ledger_account_id", Id, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "card_no"),
)

card_pool = sa.Table(
    "card_pool", metadata,
    _tenant(),
    sa.Column("card_no", sa.String(19), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("batch", sa.String(32), nullable=False),
    sa.Column("taken_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint("merchant_id", "card_no"),
    sa.Index("ix_card_pool_free", "merchant_id", "kind", "taken_at"),
)

card_merchants = sa.Table(
    "card_merchants", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("pinless_offline_max", sa.BigInteger),  # NULL: offline consumes need the pay password
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "code"),
    sa.CheckConstraint("pinless_offline_max > 0", name="pinless_offline_max_positive"),
)

card_transactions = sa.Table(
    "card_transactions", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("tx_no", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("funding", sa.String(16)),
    sa.Column("card_merchant_id", Id, sa.ForeignKey("card_merchants.id"), nullable=False),
    sa.Column("card_merchant_code", sa.String(32), nullable=False),
    sa.Column("terminal_code", sa.String(32)),
    sa.Column("card_no", sa.String(19), nullable=False),
    sa.Column("counter_card_no", sa.String(19)),
    sa.Column("out_no", sa.String(64), nullable=False),   # out_trade_no, or out_refund_no of a refund
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("refunded", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("balance_after", sa.BigInteger, nullable=False),  # the card's balance right after (answers retries)
    sa.Column("original_tx_no", sa.String(32)),
    sa.Column("shard", sa.Integer, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("merchant_id", "card_merchant_id", "kind", "out_no"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.CheckConstraint("refunded >= 0 AND refunded <= amount", name="refunds_within_amount"),
    sa.Index("ix_card_transactions_card", "merchant_id", "card_no", "created_at"),
    sa.Index("ix_card_transactions_time", "merchant_id", "created_at"),
    sa.Index("ix_card_transactions_day", "merchant_id", "business_date", "kind"),
)

card_usage = sa.Table(
    "card_usage", metadata,
    _tenant(),
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("used", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("merchant_id", "subject", "business_date"),
)

card_events = sa.Table(
    "card_events", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("event_id", sa.String(40), nullable=False, unique=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("tx_no", sa.String(32)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status", sa.String(64)),
    sa.Index("ix_card_events_merchant", "merchant_id", "id"),
)

suspicious_cases = sa.Table(
    "suspicious_cases", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("case_no", sa.String(40), nullable=False, unique=True),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("tx_no", sa.String(32), nullable=False),
    sa.Column("card_no", sa.String(19), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "rule", "tx_no"),
    sa.Index("ix_suspicious_cases_state", "merchant_id", "state"),
)

members = sa.Table(
    "members", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("account_id", Id, sa.ForeignKey("funds_accounts.id"), nullable=False),
    sa.Column("card_no", sa.String(19)),  # the bound card
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "phone"),
)

sms_codes = sa.Table(
    "sms_codes", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("used_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_sms_codes_phone", "merchant_id", "phone", "purpose", "id"),
)

recharge_orders = sa.Table(
    "recharge_orders", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("recharge_no", sa.String(32), nullable=False, unique=True),
    sa.Column("card_no", sa.String(19), nullable=False),
    sa.Column("merchant_code", sa.String(32), nullable=False),
    sa.Column("out_trade_no", sa.String(64), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.String(64)),
    sa.Column("tx_no", sa.String(32)),
    sa.Column("failure", sa.Text),
    *_stamps(),
    sa.UniqueConstraint("merchant_id", "merchant_code", "out_trade_no"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
)

card_replacements = sa.Table(
    "card_replacements", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("replacement_no", sa.String(32), nullable=False, unique=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
    sa.Column("old_card_no", sa.String(19), nullable=False),
    sa.Column("new_card_no", sa.String(19), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("moved_amount", sa.BigInteger),
    sa.Column("failure", sa.Text),
    *_stamps(),
)

custody_settlements = sa.Table(
    "custody_settlements", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant(),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("online_amount", sa.BigInteger, nullable=False),
    sa.Column("offline_amount", sa.BigInteger, nullable=False),
    sa.Column("bank_ref", sa.String(64), nullable=False),
    sa.Column("settled_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("merchant_id", "business_date"),
)
