"""Workbooks out: exports of every list, empty templates to fill, typed and formula-safe cells.

Exports stream through ``core.excel.package`` (sheet XML written as text, shared styles);
templates through openpyxl. Cells carry real types: dates as dates,
amounts as numbers with as many decimals as they have, booleans as booleans. Text is
always a string cell: text a spreadsheet would run as a formula (``= + - @``, a tab or a
carriage return first) gets the quote-prefix style, so it shows and edits as the same
text, and it reads back unchanged.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.excel.package import Cell, SheetWriter, Styles, save_package
from core.excel.schema import Column, ColumnType, Schema, dependency_order
from core.i18n import N_, is_rtl, normalize_locale, translate

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_WIDTH = 60
WIDTH_SAMPLE = 200  # rows looked at to size the columns
TEMPLATE_ROWS = 5000  # rows a template's drop-down lists cover
HEADER_FONT = Font(bold=True)
# OOXML escapes control characters as _xHHHH_ (Excel reads them so); a literal "_x000D_"
# is written "_x005F_x000D_" so that it is not read back as a carriage return.
_LITERAL_ESCAPE = re.compile(r"_x(?=(?:00[01][0-9A-Fa-f]|005[Ff])_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")


def escape_text(text: str) -> str:
    """Text as OOXML stores it, so that every character (a carriage return too) comes back."""
    text = _LITERAL_ESCAPE.sub("_x005F_x", text)
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def text_cell(sheet: Any, text: str, **style: Any) -> WriteOnlyCell:
    """A string cell, never a formula, whatever the text starts with."""
    cell = WriteOnlyCell(sheet, escape_text(text))
    cell.data_type = "s"
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def number_format(value: Decimal) -> str:
    """``#,##0.00`` for an amount with two decimals, ``#,##0`` for none, ``#,##0.000`` for three."""
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "#,##0" + ("." + "0" * places if places else "")


def typed_cell(sheet: Any, value: Any, column: Column | None = None) -> Any:
    """The cell for ``value``: a date, a number with its format, a boolean or safe text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = number_format(value)
        return cell
    if isinstance(value, int):
        if column is not None and column.type in (ColumnType.TEXT, ColumnType.CODE):
            return text_cell(sheet, str(value))
        return value
    if isinstance(value, float):
        raise TypeError("exports write Decimals, never floats")
    return text_cell(sheet, str(value))


def sheet_title(text: str, taken: Iterable[str] = ()) -> str:
    """A valid, unused sheet title (31 characters, none of ``[]:*?/\\``)."""
    base = _SHEET_TITLE.sub(" ", text).strip()[:31] or "Sheet"
    used = {t.casefold() for t in taken}
    title, number = base, 2
    while title.casefold() in used:
        suffix = f" ({number})"
        title, number = base[:31 - len(suffix)] + suffix, number + 1
    return title


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, Decimal):
        return len(f"{value:,}") + 1
    return max((len(line) for line in str(value).splitlines()), default=0)


def write_sheet(title: str, columns: Sequence[Column], records: Iterable[Mapping[str, Any]], locale: str,
                styles: Styles, taken: Iterable[str] = ()) -> SheetWriter:
    """One streamed sheet: bold frozen header, widths from the first rows, typed cells."""
    rows = iter(records)
    sample = list(islice(rows, WIDTH_SAMPLE))
    headers = [translate(c.label, locale) for c in columns]
    widths = [min(column.width or max([len(header) + 2, *(_display_width(r.get(column.key)) + 2 for r in sample)]),
                  MAX_WIDTH) for column, header in zip(columns, headers, strict=True)]
    sheet = SheetWriter(sheet_title(title, taken), styles, widths=widths, right_to_left=is_rtl(locale))
    sheet.append([Cell(escape_text(h), styles.index(bold=True, quote=h.startswith(FORMULA_TRIGGERS))) for h in headers])
    value_of = _export_values(columns, styles)
    keys = [c.key for c in columns]
    for record in chain(sample, rows):
        sheet.append([value_of[i](record.get(key)) for i, key in enumerate(keys)])
    sheet.close()
    return sheet


def _export_values(columns: Sequence[Column], styles: Styles) -> list[Any]:
    """Per column, what a record's value becomes in the sheet (see ``typed_cell``)."""
    quote = styles.index(quote=True)
    date_style = styles.index(number_format=DATE_FORMAT)
    datetime_style = styles.index(number_format=DATETIME_FORMAT)
    amount_styles: dict[str, int] = {}

    def text(value: str) -> Any:
        return Cell(escape_text(value), quote) if value.startswith(FORMULA_TRIGGERS) else escape_text(value)

    def convert(value: Any, as_text: bool) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return text(value)
        if isinstance(value, Decimal):
            code = number_format(value)
            style = amount_styles.get(code)
            if style is None:
                style = amount_styles[code] = styles.index(number_format=code)
            return Cell(value, style)
        if isinstance(value, dt.datetime):
            return Cell(value, datetime_style)
        if isinstance(value, dt.date):
            return Cell(value, date_style)
        if isinstance(value, int):
            return text(str(value)) if as_text else value
        if isinstance(value, float):
            raise TypeError("exports write Decimals, never floats")
        return text(str(value))

    return [lambda value, as_text=c.type in (ColumnType.TEXT, ColumnType.CODE): convert(value, as_text)
            for c in columns]


def xlsx_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if it names an .xlsx workbook; a clear error otherwise."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValidationError(N_("Exports are .xlsx workbooks; name the file %(name)s."),
                              name=path.with_suffix(".xlsx").name)
    return path


def export_records(path: str | os.PathLike[str], title: str, columns: Sequence[Column],
                   records: Iterable[Mapping[str, Any]], locale: str | None = None) -> Path:
    """One sheet of typed ``records`` (a report, say) as an .xlsx workbook at ``path``."""
    locale = normalize_locale(locale)
    path = xlsx_path(path)
    styles = Styles()
    sheet = write_sheet(title, columns, records, locale, styles)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_package(path, [sheet], styles)


def export_workbook(session: Session, path: str | os.PathLike[str], schemas: Sequence[Schema], *,
                    locale: str | None = None) -> Path:
    """Write each schema's records to a sheet of one .xlsx at ``path``; returns the path."""
    locale = normalize_locale(locale)
    path = xlsx_path(path)
    exportable = [s for s in schemas if s.export is not None]
    if not exportable:
        raise ValidationError(N_("There is nothing to export: %(schemas)s can only be imported."),
                              schemas=", ".join(s.name for s in schemas) or "-")
    styles = Styles()
    sheets: list[SheetWriter] = []
    try:
        for schema in dependency_order(exportable):
            assert schema.export is not None
            sheets.append(write_sheet(translate(schema.sheet, locale), schema.columns, schema.export(session), locale,
                                      styles, [s.title for s in sheets]))
    except BaseException:
        for sheet in sheets:
            sheet.path.unlink(missing_ok=True)
        raise
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_package(path, sheets, styles)


def _typed_validation(column: Column, locale: str) -> DataValidation | None:
    """What a spreadsheet can check as the user types: a date, a number, a whole number, yes or no."""
    blank = not column.required
    if column.type is ColumnType.DATE:
        validation = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=blank)
        validation.error = translate(N_("Type a date."), locale)
    elif column.type is ColumnType.DECIMAL:
        validation = DataValidation(type="decimal", operator="between", formula1="-1E+15", formula2="1E+15",
                                    allow_blank=blank)
        validation.error = translate(N_("Type a number."), locale)
    elif column.type is ColumnType.INTEGER:
        validation = DataValidation(type="whole", operator="between", formula1="-1000000000", formula2="1000000000",
                                    allow_blank=blank)
        validation.error = translate(N_("Type a whole number."), locale)
    else:  # text, codes; yes-or-no cells read many spellings (oui, 1, ✓…), so no list
        return None
    return validation


def template_workbook(schema: Schema, locale: str | None = None, path: str | os.PathLike[str] | None = None) -> Path:
    """An empty workbook to fill for ``schema``: translated headers (required ones bold, with a
    comment), one example row, and a drop-down list on every choice column."""
    locale = normalize_locale(locale)
    if path is None:
        handle, name = tempfile.mkstemp(prefix=f"{schema.name}-", suffix=".xlsx")
        os.close(handle)
        path = name
    path = Path(path)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(translate(schema.sheet, locale))
    if is_rtl(locale):
        sheet.sheet_view.rightToLeft = True
    lists = None
    for index, column in enumerate(schema.columns, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index, value=translate(column.label, locale))
        if column.required:
            header.font = HEADER_FONT
            header.comment = Comment(translate(N_("Required."), locale), "Comptoir")
        if column.example is not None:
            example = sheet.cell(row=2, column=index, value=column.example)
            if isinstance(column.example, dt.date):
                example.number_format = DATE_FORMAT
            elif isinstance(column.example, Decimal):
                example.number_format = number_format(column.example)
            elif isinstance(column.example, str) and column.example.startswith(FORMULA_TRIGGERS):
                example.data_type, example.quotePrefix = "s", True
        sheet.column_dimensions[letter].width = min(MAX_WIDTH, max(len(str(header.value)) + 4, 12))
        if column.type is ColumnType.CHOICE:
            values = [c.value for c in column.choices]
            formula = '"' + ",".join(values) + '"'
            if len(formula) > 255:  # Excel's limit for an inline list: use a hidden sheet
                if lists is None:
                    lists = workbook.create_sheet("Lists")
                    lists.sheet_state = "hidden"
                target = lists.max_column + 1 if lists.max_row > 1 or lists["A1"].value else 1
                for row, value in enumerate(values, start=1):
                    lists.cell(row=row, column=target, value=value)
                column_letter = get_column_letter(target)
                formula = f"Lists!${column_letter}$1:${column_letter}${len(values)}"
            validation = DataValidation(type="list", formula1=formula, allow_blank=not column.required)
            validation.error = translate(N_("Choose a value from the list."), locale)
        else:
            validation = _typed_validation(column, locale)
        if validation is not None:
            validation.showErrorMessage = True
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
    sheet.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
