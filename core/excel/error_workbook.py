"""The one error workbook: the user's own sheets with every bad cell filled red and commented,
and an ``Errors`` sheet listing row, column, value and reason in the user's language.

An .xlsx comes back as itself (formatting kept). A CSV, .xls or .ods, or a very large .xlsx,
comes back as a new .xlsx holding the same cells at the same places.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from core.excel.readers import FileKind, Source
from core.excel.writer import FORMULA_TRIGGERS, HEADER_FONT, escape_text, sheet_title, text_cell
from core.i18n import N_, is_rtl, translate

if TYPE_CHECKING:  # pragma: no cover
    from core.excel.importer import ImportProblem, ParsedSheet

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
AUTHOR = "Comptoir"
IN_PLACE_MAX_ROWS = 50_000  # larger workbooks are rebuilt in write-only mode instead of loaded whole


def _marks(sheet: ParsedSheet, locale: str) -> dict[tuple[int, int], list[str]]:
    """Reasons per (row, 0-based column); a problem without a column marks the row's first cell."""
    marks: dict[tuple[int, int], list[str]] = defaultdict(list)
    for problem in sheet.problems:
        if problem.row is None:
            continue
        column = problem.column_index if problem.column_index is not None else 0
        marks[(problem.row, column)].append(problem.reason(locale))
    return marks


def _comment(reasons: list[str]) -> Comment:
    text = "\n".join(dict.fromkeys(reasons))
    comment = Comment(text, AUTHOR)
    comment.width = 320
    comment.height = 40 + 18 * (text.count("\n") + 1 + len(text) // 45)
    return comment


def write_error_workbook(source: Source, parsed: Sequence[ParsedSheet], locale: str, target: Path) -> Path:
    """Write the annotated workbook to ``target``; returns it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = sum(len(sheet.rows) for sheet in parsed)
    if source.kind is FileKind.XLSX and rows <= IN_PLACE_MAX_ROWS:
        try:
            return _annotate_in_place(source.path, parsed, locale, target)
        except Exception:  # noqa: BLE001 - a workbook openpyxl cannot rewrite is rebuilt instead
            pass
    return _rebuild(source, parsed, locale, target)


def _annotate_in_place(path: Path, parsed: Sequence[ParsedSheet], locale: str, target: Path) -> Path:
    workbook = openpyxl.load_workbook(path)  # full mode keeps the user's styles; defusedxml still parses
    for sheet in parsed:
        worksheet = workbook[sheet.title]
        for (row, column), reasons in _marks(sheet, locale).items():
            cell = worksheet.cell(row=row, column=column + 1)
            cell.fill = ERROR_FILL
            cell.comment = _comment(reasons)
    _errors_sheet(workbook.create_sheet(sheet_title(translate(N_("Errors"), locale), workbook.sheetnames)),
                  parsed, locale, write_only=False)
    workbook.active = len(workbook.sheetnames) - 1
    workbook.save(target)
    return target


def _rebuild(source: Source, parsed: Sequence[ParsedSheet], locale: str, target: Path) -> Path:
    workbook = openpyxl.Workbook(write_only=True)
    with Source(source.path, source.kind, source.limits) as again:
        for sheet in parsed:
            worksheet = workbook.create_sheet(sheet_title(sheet.title, workbook.sheetnames))
            marks = _marks(sheet, locale)
            written = 0
            for number, cells in again.rows(sheet.title):
                while written < number - 1:
                    worksheet.append([])
                    written += 1
                width = max([len(cells), *(c + 1 for (r, c) in marks if r == number)]) if marks else len(cells)
                row = []
                for index in range(width):
                    value = cells[index] if index < len(cells) else None
                    cell = _plain_cell(worksheet, value)
                    if (number, index) in marks:
                        cell.fill = ERROR_FILL
                        cell.comment = _comment(marks[(number, index)])
                    row.append(cell)
                worksheet.append(row)
                written += 1
    _errors_sheet(workbook.create_sheet(sheet_title(translate(N_("Errors"), locale), workbook.sheetnames)),
                  parsed, locale, write_only=True)
    workbook.save(target)
    return target


def _plain_cell(worksheet: Any, value: Any) -> WriteOnlyCell:
    if isinstance(value, str):
        return text_cell(worksheet, value)
    return WriteOnlyCell(worksheet, value)


def _errors_sheet(worksheet: Any, parsed: Sequence[ParsedSheet], locale: str, *, write_only: bool) -> None:
    with_sheet = len(parsed) > 1
    headers = [N_("Sheet")] if with_sheet else []
    headers += [N_("Row"), N_("Column"), N_("Value"), N_("Reason")]
    widths = ([24] if with_sheet else []) + [8, 24, 30, 90]
    for index, width in enumerate(widths):
        worksheet.column_dimensions[chr(ord("A") + index)].width = width
    worksheet.freeze_panes = "A2"
    if is_rtl(locale):
        worksheet.sheet_view.rightToLeft = True
    problems: list[ImportProblem] = [p for sheet in parsed for p in sheet.problems]
    problems.sort(key=lambda p: (p.sheet, p.row or 0, p.column_index if p.column_index is not None else -1))

    table = [[translate(h, locale) for h in headers]]
    for problem in problems:
        values: list[Any] = [problem.sheet] if with_sheet else []
        values += [problem.row, problem.column or "", "" if problem.value is None else str(problem.value),
                   problem.reason(locale)]
        table.append(values)
    last = len(headers) - 1
    for number, values in enumerate(table):
        font = HEADER_FONT if number == 0 else None
        if write_only:
            worksheet.append([text_cell(worksheet, v, font=font or (ERROR_FONT if i == last else Font()))
                              if isinstance(v, str) else v for i, v in enumerate(values)])
            continue
        for index, value in enumerate(values):
            cell = worksheet.cell(row=number + 1, column=index + 1)
            if isinstance(value, str):
                cell.value = escape_text(value)
                cell.data_type = "s"  # never a formula, whatever the user's cell held
                cell.quotePrefix = value.startswith(FORMULA_TRIGGERS)
            else:
                cell.value = value
            cell.font = font or (ERROR_FONT if index == last else Font())
