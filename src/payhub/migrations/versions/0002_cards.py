"""stored-value cards and funds accounts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 21:08:37.126804
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import payhub.kernel.adapters.db.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('card_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('tx_no', sa.String(length=32), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_status', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_events_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_card_events_event_id'))
    )
    with op.batch_alter_table('card_events', schema=None) as batch_op:
        batch_op.create_index('ix_card_events_merchant', ['merchant_id', 'id'], unique=False)

    op.create_table('card_limits',
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('per_txn', sa.BigInteger(), nullable=True),
    sa.Column('per_day', sa.BigInteger(), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_limits_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', 'subject', name=op.f('pk_card_limits'))
    )
    op.create_table('card_merchants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_merchants_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_merchants')),
    sa.UniqueConstraint('merchant_id', 'code', name=op.f('uq_card_merchants_merchant_id_code'))
    )
    op.create_table('card_pool',
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_no', sa.String(length=19), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('batch', sa.String(length=32), nullable=False),
    sa.Column('taken_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_pool_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', 'card_no', name=op.f('pk_card_pool'))
    )
    with op.batch_alter_table('card_pool', schema=None) as batch_op:
        batch_op.create_index('ix_card_pool_free', ['merchant_id', 'kind', 'taken_at'], unique=False)

    op.create_table('card_programs',
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('push_url', sa.Text(), nullable=True),
    sa.Column('push_secret_sealed', sa.Text(), nullable=True),
    sa.Column('password_tries', sa.Integer(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_programs_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_card_programs'))
    )
    op.create_table('card_usage',
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('used', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_usage_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', 'subject', 'business_date', name=op.f('pk_card_usage'))
    )
    op.create_table('custody_settlements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('online_amount', sa.BigInteger(), nullable=False),
    sa.Column('offline_amount', sa.BigInteger(), nullable=False),
    sa.Column('bank_ref', sa.String(length=64), nullable=False),
    sa.Column('settled_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_custody_settlements_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_settlements')),
    sa.UniqueConstraint('merchant_id', 'business_date', name=op.f('uq_custody_settlements_merchant_id_business_date'))
    )
    op.create_table('funds_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('holder_name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('wrong_tries', sa.Integer(), nullable=False),
    sa.Column('password_version', sa.Integer(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_funds_accounts_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funds_accounts')),
    sa.UniqueConstraint('merchant_id', 'account_no', name=op.f('uq_funds_accounts_merchant_id_account_no'))
    )
    op.create_table('recharge_orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recharge_no', sa.String(length=32), nullable=False),
    sa.Column('card_no', sa.String(length=19), nullable=False),
    sa.Column('merchant_code', sa.String(length=32), nullable=False),
    sa.Column('out_trade_no', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('tx_no', sa.String(length=32), nullable=True),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_recharge_orders_amount_positive')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_recharge_orders_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recharge_orders')),
    sa.UniqueConstraint('merchant_id', 'merchant_code', 'out_trade_no', name=op.f('uq_recharge_orders_merchant_id_merchant_code_out_trade_no')),
    sa.UniqueConstraint('recharge_no', name=op.f('uq_recharge_orders_recharge_no'))
    )
    op.create_table('sms_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_sms_codes_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_codes'))
    )
    with op.batch_alter_table('sms_codes', schema=None) as batch_op:
        batch_op.create_index('ix_sms_codes_phone', ['merchant_id', 'phone', 'purpose', 'id'], unique=False)

    op.create_table('suspicious_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('tx_no', sa.String(length=32), nullable=False),
    sa.Column('card_no', sa.String(length=19), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_suspicious_cases_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspicious_cases')),
    sa.UniqueConstraint('case_no', name=op.f('uq_suspicious_cases_case_no')),
    sa.UniqueConstraint('merchant_id', 'rule', 'tx_no', name=op.f('uq_suspicious_cases_merchant_id_rule_tx_no'))
    )
    with op.batch_alter_table('suspicious_cases', schema=None) as batch_op:
        batch_op.create_index('ix_suspicious_cases_state', ['merchant_id', 'state'], unique=False)

    op.create_table('card_transactions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tx_no', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('funding', sa.String(length=16), nullable=True),
    sa.Column('card_merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_merchant_code', sa.String(length=32), nullable=False),
    sa.Column('terminal_code', sa.String(length=32), nullable=True),
    sa.Column('card_no', sa.String(length=19), nullable=False),
    sa.Column('counter_card_no', sa.String(length=19), nullable=True),
    sa.Column('out_no', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('original_tx_no', sa.String(length=32), nullable=True),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_card_transactions_amount_positive')),
    sa.CheckConstraint('refunded >= 0 AND refunded <= amount', name=op.f('ck_card_transactions_refunds_within_amount')),
    sa.ForeignKeyConstraint(['card_merchant_id'], ['card_merchants.id'], name=op.f('fk_card_transactions_card_merchant_id_card_merchants')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_transactions_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_transactions')),
    sa.UniqueConstraint('merchant_id', 'card_merchant_id', 'kind', 'out_no', name=op.f('uq_card_transactions_merchant_id_card_merchant_id_kind_out_no')),
    sa.UniqueConstraint('tx_no', name=op.f('uq_card_transactions_tx_no'))
    )
    with op.batch_alter_table('card_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_card_transactions_card', ['merchant_id', 'card_no', 'created_at'], unique=False)
        batch_op.create_index('ix_card_transactions_day', ['merchant_id', 'business_date', 'kind'], unique=False)
        batch_op.create_index('ix_card_transactions_time', ['merchant_id', 'created_at'], unique=False)

    op.create_table('cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_no', sa.String(length=19), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('ledger_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['funds_accounts.id'], name=op.f('fk_cards_account_id_funds_accounts')),
    sa.ForeignKeyConstraint(['ledger_account_id'], ['ledger_accounts.id'], name=op.f('fk_cards_ledger_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_cards_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('merchant_id', 'card_no', name=op.f('uq_cards_merchant_id_card_no'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_account_id'), ['account_id'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_no', sa.String(length=19), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['funds_accounts.id'], name=op.f('fk_members_account_id_funds_accounts')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_members_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('merchant_id', 'phone', name=op.f('uq_members_merchant_id_phone'))
    )
    op.create_table('card_replacements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('replacement_no', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('old_card_no', sa.String(length=19), nullable=False),
    sa.Column('new_card_no', sa.String(length=19), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('moved_amount', sa.BigInteger(), nullable=True),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_card_replacements_member_id_members')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_card_replacements_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_replacements')),
    sa.UniqueConstraint('replacement_no', name=op.f('uq_card_replacements_replacement_no'))
    )


def downgrade() -> None:
    op.drop_table('card_replacements')
    op.drop_table('members')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_account_id'))

    op.drop_table('cards')
    with op.batch_alter_table('card_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_card_transactions_time')
        batch_op.drop_index('ix_card_transactions_day')
        batch_op.drop_index('ix_card_transactions_card')

    op.drop_table('card_transactions')
    with op.batch_alter_table('suspicious_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_suspicious_cases_state')

    op.drop_table('suspicious_cases')
    with op.batch_alter_table('sms_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_sms_codes_phone')

    op.drop_table('sms_codes')
    op.drop_table('recharge_orders')
    op.drop_table('funds_accounts')
    op.drop_table('custody_settlements')
    op.drop_table('card_usage')
    op.drop_table('card_programs')
    with op.batch_alter_table('card_pool', schema=None) as batch_op:
        batch_op.drop_index('ix_card_pool_free')

    op.drop_table('card_pool')
    op.drop_table('card_merchants')
    op.drop_table('card_limits')
    with op.batch_alter_table('card_events', schema=None) as batch_op:
        batch_op.drop_index('ix_card_events_merchant')

    op.drop_table('card_events')
