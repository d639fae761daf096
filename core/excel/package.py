"""A streaming .xlsx writer for exports: sheet XML written as text, a handful of shared styles.

openpyxl's write-only mode builds a cell object and an XML element per value; an export of
100,000 journal lines spent most of its time there. Exports need little of OOXML: typed
cells (numbers, dates, booleans, inline strings), one style per number format, a bold
header, the quote-prefix style for text a spreadsheet would run as a formula, column widths,
a frozen header row and right-to-left sheets. This module writes exactly that, each sheet
streamed to a temporary file, then zipped. Everything else (templates with validations, the
annotated error workbook) still goes through openpyxl.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

EPOCH = dt.datetime(1899, 12, 30)
_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  '<Default Extension="xml" ContentType="application/xml"/>'
                  '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                  '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                  '{sheets}</Types>')
_SHEET_TYPE = ('<Override PartName="/xl/worksheets/sheet{n}.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
              'Target="xl/workbook.xml"/></Relationships>')
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class Styles:
    """The workbook's cell formats, shared: an index per (bold, quote prefix, number format)."""

    def __init__(self) -> None:
        self.formats: dict[str, int] = {}  # custom number format → its id (164 and up)
        self.xfs: dict[tuple[bool, bool, int], int] = {(False, False, 0): 0}

    def index(self, *, bold: bool = False, quote: bool = False, number_format: str | None = None) -> int:
        format_id = 0
        if number_format is not None:
            format_id = self.formats.setdefault(number_format, 164 + len(self.formats))
        return self.xfs.setdefault((bold, quote, format_id), len(self.xfs))

    def xml(self) -> str:
        formats = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>' for code, i in self.formats.items())
        xfs = []
        for bold, quote, format_id in self.xfs:
            attributes = f'numFmtId="{format_id}" fontId="{int(bold)}" fillId="0" borderId="0" xfId="0"'
            if format_id:
                attributes += ' applyNumberFormat="1"'
            if bold:
                attributes += ' applyFont="1"'
            if quote:
                attributes += ' quotePrefix="1"'
            xfs.append(f"<xf {attributes}/>")
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
                f'<numFmts count="{len(self.formats)}">{formats}</numFmts>'
                '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
                '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                '</styleSheet>')


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


class SheetWriter:
    """One sheet streamed to a temporary file; rows are lists of values already made safe:
    ``str`` (written as given, after XML escaping), ``Decimal``/``int``, ``bool``, dates, or
    ``Cell`` for a styled one. ``None`` is an empty cell."""

    def __init__(self, title: str, styles: Styles, *, widths: Sequence[float], right_to_left: bool = False) -> None:
        self.title = title
        self.styles = styles
        handle, name = tempfile.mkstemp(suffix=".xml", prefix="comptoir-sheet-")
        os.close(handle)
        self.path = Path(name)
        self._file = self.path.open("w", encoding="utf-8", newline="")
        self._letters = [column_letter(n) for n in range(1, len(widths) + 1)]
        self._row = 0
        cols = "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>' for n, w in enumerate(widths, start=1))
        view = ' rightToLeft="1"' if right_to_left else ""
        self._file.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" '
                         f'xmlns:r="{_RELS}"><sheetViews><sheetView workbookViewId="0"{view}>'
                         '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                         '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
                         f'<sheetFormatPr defaultRowHeight="15"/>{"<cols>" + cols + "</cols>" if cols else ""}'
                         '<sheetData>')

    def append(self, cells: Iterable[Any]) -> None:
        self._row += 1
        row = self._row
        parts = [f'<row r="{row}">']
        for letter, value in zip(self._letters, cells, strict=False):
            if value is None:
                continue
            parts.append(_cell(f"{letter}{row}", value, self.styles))
        parts.append("</row>")
        self._file.write("".join(parts))

    def close(self) -> None:
        self._file.write("</sheetData></worksheet>")
        self._file.close()


class Cell:
    """A value with a style: bold, quote-prefixed, or a number format."""

    __slots__ = ("value", "style")

    def __init__(self, value: Any, style: int) -> None:
        self.value = value
        self.style = style


def _cell(ref: str, value: Any, styles: Styles) -> str:
    style = 0
    if isinstance(value, Cell):
        value, style = value.value, value.style
    s = f' s="{style}"' if style else ""
    if isinstance(value, str):
        space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
        return f'<c r="{ref}" t="inlineStr"{s}><is><t{space}>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"{s}><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - EPOCH
        return f'<c r="{ref}"{s}><v>{delta.days + delta.seconds / 86400}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}"{s}><v>{(value - EPOCH.date()).days}</v></c>'
    if isinstance(value, Decimal):
        return f'<c r="{ref}"{s}><v>{value:f}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    raise TypeError(f"an export cell is never a {type(value).__name__}")


def save_package(path: Path, sheets: Sequence[SheetWriter], styles: Styles) -> Path:
    """Zip the sheets with the workbook parts into ``path``; the temporary sheet files go."""
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=4) as archive:
            archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(
                sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(sheets) + 1))))
            archive.writestr("_rels/.rels", _ROOT_RELS)
            entries = "".join(f'<sheet name={quoteattr(sheet.title)} sheetId="{n}" r:id="rId{n}"/>'
                              for n, sheet in enumerate(sheets, start=1))
            archive.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                             f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>{entries}</sheets></workbook>')
            relations = "".join(
                f'<Relationship Id="rId{n}" Type="{_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                for n in range(1, len(sheets) + 1))
            styles_id = len(sheets) + 1
            archive.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                             '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                             f'{relations}<Relationship Id="rId{styles_id}" Type="{_RELS}/styles" '
                             'Target="styles.xml"/></Relationships>')
            archive.writestr("xl/styles.xml", styles.xml())
            for n, sheet in enumerate(sheets, start=1):
                archive.write(sheet.path, f"xl/worksheets/sheet{n}.xml")
    finally:
        for sheet in sheets:
            sheet.path.unlink(missing_ok=True)
    return path
