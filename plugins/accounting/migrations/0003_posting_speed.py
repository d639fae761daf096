"""Posting speed: entries go in already posted, after their lines, checked once per statement;
a stamp that changes whenever accounts, journals, periods or fiscal years change.

- An entry may be inserted in state ``posted`` only if its lines, inserted before it in the
  same transaction, balance (so the line-to-entry foreign key is now checked at commit,
  ``DEFERRABLE INITIALLY DEFERRED``; SQLite rebuilds ``journal_line`` for it). Lines still cannot be
  added to, changed in or deleted from a posted entry, and a draft still becomes posted
  only if its lines balance.
- PostgreSQL checks inserted entries and lines once per statement (transition tables)
  instead of once per row.
- The counter row ``ledger:settings`` of each organization gets a new random value (a
  fresh ``comptoir_id_seq`` value on PostgreSQL) whenever a row of ``account``, ``journal``,
  ``period`` or ``fiscal_year`` of that organization is inserted, updated or deleted, by
  anyone: the posting service caches those per organization and reloads when it changes.

Revision ID: 0003_posting_speed
Revises: 0002_accounting_rates
Create Date: 2026-11-25 00:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_posting_speed"
down_revision: str | None = "0002_accounting_rates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS_COUNTER = "ledger:settings"
WATCHED = ("account", "journal", "period", "fiscal_year")
LINE_ENTRY_FK = "fk_journal_line_org_id_entry_id_journal_entry"

SQLITE_UP = [
    """CREATE TRIGGER ledger_entry_insert_balanced BEFORE INSERT ON journal_entry
       WHEN NEW.state = 'posted' AND (SELECT coalesce(sum(amount), 0) FROM journal_line
                                      WHERE org_id = NEW.org_id AND entry_id = NEW.id) != 0
       BEGIN SELECT RAISE(ABORT, 'an unbalanced journal entry cannot be posted'); END""",
    *(f"""CREATE TRIGGER ledger_settings_{table}_{op_name.lower()} AFTER {op_name} ON {table}
          BEGIN UPDATE sequence_counter SET next_value = random()
                WHERE org_id = {'OLD' if op_name == 'DELETE' else 'NEW'}.org_id
                  AND name = '{SETTINGS_COUNTER}' AND scope = ''; END"""
      for table in WATCHED for op_name in ("INSERT", "UPDATE", "DELETE")),
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS ledger_entry_insert_balanced",
               *(f"DROP TRIGGER IF EXISTS ledger_settings_{table}_{op_name}"
                 for table in WATCHED for op_name in ("insert", "update", "delete"))]

POSTGRESQL_UP = [
    # Lines go in before their entry: the key is checked at commit.
    f"ALTER TABLE journal_line ALTER CONSTRAINT {LINE_ENTRY_FK} DEFERRABLE INITIALLY DEFERRED",
    """CREATE FUNCTION ledger_check_inserted_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM inserted_entries e
                   WHERE e.state = 'posted'
                     AND (SELECT coalesce(sum(l.amount), 0) FROM journal_line l
                          WHERE l.org_id = e.org_id AND l.entry_id = e.id) <> 0) THEN
            RAISE EXCEPTION 'an unbalanced journal entry cannot be posted' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ledger_entry_insert_balanced AFTER INSERT ON journal_entry
       REFERENCING NEW TABLE AS inserted_entries
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_inserted_entries()""",
    """CREATE FUNCTION ledger_check_inserted_lines() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- A lookup by key per inserted line (a join could scan every entry).
        IF EXISTS (SELECT 1 FROM inserted_lines l
                   WHERE (SELECT e.state FROM journal_entry e
                          WHERE e.org_id = l.org_id AND e.id = l.entry_id) = 'posted') THEN
            RAISE EXCEPTION 'lines cannot be added to a posted journal entry' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END $$""",
    # The row guard keeps updates and deletes; inserts are checked once per statement.
    "DROP TRIGGER ledger_line_guard ON journal_line",
    """CREATE TRIGGER ledger_line_guard BEFORE UPDATE OR DELETE ON journal_line
       FOR EACH ROW EXECUTE FUNCTION ledger_guard_line()""",
    """CREATE TRIGGER ledger_line_insert_guard AFTER INSERT ON journal_line
       REFERENCING NEW TABLE AS inserted_lines
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_inserted_lines()""",
    f"""CREATE FUNCTION ledger_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE sequence_counter SET next_value = nextval('comptoir_id_seq')
         WHERE name = '{SETTINGS_COUNTER}' AND scope = ''
           AND org_id IN (SELECT DISTINCT org_id FROM changed_rows);
        RETURN NULL;
    END $$""",
    *(f"""CREATE TRIGGER ledger_settings_{op_name.lower()} AFTER {op_name} ON {table}
          REFERENCING {'OLD' if op_name == 'DELETE' else 'NEW'} TABLE AS changed_rows
          FOR EACH STATEMENT EXECUTE FUNCTION ledger_settings_changed()"""
      for table in WATCHED for op_name in ("INSERT", "UPDATE", "DELETE")),
]
POSTGRESQL_DOWN = [
    *(f"DROP TRIGGER IF EXISTS ledger_settings_{op_name} ON {table}"
      for table in WATCHED for op_name in ("insert", "update", "delete")),
    "DROP FUNCTION IF EXISTS ledger_settings_changed()",
    "DROP TRIGGER IF EXISTS ledger_line_insert_guard ON journal_line",
    "DROP TRIGGER IF EXISTS ledger_line_guard ON journal_line",
    """CREATE TRIGGER ledger_line_guard BEFORE INSERT OR UPDATE OR DELETE ON journal_line
       FOR EACH ROW EXECUTE FUNCTION ledger_guard_line()""",
    "DROP FUNCTION IF EXISTS ledger_check_inserted_lines()",
    "DROP TRIGGER IF EXISTS ledger_entry_insert_balanced ON journal_entry",
    "DROP FUNCTION IF EXISTS ledger_check_inserted_entries()",
    f"ALTER TABLE journal_line ALTER CONSTRAINT {LINE_ENTRY_FK} NOT DEFERRABLE",
]


# 0001's triggers that name journal_line: SQLite rebuilds that table to make its key to the
# entry deferrable, and a rename fails while a trigger names a missing table.
SQLITE_LINE_TRIGGERS = {
    "ledger_entry_balanced": """CREATE TRIGGER ledger_entry_balanced BEFORE UPDATE OF state ON journal_entry
       WHEN NEW.state = 'posted' AND (SELECT coalesce(sum(amount), 0) FROM journal_line
                                      WHERE org_id = NEW.org_id AND entry_id = NEW.id) != 0
       BEGIN SELECT RAISE(ABORT, 'an unbalanced journal entry cannot be posted'); END""",
    "ledger_line_insert": """CREATE TRIGGER ledger_line_insert BEFORE INSERT ON journal_line
       WHEN (SELECT state FROM journal_entry WHERE org_id = NEW.org_id AND id = NEW.entry_id) = 'posted'
       BEGIN SELECT RAISE(ABORT, 'lines cannot be added to a posted journal entry'); END""",
    "ledger_line_immutable": """CREATE TRIGGER ledger_line_immutable BEFORE UPDATE ON journal_line
       WHEN (SELECT state FROM journal_entry WHERE org_id = OLD.org_id AND id = OLD.entry_id) = 'posted'
         OR (SELECT state FROM journal_entry WHERE org_id = NEW.org_id AND id = NEW.entry_id) = 'posted'
       BEGIN SELECT RAISE(ABORT, 'a line of a posted journal entry cannot be changed'); END""",
    "ledger_line_undeletable": """CREATE TRIGGER ledger_line_undeletable BEFORE DELETE ON journal_line
       WHEN (SELECT state FROM journal_entry WHERE org_id = OLD.org_id AND id = OLD.entry_id) = 'posted'
       BEGIN SELECT RAISE(ABORT, 'a line of a posted journal entry cannot be deleted'); END""",
}


def _sqlite_line_key(deferrable: bool) -> None:
    for name in SQLITE_LINE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("journal_line", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(LINE_ENTRY_FK, type_="foreignkey")
        batch_op.create_foreign_key(LINE_ENTRY_FK, "journal_entry", ["org_id", "entry_id"], ["org_id", "id"],
                                    deferrable=True if deferrable else None,
                                    initially="DEFERRED" if deferrable else None)
    for statement in SQLITE_LINE_TRIGGERS.values():
        op.execute(statement)


def upgrade() -> None:
    # SQLite, checking deferred keys as an entry goes in, looks for entries reversing it.
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_entry_org_id_reversal_of_id"), ["org_id", "reversal_of_id"],
                              unique=False)
    if op.get_bind().dialect.name == "postgresql":
        statements = POSTGRESQL_UP
    else:
        _sqlite_line_key(deferrable=True)
        statements = SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWN:
            op.execute(statement)
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
        _sqlite_line_key(deferrable=False)
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entry_org_id_reversal_of_id"))
