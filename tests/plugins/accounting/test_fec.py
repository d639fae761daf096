"""FEC import and export: reading, inferred accounts, idempotency, refusal, round trip, CLI."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.chart import Account
from core.errors import ValidationError
from plugins.accounting.fec import export_fec, import_fec, infer_account_type, read_fec
from plugins.accounting.models import Journal, JournalEntry
from plugins.accounting.reports import trial_balance
from tests.conftest import make_org

DATA = Path(__file__).parent / "data"
PIPE = (DATA / "fec_pipe_utf8.txt").read_bytes()
TAB = (DATA / "fec_tab_latin9.txt").read_bytes()
HEADER = ("JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|"
          "PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise")
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def _org(database, name="Migr"):  # noqa: ANN001, ANN202
    return make_org(database, name, chart="fr_pcg", first_fiscal_year=2026)


def _balances(database, org) -> dict[str, tuple[Decimal, Decimal]]:  # noqa: ANN001
    with database.transaction(org.id) as session:
        return {row.code: (row.debit, row.credit) for row in trial_balance(session, *YEAR)}


def _count_entries(database, org) -> int:  # noqa: ANN001
    with database.transaction(org.id) as session:
        return session.scalar(select(func.count()).select_from(JournalEntry))


def test_read_pipe_and_tab_files() -> None:
    pipe = read_fec(PIPE)
    assert pipe.separator == "|" and pipe.encoding == "utf-8" and len(pipe.lines) == 19
    assert pipe.lines[0].line == 2 and pipe.lines[0].debit == Decimal("5000.00")
    tab = read_fec(TAB)
    assert tab.separator == "\t" and tab.encoding == "iso-8859-15"
    first = tab.lines[0]
    assert first.account_lib == "Matériel de bureau et informatique"
    assert first.debit == Decimal("1234.50") and first.credit == 0  # zero-padded; empty credit is 0
    assert tab.lines[4].label == "Avance à l'Œuvre sociale"
    bom = read_fec(b"\xef\xbb\xbf" + PIPE)
    assert bom.encoding == "utf-8-sig" and bom.lines == pipe.lines


def test_read_collects_every_problem_with_its_line() -> None:
    data = "\n".join([HEADER, "OD|Op|1|20261301|512|B||||20260101|x|10,00|0|||||",
                      "OD|Op|1|20260101|512|B||||20260101|x|abc|0|||||", "OD|Op|1|20260101"]).encode()
    with pytest.raises(ValidationError) as caught:
        read_fec(data)
    assert [e.row for e in caught.value.errors] == [2, 3, 4]
    assert "Line 2" in caught.value.errors[0].translate("en")


def test_infer_account_type() -> None:
    cases = {"10130000": ("equity", "general"), "16400000": ("liability", "general"),
             "21830000": ("asset", "general"), "40100000": ("liability", "payable"),
             "41100000": ("asset", "receivable"), "43100000": ("liability", "general"),
             "51200000": ("asset", "bank"), "53000000": ("asset", "cash"),
             "60700000": ("expense", "general"), "70600000": ("income", "general")}
    for code, expected in cases.items():
        kind, subtype = infer_account_type(code, Decimal(0))
        assert (kind.value, subtype.value) == expected, code
    assert infer_account_type("44566000", Decimal(1))[0] == "asset"
    assert infer_account_type("44571000", Decimal(-1))[0] == "liability"
    assert infer_account_type("46700000", Decimal(5))[0] == "asset"
    assert infer_account_type("X1", Decimal(0)) is None


def test_import_creates_accounts_and_matches_the_file(database) -> None:  # noqa: ANN001
    org = _org(database)
    with database.transaction(org.id) as session:
        report = import_fec(session, PIPE)
    created = {a.code: (a.type, a.subtype) for a in report.accounts_created}
    assert "706" not in created  # already in the chart
    assert created["41100000"] == ("asset", "receivable")
    assert created["40100000"] == ("liability", "payable")
    assert created["44571000"] == ("liability", "tax")
    assert created["44566000"] == ("asset", "tax")
    assert created["51200000"] == ("asset", "bank")
    assert created["53000000"] == ("asset", "cash")
    assert created["16400000"] == ("liability", "general")
    assert created["10130000"] == ("equity", "general")
    assert set(report.journals_created) == {"OD", "VE", "AC", "BQ"}
    assert report.entries_posted == 8 and report.entries_unchanged == 0
    assert report.comparison and report.differences == ()
    with database.transaction(org.id) as session:
        account = session.scalars(select(Account).where(Account.code == "41100000")).one()
        assert account.name == "Clients" and account.reconcilable
        assert session.scalars(select(Journal).where(Journal.code == "VE")).one().kind == "misc"
    books = _balances(database, org)
    assert books["51200000"] == (Decimal("16200.00"), Decimal("700.00"))
    assert books["706"] == (Decimal("0.00"), Decimal("200.00"))


def test_import_twice_posts_nothing_the_second_time(database) -> None:  # noqa: ANN001
    org = _org(database)
    with database.transaction(org.id) as session:
        import_fec(session, PIPE)
    before = _balances(database, org)
    with database.transaction(org.id) as session:
        again = import_fec(session, PIPE)
    assert again.entries_posted == 0 and again.entries_unchanged == 8 and again.accounts_created == ()
    assert again.differences == ()
    assert _count_entries(database, org) == 8 and _balances(database, org) == before


def test_dry_run_writes_nothing(database) -> None:  # noqa: ANN001
    org = _org(database)
    with database.transaction(org.id) as session:
        report = import_fec(session, PIPE, dry_run=True)
    assert report.dry_run and report.entries_posted == 8 and report.differences == ()
    assert _count_entries(database, org) == 0
    with database.transaction(org.id) as session:
        assert session.scalars(select(Account).where(Account.code == "41100000")).first() is None


def test_unbalanced_file_refused_with_line_numbers(database) -> None:  # noqa: ANN001
    org = _org(database)
    data = "\n".join([
        HEADER,
        "OD|Op|1|20260101|51200000|Banque||||20260101|ok|100,00|0,00|||||",
        "OD|Op|1|20260101|10130000|Capital||||20260101|ok|0,00|100,00|||||",
        "OD|Op|2|20260102|51200000|Banque||||20260102|bad|100,00|0,00|||||",
        "OD|Op|2|20260102|10130000|Capital||||20260102|bad|0,00|90,00|||||",
        "OD|Op|3|20260103|51200000|Banque||||20260103|date|1,00|0,00|||||",
        "OD|Op|3|20260104|10130000|Capital||||20260104|date|0,00|1,00|||||",
    ]).encode()
    with database.transaction(org.id) as session, pytest.raises(ValidationError) as caught:
        import_fec(session, data)
    rows = sorted(e.row for e in caught.value.errors)
    assert rows == [4, 7]
    message = caught.value.translate("en")
    assert "Lines 4, 5" in message and "not balanced" in message
    assert _count_entries(database, org) == 0
    with database.transaction(org.id) as session:
        assert session.scalars(select(Account).where(Account.code == "51200000")).first() is None


def test_posting_problems_point_at_file_lines(database) -> None:  # noqa: ANN001
    org = _org(database)
    data = "\n".join([HEADER, "OD|Op|1|20300101|51200000|Banque||||20300101|x|1,00|0,00|||||",
                      "OD|Op|1|20300101|10130000|Capital||||20300101|x|0,00|1,00|||||"]).encode()
    with database.transaction(org.id) as session, pytest.raises(ValidationError) as caught:
        import_fec(session, data)
    assert caught.value.errors[0].row == 2
    assert _count_entries(database, org) == 0


def test_latin9_file_imports_with_accents(database) -> None:  # noqa: ANN001
    org = _org(database)
    with database.transaction(org.id) as session:
        report = import_fec(session, TAB)
    created = {a.code: a for a in report.accounts_created}
    assert created["21830000"].name == "Matériel de bureau et informatique"
    assert created["21830000"].type == "asset"
    assert (created["44567000"].type, created["44567000"].subtype) == ("asset", "tax")
    assert (created["44551000"].type, created["44551000"].subtype) == ("liability", "tax")
    assert created["46700000"].type == "asset"
    assert created["40400000"].type == "liability"
    assert report.differences == ()
    assert _balances(database, org)["21830000"] == (Decimal("1234.50"), Decimal("0.00"))


def test_export_then_reimport_gives_the_same_trial_balance(database) -> None:  # noqa: ANN001
    source = _org(database, "Source")
    with database.transaction(source.id) as session:
        import_fec(session, PIPE)
        import_fec(session, TAB)
    with database.transaction(source.id) as session:
        exported = export_fec(session, *YEAR)
    text = exported.decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == HEADER and len(lines) == 1 + 19 + 6
    assert all(len(line.split("|")) == 18 for line in lines)
    journals = [line.split("|")[0] for line in lines[1:]]
    assert journals == sorted(journals)
    first = lines[1].split("|")
    assert first[0] == "AC" and first[3] == "20260120" and first[11] == "500,00" and first[12] == "0,00"
    assert first[2].startswith("AC/") and len(first[15]) == 8
    target = _org(database, "Target")
    with database.transaction(target.id) as session:
        report = import_fec(session, exported)
    assert report.differences == ()
    assert _balances(database, target) == _balances(database, source)


def test_cli_import_and_export(database, comptoir, tmp_path: Path) -> None:  # noqa: ANN001
    org = _org(database)
    path = tmp_path / "fec.txt"
    path.write_bytes(PIPE)
    code, out, err = comptoir("fec", "import", str(path), "--org", org.code, "--dry-run")
    assert code == 0, err
    assert "41100000" in out and "Dry run" in out and "0 differences" in out
    assert _count_entries(database, org) == 0
    code, out, err = comptoir("fec", "import", str(path), "--org", org.code)
    assert code == 0, err
    assert "8 entries posted" in out
    target = tmp_path / "out.txt"
    code, out, err = comptoir("fec", "export", "--org", org.code, "--from", "2026-01-01", "--to", "2026-12-31",
                              "-o", str(target))
    assert code == 0, err
    assert target.read_bytes().decode("utf-8").startswith("JournalCode|")
    bad = tmp_path / "bad.txt"
    bad.write_text(HEADER + "\nOD|Op|1|20260101|51200000|B||||20260101|x|1,00|0,00|||||\n")
    code, out, err = comptoir("fec", "import", str(bad), "--org", org.code)
    assert code == 1
    assert "Lines 2" in err and "not balanced" in err and "Nothing was imported" in err


FOREIGN = "\n".join([
    HEADER,
    "VE|Ventes|VE1|20260310|41100000|Clients|C001|Dupont SA|F1|20260310|Facture F1|120,00|0,00|AA|20260320|20260310|130,00|USD",
    "VE|Ventes|VE1|20260310|706|Prestations|||F1|20260310|Facture F1|0,00|120,00|||20260310||",
    "BQ|Banque|BQ1|20260320|51200000|Banque|||R1|20260320|Règlement F1|120,00|0,00|||20260320|0,00|EUR",
    "BQ|Banque|BQ1|20260320|41100000|Clients|C001||R1|20260320|Règlement F1|0,00|120,00|AA|20260320|20260320|130,00|usd",
]).encode()


def test_foreign_amounts_and_auxiliary_accounts_are_kept_and_lettering_is_reported(database) -> None:  # noqa: ANN001
    from plugins.accounting.models import JournalLine

    org = _org(database)
    with database.transaction(org.id) as session:
        report = import_fec(session, FOREIGN)
        assert report.auxiliary_lines == 2 and report.lettered_lines == 2 and report.differences == ()
        lines = {(line.amount, line.currency, line.amount_currency, line.label)
                 for line in session.scalars(select(JournalLine))}
        assert lines == {(12000, "USD", 13000, "Facture F1 [C001 Dupont SA]"), (-12000, None, None, "Facture F1"),
                         (12000, None, None, "Règlement F1"), (-12000, "USD", -13000, "Règlement F1 [C001]")}
        exported = export_fec(session, *YEAR).decode().splitlines()
    assert {tuple(row.split("|")[-2:]) for row in exported[1:]} == {("130,00", "USD"), ("", "")}


@pytest.mark.parametrize(("line", "message"), [
    ("VE|Ventes|VE1|20260310|706|P|||F1|20260310|F|0,00|120,00|||20260310|5,00|",
     "Line 3: Montantdevise 5.00 has no currency (Idevise)."),
    ("VE|Ventes|VE1|20260310|706|P|||F1|20260310|F|0,00|120,00|||20260310|5,00|XYZ",
     "Line 3: XYZ is not a currency code."),
    ("VE|Ventes|VE1|20260310|706|P|||F1|20260310|F|0,00|120,00|||20260310|5,001|USD",
     "Line 3: Montantdevise has more decimals than USD allows."),
])
def test_foreign_amounts_the_books_cannot_take_are_refused(database, line, message) -> None:  # noqa: ANN001
    data = "\n".join([HEADER, "VE|Ventes|VE1|20260310|41100000|Clients|||F1|20260310|F|120,00|0,00|||20260310||",
                      line]).encode()
    org = _org(database)
    with database.transaction(org.id) as session, pytest.raises(ValidationError) as refused:
        import_fec(session, data)
    assert [e.translate("en") for e in refused.value.errors] == [message]
