"""Importing the chart of accounts: two phases, errors marked in the user's workbook, idempotency,
update mode, dry run, headers in several languages, and a CSV."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from core.chart import account_tags, create_account, get_account, list_accounts
from core.excel import ImportFailed, import_file
from core.i18n import translate
from plugins.accounting.services import EntryInput, credit, debit, post_entries
from tests.conftest import make_org
from tests.core.excel.helpers import csv_file, table_counts, xlsx

HEADERS = ["Code", "Name", "Type", "Subtype", "Parent account", "Reconcilable", "Tags"]
GOOD = [
    ["2", "Fixed assets", "asset", "", "", "", ""],
    ["2154", "Machines", "asset", "general", "2", "no", "asset.fixed"],
    [512200, "Second bank", "asset", "bank", "", "yes", "bank"],
]


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return make_org(database, "Importer", chart="example_tiny", first_fiscal_year=2026)


def test_accounts_are_created_then_left_unchanged_on_a_second_import(database, books, tmp_path):
    path = xlsx(tmp_path / "accounts.xlsx", [HEADERS, *GOOD], title="Accounts")
    with database.transaction(books.id) as session:
        report = import_file(session, path, locale="en")
    assert [(s.schema, s.counts.created, s.counts.updated, s.counts.unchanged) for s in report.sheets] == [
        ("accounts", 3, 0, 0)]
    with database.session(books.id) as session:
        machines = get_account(session, "2154")
        assert (machines.name, machines.type, machines.subtype) == ("Machines", "asset", "general")
        assert get_account(session, "2").id == machines.parent_id
        assert account_tags(session, machines) == {"asset.fixed"}
        bank = get_account(session, "512200")  # a number cell reads as the code "512200"
        assert bank.reconcilable and bank.subtype == "bank"
    before = table_counts(database, books.id)

    with database.transaction(books.id) as session:
        again = import_file(session, path, locale="en")
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    after = table_counts(database, books.id)
    assert {k: v for k, v in after.items() if k != "audit_event"} == \
        {k: v for k, v in before.items() if k != "audit_event"}


def test_three_bad_rows_are_all_reported_nothing_is_written_and_the_workbook_comes_back_in_french(
        database, books, tmp_path):
    rows = [HEADERS,
            ["3000", "Stock", "asset", "", "", "", ""],
            ["3100", "Raw material", "mineral", "", "", "", ""],  # row 3: unknown type
            ["3200", "Goods", "asset", "", "999", "", ""],  # row 4: unknown parent
            ["3300", "Packaging", "asset", "", "", "perhaps", "asset.inventory"]]  # row 5: not yes or no
    path = xlsx(tmp_path / "comptes.xlsx", rows, title="Comptes")
    before = table_counts(database, books.id)
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, path, locale="fr")
    problems = failed.value.problems
    assert sorted((p.row, p.column) for p in problems) == [(3, "Type"), (4, "Parent account"), (5, "Reconcilable")]
    assert table_counts(database, books.id) == before
    with database.session(books.id) as session:
        assert "3000" not in {a.code for a in list_accounts(session)}  # the good row waited too

    annotated = openpyxl.load_workbook(failed.value.workbook)
    assert annotated.sheetnames == ["Comptes", translate("Errors", "fr")]
    sheet = annotated["Comptes"]
    assert sheet["C3"].value == "mineral"  # the user's own cells, untouched
    for coordinate in ("C3", "E4", "F5"):
        assert sheet[coordinate].fill.fgColor.rgb.endswith("FFC7CE"), coordinate
        assert sheet[coordinate].comment is not None
    assert sheet["A2"].comment is None and sheet["A2"].fill.fgColor.rgb != "00FFC7CE"
    assert sheet["E4"].comment.text == "Le compte 999 n'existe pas."  # the kernel's French catalog
    errors = list(annotated[translate("Errors", "fr")].iter_rows(values_only=True))
    assert errors[0] == tuple(translate(h, "fr") for h in ("Row", "Column", "Value", "Reason"))
    assert (4, "Parent account", "999", "Le compte 999 n'existe pas.") in errors
    assert (5, "Reconcilable", "perhaps", translate("%(value)s is not yes or no.", "fr", value="perhaps")) in errors
    assert len(errors) == 4


def test_update_mode_renames_retypes_and_retags_but_not_an_account_in_use(database, books, tmp_path):
    with database.transaction(books.id) as session:
        create_account(session, "4711", "Suspense", type="asset")
        post_entries(session, [EntryInput("MISC", dt.date(2026, 2, 1), [debit("100", "10"), credit("600", "10")])])
    path = xlsx(tmp_path / "rename.xlsx", [["Code", "Name", "Type", "Tags"],
                                             ["4711", "Transit", "liability", "liability.current"]])
    with database.transaction(books.id) as session:
        unchanged = import_file(session, path, schema="accounts")
    assert (unchanged.counts.updated, unchanged.counts.unchanged) == (0, 1)
    with database.transaction(books.id) as session:
        updated = import_file(session, path, schema="accounts", update=True)
    assert (updated.counts.updated, updated.counts.unchanged) == (1, 0)
    with database.session(books.id) as session:
        account = get_account(session, "4711")
        assert (account.name, account.type) == ("Transit", "liability")
        assert account_tags(session, account) == {"liability.current"}

    in_use = xlsx(tmp_path / "in_use.xlsx", [["Code", "Name"], ["100", "Main bank"], ["600", "Capital"]])
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, in_use, schema="accounts", update=True)
    assert [(p.row, p.column, p.reason("en")) for p in failed.value.problems] == [
        (2, "Name", "Account 100 is in use: its name and type cannot change.")]


def test_dry_run_counts_what_would_happen_and_writes_nothing(database, books, tmp_path):
    path = xlsx(tmp_path / "accounts.xlsx", [HEADERS, *GOOD, ["100", "Bank", "asset", "bank", "1", "", "bank"]])
    before = table_counts(database, books.id)
    with database.transaction(books.id) as session:
        report = import_file(session, path, schema="accounts", dry_run=True)
    assert report.dry_run and (report.counts.created, report.counts.unchanged) == (3, 1)
    assert table_counts(database, books.id) == before


@pytest.mark.parametrize(("locale", "headers"), [
    ("fr", ["N° de compte", "Intitulé", "Type", "Sous-type", "Compte parent", "Lettrable", "Étiquettes"]),
    ("es", ["Cuenta", "Nombre", "Tipo", "Subtipo", "Cuenta padre", "Conciliable", "Etiquetas"]),
    ("fa", ["کد حساب", "نام حساب", "نوع", "زیرنوع", "حساب والد", "قابل تطبیق", "برچسب‌ها"]),
    ("en", ["  ACCOUNT code ", "account_name", "TYPE", "sub type", "Parent", "reconcilable", "tags"]),
])
def test_headers_are_matched_in_each_language(database, books, tmp_path, locale, headers):
    path = xlsx(tmp_path / f"{locale}.xlsx", [headers, *GOOD])
    with database.transaction(books.id) as session:
        report = import_file(session, path, locale=locale)  # told from the headers: no --schema
    assert report.sheets[0].schema == "accounts" and report.counts.created == 3
    with database.session(books.id) as session:
        assert get_account(session, "2154").parent_id == get_account(session, "2").id


def test_a_csv_with_semicolons_and_its_errors_come_back_as_a_workbook(database, books, tmp_path):
    text = "Code;Intitulé;Type;Compte parent\r\n2;Immobilisations;asset;\r\n2154;Machines;bidon;2\r\n=1+2;Formule;asset;\r\n"
    path = csv_file(tmp_path / "comptes.csv", text, encoding="cp1252")
    before = table_counts(database, books.id)
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, path, locale="fr")
    assert table_counts(database, books.id) == before
    assert [(p.row, p.column) for p in failed.value.problems] == [(3, "Type"), (4, "Code")]
    annotated = openpyxl.load_workbook(failed.value.workbook)
    sheet = annotated[annotated.sheetnames[0]]
    assert [c.value for c in sheet[1]] == ["Code", "Intitulé", "Type", "Compte parent"]
    assert sheet["C3"].value == "bidon" and sheet["C3"].comment is not None
    assert sheet["A4"].value == "=1+2" and sheet["A4"].data_type == "s"  # shown, never run
    assert failed.value.workbook.name == "comptes.errors.xlsx"

    fixed = csv_file(tmp_path / "fixed.csv", text.replace("bidon", "asset").replace("=1+2", "2155"), "cp1252")
    with database.transaction(books.id) as session:
        assert import_file(session, fixed, locale="fr").counts.created == 3
    with database.session(books.id) as session:
        assert get_account(session, "2").name == "Immobilisations"


def test_a_key_given_twice_and_a_missing_column_are_reported(database, books, tmp_path):
    twice = xlsx(tmp_path / "twice.xlsx", [["Code", "Name", "Type"], ["7000", "A", "income"], ["7000", "B", "income"]])
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, twice, schema="accounts")
    assert [(p.row, p.reason("en")) for p in failed.value.problems] == [
        (3, "The same 7000 is already on row 2.")]

    missing = xlsx(tmp_path / "missing.xlsx", [["Code", "Type"], ["7000", "income"]])
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, missing, schema="accounts")
    assert [(p.row, p.column, p.reason("en")) for p in failed.value.problems] == [
        (1, "Name", "The column Name is missing.")]
