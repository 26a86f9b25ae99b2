"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 20:41:02.095025
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import payhub.kernel.adapters.db.types
from payhub.kernel.adapters.db.ledger_guards import statements as ledger_guards


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('kind', 'ref', name=op.f('uq_jobs_kind_ref'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_due', ['state', 'run_at'], unique=False)

    op.create_table('merchants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('biller', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchants')),
    sa.UniqueConstraint('code', name=op.f('uq_merchants_code'))
    )
    op.create_table('state_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('aggregate', sa.String(length=16), nullable=False),
    sa.Column('aggregate_key', sa.String(length=40), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_transitions'))
    )
    with op.batch_alter_table('state_transitions', schema=None) as batch_op:
        batch_op.create_index('ix_state_transitions_key', ['aggregate_key', 'id'], unique=False)

    op.create_table('journal_entries',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_journal_entries_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('merchant_id', 'kind', 'ref', name=op.f('uq_journal_entries_merchant_id_kind_ref'))
    )
    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('normal_side', sa.String(length=8), nullable=False),
    sa.Column('non_negative', sa.Boolean(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('NOT non_negative OR balance >= 0', name=op.f('ck_ledger_accounts_balance_not_negative')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_ledger_accounts_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('merchant_id', 'code', name=op.f('uq_ledger_accounts_merchant_id_code'))
    )
    op.create_table('operators',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_operators_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('merchant_id', 'username', name=op.f('uq_operators_merchant_id_username'))
    )
    op.create_table('terminals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('key_sealed', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_terminals_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminals')),
    sa.UniqueConstraint('code', name=op.f('uq_terminals_code'))
    )
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminals_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('bill_orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('terminal_order_no', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('fee_type', sa.String(length=16), nullable=False),
    sa.Column('account_no', sa.String(length=64), nullable=False),
    sa.Column('customer_name', sa.String(length=64), nullable=False),
    sa.Column('bill_ids', sa.Text(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('due_amount', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('biller', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('expires_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('pay_method', sa.String(length=16), nullable=True),
    sa.Column('pay_deadline', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('code_url', sa.Text(), nullable=True),
    sa.Column('auth_code_masked', sa.String(length=32), nullable=True),
    sa.Column('wallet', sa.String(length=16), nullable=True),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('trade_type', sa.String(length=64), nullable=True),
    sa.Column('paid_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('biller_ref', sa.String(length=64), nullable=True),
    sa.Column('posted_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('refund_reserved', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bill_orders_amount_positive')),
    sa.CheckConstraint('refunded_amount <= refund_reserved AND refund_reserved <= amount', name=op.f('ck_bill_orders_refunds_within_amount')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_bill_orders_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_bill_orders_operator_id_operators')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_bill_orders_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bill_orders')),
    sa.UniqueConstraint('order_no', name=op.f('uq_bill_orders_order_no')),
    sa.UniqueConstraint('terminal_id', 'terminal_order_no', name=op.f('uq_bill_orders_terminal_id_terminal_order_no'))
    )
    with op.batch_alter_table('bill_orders', schema=None) as batch_op:
        batch_op.create_index('ix_bill_orders_merchant_created', ['merchant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_bill_orders_merchant_state', ['merchant_id', 'state'], unique=False)

    op.create_table('journal_legs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_before', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('account_version', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_journal_legs_amount_nonzero')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_journal_legs_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_journal_legs_entry_id_journal_entries'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_legs')),
    sa.UniqueConstraint('account_id', 'account_version', name=op.f('uq_journal_legs_account_id_account_version'))
    )
    with op.batch_alter_table('journal_legs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_legs_entry_id'), ['entry_id'], unique=False)

    op.create_table('operator_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_operator_sessions_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_operator_sessions_operator_id_operators')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_operator_sessions_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_operator_sessions_token_hash'))
    )
    op.create_table('terminal_nonces',
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('seen_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_nonces_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('terminal_id', 'nonce', name=op.f('pk_terminal_nonces'))
    )
    with op.batch_alter_table('terminal_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminal_nonces_seen_at'), ['seen_at'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('refund_no', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('terminal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('request_no', sa.String(length=64), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('channel_refund_id', sa.String(length=64), nullable=True),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.Text(), nullable=True),
    sa.Column('created_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', payhub.kernel.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['approved_by'], ['operators.id'], name=op.f('fk_refunds_approved_by_operators')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_refunds_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['order_id'], ['bill_orders.id'], name=op.f('fk_refunds_order_id_bill_orders')),
    sa.ForeignKeyConstraint(['requested_by'], ['operators.id'], name=op.f('fk_refunds_requested_by_operators')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_refunds_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('order_id', 'seq', name=op.f('uq_refunds_order_id_seq')),
    sa.UniqueConstraint('refund_no', name=op.f('uq_refunds_refund_no')),
    sa.UniqueConstraint('terminal_id', 'request_no', name=op.f('uq_refunds_terminal_id_request_no'))
    )
    for ddl in ledger_guards(op.get_bind().dialect.name):
        op.execute(ddl)


def downgrade() -> None:
    op.drop_table('refunds')
    with op.batch_alter_table('terminal_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminal_nonces_seen_at'))

    op.drop_table('terminal_nonces')
    op.drop_table('operator_sessions')
    with op.batch_alter_table('journal_legs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_legs_entry_id'))

    op.drop_table('journal_legs')
    with op.batch_alter_table('bill_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_bill_orders_merchant_state')
        batch_op.drop_index('ix_bill_orders_merchant_created')

    op.drop_table('bill_orders')
    with op.batch_alter_table('terminals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_terminals_merchant_id'))

    op.drop_table('terminals')
    op.drop_table('operators')
    op.drop_table('ledger_accounts')
    op.drop_table('journal_entries')
    with op.batch_alter_table('state_transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_state_transitions_key')

    op.drop_table('state_transitions')
    op.drop_table('merchants')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_due')

    op.drop_table('jobs')
