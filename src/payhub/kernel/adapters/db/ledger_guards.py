"""Database-side guards of the ledger: an entry is refused unless its legs balance; legs and entries are immutable.

Legs are written first and the entry row last (the legs' foreign key is deferred to commit), so the
entry's insert trigger sees every leg: fewer than two legs or a sum other than zero aborts the insert,
a leg added to an entry that already exists aborts, and a leg left without an entry fails at commit.
"""
from __future__ import annotations

SQLITE = [
    """CREATE TRIGGER journal_entry_balanced BEFORE INSERT ON journal_entries
    WHEN (SELECT COUNT(*) FROM journal_legs WHERE entry_id = NEW.id) < 2
      OR (SELECT COALESCE(SUM(amount), 0) FROM journal_legs WHERE entry_id = NEW.id) <> 0
    BEGIN SELECT RAISE(ABORT, 'unbalanced journal entry'); END""",
    """CREATE TRIGGER journal_leg_entry_open BEFORE INSERT ON journal_legs
    WHEN EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id)
    BEGIN SELECT RAISE(ABORT, 'journal entry already booked'); END""",
    """CREATE TRIGGER journal_legs_no_update BEFORE UPDATE ON journal_legs
    BEGIN SELECT RAISE(ABORT, 'journal legs are immutable'); END""",
    """CREATE TRIGGER journal_legs_no_delete BEFORE DELETE ON journal_legs
    BEGIN SELECT RAISE(ABORT, 'journal legs are immutable'); END""",
    """CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END""",
    """CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
    BEGIN SELECT RAISE(ABORT, 'journal entries are immutable'); END""",
]

POSTGRESQL = [
    """CREATE FUNCTION journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE legs integer; total bigint;
    BEGIN
      SELECT COUNT(*), COALESCE(SUM(amount), 0) INTO legs, total FROM journal_legs WHERE entry_id = NEW.id;
      IF legs < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'unbalanced journal entry % (legs %, sum %)', NEW.id, legs, total
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER journal_entry_balanced BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced()""",
    """CREATE FUNCTION journal_leg_entry_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'journal entry % already booked', NEW.entry_id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER journal_leg_entry_open BEFORE INSERT ON journal_legs
    FOR EACH ROW EXECUTE FUNCTION journal_leg_entry_open()""",
    """CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '% is immutable', TG_TABLE_NAME USING ERRCODE = 'check_violation'; END $$""",
    """CREATE TRIGGER journal_legs_immutable BEFORE UPDATE OR DELETE ON journal_legs
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable()""",
    """CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable()""",
]


def statements(dialect: str) -> list[str]:
    """The guard DDL for an engine."""
    return SQLITE if dialect == "sqlite" else POSTGRESQL
