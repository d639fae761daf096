"""Everything an organization holds, table by table, by natural keys instead of ids: two
organizations (in one database or two) hold the same data when their dumps are equal.

Generic over the metadata: every tenant table of every installed plugin is dumped, each row
as its columns with every reference to another tenant row replaced by that row's own dump
(recursively), so a new plugin's table is compared without anyone adding it here. What is
not compared is listed below, each with the reason: a test fails on a tenant table that is
neither dumped nor listed.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, UniqueConstraint, select

from plugins.accounting.services import SETTINGS_STAMP
from core.db import tenant_tables

# Tables a whole-organization workbook does not carry, and why.
NOT_COMPARED: dict[str, str] = {
    "audit_event": "the history of what was done in these books and by whom: the copy's starts with its import",
    "role": "access is given again in the new books: people are not in a workbook",
    "role_permission": "access is given again in the new books: people are not in a workbook",
    "sequence_counter": "the next numbers: restored by the sheets of the numbered records (journal entries, "
                        "invoices), which the books of test_whole_tenant and of the backup test compare with "
                        "canonical_dump(..., numbering=True); the kernel's populate takes numbers of a sequence "
                        "that numbers nothing",
}

# Columns that differ between two copies of the same books by nature, and why.
IGNORED_COLUMNS: dict[tuple[str, str], str] = {
    ("journal_entry", "hash"): "the chain is recomputed over the copy's own ids (ledger verify checks it)",
    ("journal_entry", "previous_hash"): "the chain is recomputed over the copy's own ids",
    ("journal_entry", "posted_at"): "when the copy was posted",
    ("journal_entry", "posted_by"): "a user: people are not in a workbook",
    ("journal_entry", "created_at"): "when the copy was made",
    ("invoice", "created_at"): "when the copy was made",
    ("payment", "created_at"): "when the copy was made",
    ("fiscal_year", "closed_at"): "when the copy's year was closed",
    ("fiscal_year", "closed_by"): "a user: people are not in a workbook",
    ("exchange_rate", "updated_at"): "when the copy's rate was stored",
    ("org_plugin", "changed_at"): "when the copy's plugin was enabled",
    ("invoicing_settings", "smtp_password"): "a secret: never exported",
}

# Exact decimals kept as text, compared by value: a workbook's number cell keeps a price's
# value, not its trailing zeros ("650.00" comes back "650").
DECIMAL_TEXT: set[tuple[str, str]] = {("product", "price")}

# References to tenant rows that are not foreign keys.
LOOSE_REFERENCES: dict[tuple[str, str], str] = {("journal_line", "partner_id"): "partner"}

_YEAR_KEY = re.compile(r"^(closing|opening):(\d+):(\d+)$")


def compared_tables(numbering: bool = False) -> list[Table]:
    return [t for t in tenant_tables()
            if t.name not in NOT_COMPARED or (numbering and t.name == "sequence_counter")]


def canonical_dump(database: Any, org_id: int, *, numbering: bool = False) -> dict[str, list[Any]]:
    """Per compared tenant table, its rows (sorted) with ids replaced by what they name;
    ``numbering``: the sequence counters too."""
    tables = {t.name: t for t in tenant_tables()}
    with database.session(org_id) as session:
        rows = {name: {row.id: row._mapping for row in session.execute(select(t).where(t.c.org_id == org_id))}
                for name, t in tables.items()}
        years = {year_id: row["name"] for year_id, row in rows["fiscal_year"].items()}
    # Not a sequence: a random stamp the database changes on every edit of accounts, journals
    # or periods, which tells the posting service its cached copy of them is stale.
    rows["sequence_counter"] = {row_id: row for row_id, row in rows["sequence_counter"].items()
                                if row["name"] != SETTINGS_STAMP}
    references: dict[str, dict[str, str]] = {name: {} for name in tables}
    for name, table in tables.items():
        for constraint in table.foreign_key_constraints:
            columns = [c.name for c in constraint.columns if c.name != "org_id"]
            if constraint.referred_table.name in tables and len(columns) == 1:
                references[name][columns[0]] = constraint.referred_table.name
    for (name, column), target in LOOSE_REFERENCES.items():
        references[name][column] = target
    uniques = {name: [[c.name for c in constraint.columns if c.name != "org_id"]
                      for constraint in table.constraints if isinstance(constraint, UniqueConstraint)]
               for name, table in tables.items()}
    memo: dict[tuple[str, int], tuple[Any, ...]] = {}

    def reference(name: str, row_id: int) -> tuple[Any, ...]:
        """What names a referenced row: its first complete unique key, else all of it."""
        row = rows[name][row_id]
        for columns in uniques[name]:
            if columns and all(row[c] is not None for c in columns):
                full = dict(row_key(name, row_id))
                return (name, tuple((c, full[c]) for c in columns))
        return (name, row_key(name, row_id))

    def row_key(name: str, row_id: int) -> tuple[Any, ...]:
        if (name, row_id) not in memo:
            row = rows[name][row_id]
            values = []
            for column, value in row.items():
                if column in ("org_id", "id") or (name, column) in IGNORED_COLUMNS:
                    continue
                if column in references[name] and value is not None:
                    value = reference(references[name][column], value)
                elif (name, column) in DECIMAL_TEXT and value is not None:
                    value = Decimal(value).normalize()
                elif name == "sequence_counter" and row["name"].startswith("journal:") and column in ("name", "scope"):
                    # a journal's numbering names the journal and the fiscal year by id
                    target = ("journal", "name") if column == "name" else ("fiscal_year", "scope")
                    number = int(value.split(":")[-1]) if value.split(":")[-1].isdigit() else None
                    if number is not None and number in rows[target[0]]:
                        value = reference(target[0], number)
                elif name == "journal_entry" and column == "idempotency_key" and value:
                    match = _YEAR_KEY.match(value)  # a closing's key names its year by id
                    if match and int(match[2]) in years:
                        value = f"{match[1]}:{years[int(match[2])]}:{match[3]}"
                values.append((column, value))
            memo[(name, row_id)] = tuple(values)
        return memo[(name, row_id)]

    return {table.name: sorted((row_key(table.name, row_id) for row_id in rows[table.name]), key=repr)
            for table in compared_tables(numbering)}


def differences(original: dict[str, list[Any]], copied: dict[str, list[Any]]) -> dict[str, Any]:
    """Per table, the rows only one side has (empty when the dumps are equal)."""
    found = {}
    for table in sorted(set(original) | set(copied)):
        left, right = original.get(table, []), copied.get(table, [])
        only_left = [row for row in left if row not in right]
        only_right = [row for row in right if row not in left]
        if only_left or only_right or len(left) != len(right):
            found[table] = {"only in the original": only_left, "only in the copy": only_right}
    return found
