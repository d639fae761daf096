"""The one Excel framework: plugins register schemas; files are read, checked, written here.

Import is two-phase (check everything, then write everything, or nothing and an annotated
workbook back); exports and templates are typed, formula-safe .xlsx. See DESIGN.md §7.
"""
from __future__ import annotations

from core.excel.importer import ImportFailed, ImportProblem, ImportReport, SheetReport, import_file
from core.excel.readers import FileKind, Limits, WorkbookRefused, open_source, read_table
from core.excel.schema import (
    Choice,
    Column,
    ColumnType,
    ImportContext,
    ImportCounts,
    Record,
    Row,
    Schema,
    get_schema,
    registered_schemas,
    schemas,
)
from core.excel.writer import export_workbook, template_workbook

__all__ = [
    "Choice", "Column", "ColumnType", "FileKind", "ImportContext", "ImportCounts", "ImportFailed", "ImportProblem",
    "ImportReport", "Limits", "Record", "Row", "Schema", "SheetReport", "WorkbookRefused", "export_workbook",
    "get_schema", "import_file", "open_source", "read_table", "registered_schemas", "schemas", "template_workbook",
]
