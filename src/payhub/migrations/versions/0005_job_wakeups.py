"""wake job workers through NOTIFY when a job becomes due (PostgreSQL only; issue 9)

A job that is pending and due now notifies `payhub_jobs` from inside the transaction that wrote it: PostgreSQL
delivers it at commit (never for a rolled back one) and folds the notifications of one transaction into one, so
the wake-up costs no extra round trip. Workers listen (adapters/pg_notifications.py) and poll only as a fallback.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION payhub_jobs_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('payhub_jobs', '');
            RETURN NULL;
        END $$
    """)
    # a retry or poll planned for later does not wake anyone: the workers' poll finds it when it is due
    # (run_at comes from the hub's clock: hosts keep NTP time, a second of slack covers the rest)
    op.execute("""
        CREATE TRIGGER jobs_wake AFTER INSERT OR UPDATE OF state, run_at ON jobs
        FOR EACH ROW WHEN (NEW.state = 'pending' AND NEW.run_at <= statement_timestamp() + interval '1 second')
        EXECUTE FUNCTION payhub_jobs_wake()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER jobs_wake ON jobs")
    op.execute("DROP FUNCTION payhub_jobs_wake()")
