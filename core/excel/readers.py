"""Untrusted files in, rows of cells out: .xlsx, .xls, .xlsb, .ods and .csv, within limits.

The kind of file is told from its bytes, never its name (a .xls renamed .xlsx is read as
.xls). Before any parser sees a zip, its entries are counted and their declared sizes and
compression ratios checked (Python's zipfile never inflates past a declared size, so the
check holds against a lying header). .xls, .xlsb and .ods go through python-calamine: a
Rust reader (memory-safe, several times faster than xlrd or odfpy, one well-kept dependency
for the three formats). CSV is decoded and sniffed here.

.xlsx goes through calamine too (five times faster than openpyxl's read-only mode) when the
file is plain: its XML parser (quick-xml) never reads a DTD, so a declared entity, internal
or external, is never expanded (a reference to one is an error: no billion laughs, no XXE),
and a scan of the sheets' XML makes sure no cell lies beyond the row and column limits
(calamine allocates a sheet's whole rectangle). Any file that declares a DTD, is not UTF-8,
or names a cell beyond the limits goes through openpyxl in read-only mode with defusedxml
active instead, which refuses entities and reads rows one by one within the limits.
"""
from __future__ import annotations

import csv
import enum
import io
import os
import re
import zipfile
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.i18n import N_

MB = 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# Files people send by mistake, named so the message says what was sent.
_OTHER_MAGICS = {
    b"\x89PNG\r\n\x1a\n": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
    b"%PDF": "a PDF document", b"\x1f\x8b": "a gzip archive", b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive", b"\x7fELF": "a program", b"MZ": "a program",
}
_CONTROL_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f]|005[Ff])_")
# Cell and row references in a sheet's XML: six digits and more (row 100000 on), two letters and more.
# Each starts with a literal, so that the regex engine skips to it quickly; an attribute in
# single quotes sends the file to openpyxl.
_FAR_ROW = re.compile(rb'r="[A-Z]*([0-9]{6,})')
_WIDE_COLUMN = re.compile(rb'r="([A-Z]{2,})[0-9]')


class WorkbookRefused(ValidationError):
    """The file cannot be imported at all (wrong kind, too large, hostile, damaged)."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid, **params)


@dataclass(frozen=True)
class Limits:
    """What an untrusted file may hold. ``from_environment`` reads ``COMPTOIR_IMPORT_*``."""

    max_bytes: int = 20 * MB
    max_rows: int = 200_000
    max_columns: int = 200
    max_uncompressed: int = 250 * MB
    max_ratio: int = 200  # uncompressed / compressed, for an entry over 1 MB
    max_entries: int = 5_000

    @classmethod
    def from_environment(cls) -> Limits:
        """``COMPTOIR_IMPORT_MAX_MB``, ``…_MAX_ROWS``, ``…_MAX_COLUMNS``, ``…_MAX_UNCOMPRESSED_MB``."""
        default = cls()
        return cls(
            max_bytes=int(float(os.environ.get("COMPTOIR_IMPORT_MAX_MB", default.max_bytes / MB)) * MB),
            max_rows=int(os.environ.get("COMPTOIR_IMPORT_MAX_ROWS", default.max_rows)),
            max_columns=int(os.environ.get("COMPTOIR_IMPORT_MAX_COLUMNS", default.max_columns)),
            max_uncompressed=int(float(os.environ.get("COMPTOIR_IMPORT_MAX_UNCOMPRESSED_MB",
                                                      default.max_uncompressed / MB)) * MB),
        )


class FileKind(enum.StrEnum):
    XLSX = "xlsx"
    XLSB = "xlsb"
    XLS = "xls"
    ODS = "ods"
    CSV = "csv"


@dataclass
class Table:
    """One sheet read whole: its header row and its data rows with their row numbers."""

    sheet: str
    header_row: int
    headers: tuple[Any, ...]
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)


def _size(size: int) -> str:
    """``20 MB``, ``1.5 MB``, ``900 KB``, ``12 bytes``."""
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


# --- telling the kind of file -----------------------------------------------------------------

def sniff(path: Path, limits: Limits) -> FileKind:
    """The real kind of ``path``, after the size and archive checks; refuses anything else."""
    size = path.stat().st_size
    if size == 0:
        raise WorkbookRefused(N_("The file is empty."))
    if size > limits.max_bytes:
        raise WorkbookRefused(N_("The file is %(size)s; the limit is %(limit)s."),
                              size=_size(size), limit=_size(limits.max_bytes))
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(ZIP_MAGICS):
        return _zip_kind(path, limits)
    if head.startswith(OLE_MAGIC):
        with path.open("rb") as handle:
            if _ENCRYPTED_PACKAGE in handle.read():
                raise WorkbookRefused(N_("The workbook is protected by a password: remove the password and send it again."))
        return FileKind.XLS
    for magic, kind in _OTHER_MAGICS.items():
        if head.startswith(magic):
            raise WorkbookRefused(N_("This is not a spreadsheet (it looks like %(kind)s). Send an .xlsx, .xls, .ods or .csv file."),
                                  kind=kind)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return FileKind.CSV  # UTF-16 text, as Excel's "Unicode text" saves it
    if b"\x00" in head:
        raise WorkbookRefused(N_("This is not a spreadsheet. Send an .xlsx, .xls, .ods or .csv file."))
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<?xml", b"<html", b"<!doctype", b"<table", b"<workbook")):
        raise WorkbookRefused(N_("This is an HTML or XML file with a spreadsheet's name; open it and save it as .xlsx."))
    return FileKind.CSV


def _zip_kind(path: Path, limits: Limits) -> FileKind:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            _check_archive(entries, limits)
            names = {entry.filename for entry in entries}
            if "xl/workbook.xml" in names:
                return FileKind.XLSX
            if "xl/workbook.bin" in names:
                return FileKind.XLSB
            if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                # calamine reads this one: make sure no entry inflates past its declared size.
                if archive.testzip() is not None:
                    raise WorkbookRefused(N_("The workbook is damaged (%(reason)s)."), reason="CRC")
                return FileKind.ODS
    except zipfile.BadZipFile as error:
        raise WorkbookRefused(N_("The workbook is damaged (%(reason)s)."), reason=str(error)) from None
    except (OSError, EOFError, NotImplementedError) as error:
        raise WorkbookRefused(N_("The workbook is damaged (%(reason)s)."), reason=str(error)) from None
    if any(name.startswith("word/") for name in names):
        raise WorkbookRefused(N_("This is not a spreadsheet (it looks like %(kind)s). Send an .xlsx, .xls, .ods or .csv file."),
                              kind="a Word document")
    raise WorkbookRefused(N_("The file is a zip archive but not a workbook."))


def _check_archive(entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(entries) > limits.max_entries:
        raise WorkbookRefused(N_("The archive holds %(count)s files; a workbook holds far fewer."), count=len(entries))
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > MB and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            raise WorkbookRefused(
                N_("The workbook is compressed suspiciously well (%(ratio)s to 1): it looks like a zip bomb and is refused."),
                ratio=entry.file_size // max(entry.compress_size, 1))
    if total > limits.max_uncompressed:
        raise WorkbookRefused(N_("The workbook unpacks to %(size)s; the limit is %(limit)s."),
                              size=_size(total), limit=_size(limits.max_uncompressed))


# --- reading ----------------------------------------------------------------------------------------

class Source:
    """An opened, checked file: its sheets and, per sheet, its non-empty rows.

    Use as a context manager. ``rows(sheet)`` yields ``(row number, cells)`` with trailing
    empty cells dropped and empty cells as ``None``; it refuses a sheet over the limits as it
    goes, without reading the rest.
    """

    def __init__(self, path: Path, kind: FileKind, limits: Limits) -> None:
        self.path = path
        self.kind = kind
        self.limits = limits
        self._workbook: Any = None
        self._sheet: tuple[str, Any] | None = None  # calamine's last sheet, by name
        self._csv: str | None = None
        # Which parser reads an .xlsx: calamine when the file is plain, else openpyxl.
        self.engine = "calamine" if kind is not FileKind.XLSX or self._plain_xlsx() else "openpyxl"

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sheet = None
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None

    def _plain_xlsx(self) -> bool:
        """Whether calamine may read this .xlsx (see the module's docstring): no DTD, UTF-8,
        no cell beyond the limits. The archive's sizes are checked already."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                for entry in archive.infolist():
                    if entry.filename.endswith((".xml", ".rels")) and not self._plain_part(archive, entry):
                        return False
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib.error):
            return False  # openpyxl says what is wrong
        return True

    def _plain_part(self, archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bool:
        """One XML part, read by megabytes (a chunk overlaps the previous one's end, so that
        nothing is missed at a boundary)."""
        sheet = entry.filename.startswith("xl/worksheets/")
        last_row = 2 * self.limits.max_rows + 1
        tail = b""
        with archive.open(entry) as handle:
            first = True
            while chunk := handle.read(MB):
                if first and chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                    return False  # UTF-16: left to defusedxml
                first = False
                data = tail + chunk
                # A one-byte search is a memchr, many times faster than the longer ones it spares.
                if (b"!" in data and (b"<!DOCTYPE" in data or b"<!doctype" in data)) \
                        or (sheet and b"'" in data and b"r='" in data):
                    return False
                if sheet and (any(int(number) > last_row for number in _FAR_ROW.findall(data))
                              or any(_column_number(letters) > self.limits.max_columns
                                     for letters in set(_WIDE_COLUMN.findall(data)))):
                    return False
                tail = data[-64:]
        return True

    @property
    def sheet_names(self) -> list[str]:
        if self.kind is FileKind.CSV:
            return [self.path.stem]
        return list(self._open().sheetnames if self.engine == "openpyxl" else self._open().sheet_names)

    def row_count_hint(self, sheet: str) -> int | None:
        """The sheet's number of rows when the file says it (for a progress bar)."""
        if self.kind is FileKind.CSV:
            return self._csv_text().count("\n") + 1
        if self.engine == "openpyxl":
            return _guarded(lambda: self._open()[sheet].max_row)
        return _guarded(lambda: self._calamine_sheet(sheet).height)

    def rows(self, sheet: str) -> Generator[tuple[int, tuple[Any, ...]], None, None]:
        if sheet not in self.sheet_names:
            raise WorkbookRefused(N_("There is no sheet named %(sheet)s."), sheet=sheet)
        if self.kind is FileKind.CSV:
            source: Iterator[tuple[int, Sequence[Any]]] = self._csv_rows()
        elif self.engine == "openpyxl":
            source = self._xlsx_rows(sheet)
        else:
            source = self._calamine_rows(sheet)
        count = 0
        for number, cells in source:
            trimmed = _trim(cells)
            if not trimmed:
                continue
            if len(trimmed) > self.limits.max_columns:
                raise WorkbookRefused(N_("Row %(row)s has more than %(limit)s columns."),
                                      row=number, limit=self.limits.max_columns)
            count += 1
            if count > self.limits.max_rows + 1:  # the header row does not count
                raise WorkbookRefused(N_("The sheet %(sheet)s has more than %(limit)s rows; split the file."),
                                      sheet=sheet, limit=self.limits.max_rows)
            yield number, trimmed

    # xlsx, through openpyxl (defusedxml active)

    def _open(self) -> Any:
        if self._workbook is None:
            if self.engine == "openpyxl":
                import openpyxl
                from openpyxl import xml

                # openpyxl parses with defusedxml whenever it is installed; make sure.
                if not xml.DEFUSEDXML:
                    raise RuntimeError("defusedxml must be installed and OPENPYXL_DEFUSEDXML not disabled")
                self._workbook = _guarded(lambda: openpyxl.load_workbook(
                    self.path, read_only=True, data_only=True, keep_links=False))
            else:
                from python_calamine import CalamineWorkbook

                # From the bytes, not the path: calamine would trust the file's extension.
                with self.path.open("rb") as handle:
                    self._workbook = _guarded(lambda: CalamineWorkbook.from_filelike(handle))
        return self._workbook

    def _calamine_sheet(self, sheet: str) -> Any:
        """The sheet as calamine reads it whole (most of calamine's work), kept until another
        sheet is read or the file closed: asking its size or its header row, then reading its
        rows, reads it once."""
        if self._sheet is None or self._sheet[0] != sheet:
            self._sheet = (sheet, self._open().get_sheet_by_name(sheet))
        return self._sheet[1]

    def _xlsx_rows(self, sheet: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
        worksheet = self._open()[sheet]
        # The size the sheet declares (Excel and LibreOffice always write it): far too many
        # rows is refused before reading any. Near the limit, the rows are counted, since a
        # declared size also covers empty cells that only carry formatting.
        declared = _guarded(lambda: worksheet.max_row)
        if declared is not None and declared > 2 * self.limits.max_rows + 1:
            raise WorkbookRefused(N_("The sheet %(sheet)s has more than %(limit)s rows; split the file."),
                                  sheet=sheet, limit=self.limits.max_rows)
        rows = _guarded(lambda: worksheet.iter_rows(values_only=True))
        number = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001 - every parser failure becomes one message
                _refuse(error)
            number += 1  # read-only mode yields every row from the first, empty ones included
            yield number, tuple(_unescape(value) for value in cells)

    def _calamine_rows(self, sheet: str) -> Iterator[tuple[int, Sequence[Any]]]:
        # Rows one by one from the sheet calamine holds (compact), not a list of them all. As
        # python-calamine 0.9 yields them, they start at the first row but at the first used
        # column, ``start`` (row, column, from 0). A test pins the row numbers.
        found = _guarded(lambda: self._calamine_sheet(sheet))
        data = _guarded(found.iter_rows)
        number = 0
        blank = (None,) * (found.start or (0, 0))[1]
        while True:
            try:
                cells = next(data)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001 - every parser failure becomes one message
                _refuse(error)
            number += 1
            yield number, (blank + tuple(cells) if blank else cells)  # rows() makes "" None

    # csv

    def _csv_text(self) -> str:
        if self._csv is None:
            self._csv = _decode(self.path.read_bytes())
        return self._csv

    def _csv_rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        text = self._csv_text()
        sample = text[:65536]
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=";,\t|")
        except csv.Error:
            first = sample.splitlines()[0] if sample else ""
            delimiter = max(";,\t|", key=first.count)
            dialect = type("Sniffed", (csv.excel,), {"delimiter": delimiter if first.count(delimiter) else ","})
        try:
            # A record is a row of the spreadsheet it came from, even when a quoted cell
            # spans several lines.
            for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), dialect), start=1):
                yield number, tuple(cells)
        except csv.Error as error:
            raise WorkbookRefused(N_("The file cannot be read: %(reason)s"), reason=str(error)) from None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 (Excel's "CSV" on Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _trim(cells: Sequence[Any]) -> tuple[Any, ...]:
    cleaned = [c if c.__class__ is not str or c.strip() else None for c in cells]  # the readers give plain str
    while cleaned and cleaned[-1] is None:
        cleaned.pop()
    return tuple(cleaned)


def _unescape(value: Any) -> Any:
    """OOXML writes control characters as ``_x000D_`` (and a literal ``_x`` as ``_x005F_x``);
    openpyxl leaves them escaped."""
    if isinstance(value, str) and "_x" in value:
        return _CONTROL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return value


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _refuse(error: BaseException) -> None:
    """Turn a parser's failure into one clear message (entities first: they are an attack)."""
    from defusedxml import DefusedXmlException

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DefusedXmlException) or "entity" in str(cause).lower():
            raise WorkbookRefused(N_("The workbook declares XML entities, which are refused for safety.")) from None
        if isinstance(cause, WorkbookRefused):
            raise cause
        cause = cause.__cause__ or cause.__context__
    if type(error).__name__ == "PasswordError":
        raise WorkbookRefused(N_("The workbook is protected by a password: remove the password and send it again."))
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise WorkbookRefused(N_("The workbook is damaged (%(reason)s)."), reason=reason) from None


def _guarded(call: Any) -> Any:
    try:
        return call()
    except WorkbookRefused:
        raise
    except MemoryError:
        raise WorkbookRefused(N_("The workbook is too large to read.")) from None
    except Exception as error:  # noqa: BLE001 - every parser failure becomes one message
        _refuse(error)


def open_source(path: str | os.PathLike[str], limits: Limits | None = None) -> Source:
    """Check ``path`` (size, kind, archive) and open it for reading."""
    path = Path(path)
    if not path.is_file():
        raise WorkbookRefused(N_("There is no file %(path)s."), path=str(path))
    limits = limits or Limits.from_environment()
    return Source(path, sniff(path, limits), limits)


def read_table(path: str | os.PathLike[str], *, sheet: str | None = None, limits: Limits | None = None) -> Table:
    """One sheet (the first when ``sheet`` is None) read whole: header row, data rows."""
    with open_source(path, limits) as source:
        name = sheet or source.sheet_names[0]
        rows = source.rows(name)
        first = next(rows, None)
        if first is None:
            raise WorkbookRefused(N_("The sheet %(sheet)s is empty."), sheet=name)
        return Table(name, first[0], first[1], list(rows))
