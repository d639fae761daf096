"""Reading untrusted files: every format, the kind told from the bytes, and every hostile file
refused with a clear sentence before anything is written."""
from __future__ import annotations

import datetime as dt
import secrets
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from core.chart import get_account
from core.excel import FileKind, Limits, WorkbookRefused, import_file, open_source, read_table
from tests.conftest import make_org
from tests.core.excel.helpers import FIXTURES, csv_file, table_counts, xlsx

SHEET = "xl/worksheets/sheet1.xml"
MB_ONE = 1024 * 1024
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>Code</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>1</t></is></c><c r="B2" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>"""


def replace_entry(path: Path, name: str, write: Callable[[zipfile.ZipFile], None]) -> Path:
    """Rewrite a real workbook with entry ``name`` produced by ``write`` instead."""
    source = path.with_name("source-" + path.name)
    shutil.move(path, source)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in original.infolist():
            if item.filename != name:
                target.writestr(item, original.read(item.filename))
        write(target)
    source.unlink()
    return path


def zip_bomb(path: Path) -> Path:
    """A workbook whose sheet inflates from ~50 KB to 60 MB of zeros."""
    xlsx(path, [["Code", "Name"]])

    def write(archive: zipfile.ZipFile) -> None:
        with archive.open(SHEET, "w") as sheet:
            chunk = b"0" * (1024 * 1024)
            for _ in range(60):
                sheet.write(chunk)
    return replace_entry(path, SHEET, write)


def billion_laughs(path: Path) -> Path:
    xlsx(path, [["Code", "Name"]])
    return replace_entry(path, SHEET, lambda archive: archive.writestr(SHEET, BILLION_LAUGHS))


def million_rows(path: Path) -> Path:
    """A 1,000,000-row sheet as Excel writes it, size declared (7 MB packed, 50 MB unpacked)."""
    xlsx(path, [["Code", "Name"]])

    def write(archive: zipfile.ZipFile) -> None:
        with archive.open(SHEET, "w") as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        b'<dimension ref="A1:B1000001"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Code</t></is></c>'
                        b'<c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>')
            for start in range(2, 1_000_002, 10_000):
                sheet.write(b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n)
                                     for n in range(start, start + 10_000)))
            sheet.write(b"</sheetData></worksheet>")
    return replace_entry(path, SHEET, write)


def png(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def word_document(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return path


def html_table(path: Path) -> Path:
    path.write_text("<html><body><table><tr><td>Code</td></tr></table></body></html>")
    return path


def truncated(path: Path) -> Path:
    data = xlsx(path.with_name("whole.xlsx"), [["Code", "Name"], ["1", "x"]]).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def password_protected(path: Path) -> Path:
    """An encrypted OOXML file is an OLE container holding an ``EncryptedPackage`` stream."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 512)
    return path


HOSTILE = [
    (zip_bomb, None, "looks like a zip bomb"),
    (billion_laughs, None, "The workbook declares XML entities, which are refused for safety."),
    (png, None, "This is not a spreadsheet (it looks like a PNG image)."),
    (empty, None, "The file is empty."),
    (million_rows, None, "has more than 200000 rows; split the file."),
    (word_document, None, "it looks like a Word document"),
    (html_table, None, "This is an HTML or XML file"),
    (truncated, None, "The workbook is damaged"),
    (password_protected, None, "protected by a password"),
    (lambda p: xlsx(p, [["Code", "Name"], *[[str(n), "x"] for n in range(11)]]), Limits(max_rows=10),
     "The sheet Sheet1 has more than 10 rows"),
    (lambda p: xlsx(p, [["Code", "Name"]] * 5), Limits(max_bytes=2000), "The file is 5 KB; the limit is 2 KB."),
    (lambda p: xlsx(p, [["Code", "Name"], [secrets.token_hex(2000) for n in range(300)]]), Limits(max_uncompressed=MB_ONE),
     "The workbook unpacks to"),
    (lambda p: xlsx(p, [["Code", "Name", *range(10)]]), Limits(max_columns=5), "Row 1 has more than 5 columns."),
]


@pytest.mark.parametrize(("build", "limits", "message"), HOSTILE,
                         ids=["zip-bomb", "billion-laughs", "png", "empty", "million-rows", "docx", "html",
                              "truncated", "password", "rows-limit", "size-limit", "unpacked-limit", "columns-limit"])
def test_hostile_files_are_refused_with_a_clear_message_and_nothing_is_written(
        database, org, tmp_path, build, limits, message):
    path = build(tmp_path / "upload.xlsx")
    before = table_counts(database, org.id)
    with database.transaction(org.id) as session, pytest.raises(WorkbookRefused) as refused:
        import_file(session, path, schema="accounts", limits=limits or Limits())
    assert message in refused.value.translate("en")
    assert "Traceback" not in refused.value.translate("en")
    assert table_counts(database, org.id) == before


def test_defusedxml_is_what_openpyxl_parses_with():
    from openpyxl import xml

    assert xml.DEFUSEDXML is True


@pytest.mark.parametrize(("name", "kind"), [("accounts.xls", FileKind.XLS), ("accounts.ods", FileKind.ODS)])
def test_xls_and_ods_are_read_through_calamine(database, tmp_path, name, kind):
    org = make_org(database, "Old formats", chart="example_tiny")
    with open_source(FIXTURES / name) as source:
        assert source.kind is kind
    with database.transaction(org.id) as session:
        report = import_file(session, FIXTURES / name, locale="en")
    assert report.counts.created == 3
    with database.session(org.id) as session:
        assert get_account(session, "2154").parent_id == get_account(session, "2").id
        assert get_account(session, "512200").reconcilable


def test_an_old_xls_renamed_xlsx_is_told_from_its_bytes(tmp_path):
    renamed = shutil.copy(FIXTURES / "accounts.xls", tmp_path / "accounts.xlsx")
    table = read_table(renamed)
    assert table.headers[:2] == ("Code", "Name")
    assert table.rows[0] == (2, (2, "Fixed assets", "asset", "general"))


def test_dates_and_numbers_of_an_ods_are_real_values(tmp_path):
    table = read_table(FIXTURES / "entries.ods")
    assert table.rows[0][1][1] == dt.date(2026, 3, 10) and table.rows[0][1][5] == 1200.5


@pytest.mark.parametrize(("text", "encoding"), [
    ("Code;Name\n1;Épargne\n", "utf-8"),
    ("Code,Name\n1,Épargne\n", "utf-8-sig"),
    ("Code\tName\n1\tÉpargne\n", "utf-16"),
    ("Code|Name\n1|Épargne\n", "cp1252"),
    ('"Code";"Name"\n"1";"Épargne"\n', "utf-8"),
])
def test_csv_delimiters_and_encodings_are_sniffed(tmp_path, text, encoding):
    table = read_table(csv_file(tmp_path / "data.csv", text, encoding))
    assert table.headers == ("Code", "Name")
    assert table.rows == [(2, ("1", "Épargne"))]


def test_empty_rows_keep_the_row_numbers_of_the_sheet(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["B3"], sheet["C3"] = "Code", "Name"
    sheet["B6"], sheet["C6"] = "1", "Bank"
    workbook.save(tmp_path / "gaps.xlsx")
    table = read_table(tmp_path / "gaps.xlsx")
    assert (table.header_row, table.headers) == (3, (None, "Code", "Name"))
    assert table.rows == [(6, (None, "1", "Bank"))]


def test_a_plain_xlsx_is_read_by_calamine_and_anything_unusual_by_openpyxl_with_defusedxml(tmp_path):
    """calamine reads plain workbooks fast; a DTD, or a cell beyond the limits (calamine would
    allocate the whole rectangle up to it), sends the file to openpyxl's guarded reader."""
    plain = xlsx(tmp_path / "plain.xlsx", [["Code", "Name"], ["1", "Bank"]])
    with open_source(plain) as source:
        assert source.engine == "calamine" and list(source.rows("Sheet1")) == [(1, ("Code", "Name")), (2, ("1", "Bank"))]
    with open_source(billion_laughs(tmp_path / "laughs.xlsx")) as source:
        assert source.engine == "openpyxl"
    far = xlsx(tmp_path / "far.xlsx", [["Code", "Name"], ["1", "Bank"]])
    replace_entry(far, SHEET, lambda archive: archive.writestr(SHEET, (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Code</t></is></c></row>'
        '<row r="900000"><c r="XFD900000" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>')))
    with open_source(far) as source, pytest.raises(WorkbookRefused) as refused:
        assert source.engine == "openpyxl"
        list(source.rows("Sheet1"))
    assert "more than" in refused.value.translate("en")
    # An entity used without any DTD: calamine's parser knows no such entity and stops.
    undeclared = xlsx(tmp_path / "undeclared.xlsx", [["Code", "Name"]])
    replace_entry(undeclared, SHEET, lambda archive: archive.writestr(SHEET, BILLION_LAUGHS.split(b"]>")[1]))
    with open_source(undeclared) as source, pytest.raises(WorkbookRefused) as refused:
        assert source.engine == "calamine"
        list(source.rows("Sheet1"))
    assert refused.value.translate("en") == "The workbook declares XML entities, which are refused for safety."


def test_single_quoted_cell_references_go_to_openpyxl_and_an_apostrophe_in_text_does_not(tmp_path):
    """The far-cell scan reads r="…"; a sheet written with r='…' could hide a far cell from it."""
    quoted = xlsx(tmp_path / "quoted.xlsx", [["Code", "Name"]])
    replace_entry(quoted, SHEET, lambda archive: archive.writestr(SHEET, (
        "<worksheet xmlns='http://schemas.openxmlformats.org/spreadsheetml/2006/main'><sheetData>"
        "<row r='1'><c r='A1' t='inlineStr'><is><t>Code</t></is></c></row></sheetData></worksheet>")))
    with open_source(quoted) as source:
        assert source.engine == "openpyxl"
    apostrophe = xlsx(tmp_path / "apostrophe.xlsx", [["Code", "Name"], ["1", "Frais d'écriture !"]])
    with open_source(apostrophe) as source:
        assert source.engine == "calamine"
        assert list(source.rows("Sheet1"))[1] == (2, ("1", "Frais d'écriture !"))


def test_a_sheet_whose_size_was_asked_reads_the_same_rows(tmp_path):
    path = tmp_path / "two.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "One"
    workbook.active.append(["Code", "Name"])
    workbook.active.append(["1", "Bank"])
    workbook.create_sheet("Two").append(["Other", " ", None, ""])
    workbook.save(path)
    with open_source(path) as source:
        assert source.engine == "calamine"
        assert source.row_count_hint("One") == 2
        assert list(source.rows("One")) == [(1, ("Code", "Name")), (2, ("1", "Bank"))]
        assert list(source.rows("One")) == [(1, ("Code", "Name")), (2, ("1", "Bank"))]
        assert source.row_count_hint("Two") == 1
        assert list(source.rows("One"))[1] == (2, ("1", "Bank"))
        assert list(source.rows("Two")) == [(1, ("Other",))]
