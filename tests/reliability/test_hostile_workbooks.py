"""A corpus of hostile and broken workbooks fed to the real `comptoir import`, each in its own
process: a clear error (naming the row and column where the problem is in a cell), no
traceback, no row written in any tenant, and the process's peak memory under a limit."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.chart import create_account
from tests.conftest import make_org
from tests.core.excel.helpers import FIXTURES, table_counts, xlsx
from tests.core.excel.test_readers import SHEET, billion_laughs, million_rows, replace_entry, zip_bomb
from tests.reliability.test_faults import ROOT, _environment

MEMORY_LIMIT_MB = 200  # peak resident memory of the importing process, whatever the file (about 75 MB seen)
D = dt.date
ENTRY_HEADERS = ["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit"]
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>Code</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>1</t></is></c><c r="B2" t="inlineStr"><is><t>&xxe;</t></is></c></row>
</sheetData></worksheet>"""


def xxe(path: Path) -> Path:
    xlsx(path, [["Code", "Name"]])
    return replace_entry(path, SHEET, lambda archive: archive.writestr(SHEET, XXE))


def xls_renamed(path: Path) -> Path:
    """An old binary .xls under an .xlsx name: told from its bytes and read as .xls (its accounts
    belong to another chart, so the rows are refused by content, with their cells named)."""
    shutil.copyfile(FIXTURES / "entries.xls", path)
    return path


def over_the_size_limit(path: Path) -> Path:
    """Exactly 20 MB + 1 byte: a real workbook padded with a stored (uncompressed) media file."""
    target = 20 * 1024 * 1024 + 1
    padding = target
    while True:
        xlsx(path, [["Code", "Name"], ["1", "x"]])
        with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as archive:
            archive.writestr("xl/media/padding.bin", b"\0" * padding)
        if path.stat().st_size == target:
            return path
        padding -= path.stat().st_size - target


def entries(*rows: list) -> Callable[[Path], Path]:  # noqa: ANN001
    return lambda path: xlsx(path, [ENTRY_HEADERS, *rows], title="Journal entries")


def formula_without_a_value(path: Path) -> Path:
    """A formula cell where a name is expected, with no value computed by a spreadsheet program:
    Comptoir reads values, never formulas, so the cell is empty — refused, naming the cell.
    (Text that merely looks like a formula is data: test_formula_injection.py round-trips it.)"""
    return xlsx(path, [["Code", "Name"], ["9100", "=HYPERLINK(\"http://evil.test\",\"x\")"]], title="Accounts")


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], Path]
    message: str
    schema: str | None = None
    extra: tuple[str, ...] = ()


CORPUS = {
    "zip-bomb": Case(zip_bomb, "looks like a zip bomb"),
    "billion-laughs": Case(billion_laughs, "The workbook declares XML entities"),
    "xxe": Case(xxe, "The workbook declares XML entities"),
    "xls-renamed-xlsx": Case(xls_renamed, "Row 2, Account: There is no account 400.", schema="journal_entries"),
    "20-mb-plus-1-byte": Case(over_the_size_limit, "The file is 20 MB; the limit is 20 MB."),
    "million-rows": Case(million_rows, "has more than 200000 rows; split the file."),
    "text-in-amounts": Case(entries(["E1", D(2026, 3, 1), "SAL", "1100", "x", "twelve", None],
                                    ["E1", D(2026, 3, 1), "SAL", "4000", "x", None, 12]),
                            "Row 2, Debit:"),
    "bad-dates": Case(entries(["E1", "31/02/2026", "SAL", "1100", "x", 12, None],
                              ["E1", "31/02/2026", "SAL", "4000", "x", None, 12]),
                      "Row 2, Date:"),
    "duplicate-keys": Case(lambda p: xlsx(p, [["Code", "Name", "Type"], ["9100", "One", "asset"],
                                              ["9100", "Two", "asset"]], title="Accounts"),
                           "Row 3, Code:"),
    "unbalanced-opening-balances": Case(
        lambda p: xlsx(p, [["Account", "Debit", "Credit"], ["1020", 1000, None], ["3000", None, 900]],
                       title="Opening balances"),
        "not balanced", schema="opening_balances", extra=("--date", "2026-01-01")),
    "another-tenants-account": Case(entries(["E1", D(2026, 3, 1), "SAL", "1100", "x", 12, None],
                                            ["E1", D(2026, 3, 1), "SAL", "OTHER-ONLY", "x", None, 12]),
                                    "Row 3, Account:"),
    "formula-cell-without-a-value": Case(formula_without_a_value, "Row 2, Name: A value is required."),
    "unbalanced-entry": Case(entries(["E1", D(2026, 3, 1), "SAL", "1100", "x", 12, None],
                                     ["E1", D(2026, 3, 1), "SAL", "4000", "x", None, 11]),
                             "Row 2"),
}


# The importing process prints its own peak resident memory (VmHWM, kB) as it exits. Not
# getrusage's ru_maxrss: Linux carries that over from the forking parent (pytest) across exec.
LAUNCHER = """
import atexit, re, sys
def peak():
    status = open("/proc/self/status").read()
    print("MAXRSS", re.search(r"VmHWM:\\s+(\\d+)", status).group(1), file=sys.stderr)
atexit.register(peak)
from core.cli import main
main()
"""


def _import(settings, path: Path, org_name: str, case: Case) -> tuple[int, str, float]:  # noqa: ANN001
    args = ["import", str(path), "--org", org_name, *(["--schema", case.schema] if case.schema else []), *case.extra]
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *args], cwd=ROOT, env=_environment(settings),
                          capture_output=True, text=True, timeout=300)
    output, _, peak = (done.stdout + done.stderr).rpartition("MAXRSS ")
    return done.returncode, output, int(peak) / 1024


@pytest.mark.parametrize("name", list(CORPUS))
def test_a_hostile_workbook_is_refused_clearly_writes_nothing_and_stays_small(database, settings, tmp_path, name):
    case = CORPUS[name]
    victim = make_org(database, "Victim", chart="generic_service", first_fiscal_year=2026)
    other = make_org(database, "Other", chart="generic_service", first_fiscal_year=2026)
    with database.transaction(other.id) as session:
        create_account(session, "OTHER-ONLY", "Exists only in another tenant", type="asset")
    path = case.build(tmp_path / "upload.xlsx")
    before = (table_counts(database, victim.id), table_counts(database, other.id))
    code, output, peak_mb = _import(settings, path, victim.name, case)
    assert code == 1, output
    assert case.message in output
    assert "Traceback" not in output
    assert (table_counts(database, victim.id), table_counts(database, other.id)) == before
    assert peak_mb < MEMORY_LIMIT_MB
