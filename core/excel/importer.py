"""Two-phase import: read and check every row of every sheet, writing nothing; then write all.

Any problem, in any row, and nothing is written: :class:`ImportFailed` lists every problem
(sheet, row, column, value, reason) and points to the user's workbook annotated with them.
The writing phase runs in a savepoint of the caller's transaction, so a dry run is the real
import rolled back: its counts are exactly what an import would do.
"""
from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core import audit
from core.errors import ComptoirError, FieldError, ValidationError
from core.excel.parsing import NotParsed, RowParser, match_headers, normalize_header, parse_cell, text_of
from core.excel.readers import Limits, Source, WorkbookRefused, open_source
from core.excel.schema import (
    ImportContext,
    ImportCounts,
    Record,
    Row,
    Schema,
    dependency_order,
    get_schema,
    schemas,
)
from core.i18n import N_, SUPPORTED_LOCALES, normalize_locale, translate


class Progress(Protocol):
    """Told how far reading has gone, and when writing starts (the CLI draws a progress bar)."""

    def start(self, sheet: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...

    def writing(self, sheet: str) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class ImportProblem:
    """One problem, where the user will find it: sheet, row, column (as headed in the file)."""

    sheet: str
    row: int | None
    column: str | None
    column_index: int | None  # 0-based position in the sheet, when the column is there
    value: Any
    error: FieldError

    def reason(self, locale: str | None = None) -> str:
        return self.error.translate(locale)

    def describe(self, locale: str | None = None, *, with_sheet: bool = False) -> str:
        params = {"sheet": self.sheet, "row": self.row, "column": self.column, "reason": self.reason(locale)}
        if self.row is not None and self.column:
            msgid = N_("%(sheet)s, row %(row)s, %(column)s: %(reason)s") if with_sheet \
                else N_("Row %(row)s, %(column)s: %(reason)s")
        elif self.row is not None:
            msgid = N_("%(sheet)s, row %(row)s: %(reason)s") if with_sheet else N_("Row %(row)s: %(reason)s")
        elif with_sheet:
            msgid = N_("%(sheet)s: %(reason)s")
        else:
            return self.reason(locale)
        return translate(msgid, locale, **params)


class ImportFailed(ValidationError):
    """Nothing was imported. ``problems`` lists every one; ``workbook`` is the annotated copy."""

    def __init__(self, problems: Sequence[ImportProblem], workbook: Path | None) -> None:
        self.problems = list(problems)
        self.workbook = workbook
        super().__init__([p.error for p in problems])

    def translate(self, locale: str | None = None) -> str:
        return translate(N_("The file has %(count)s problems; nothing was imported."), locale,
                         count=len(self.problems))


@dataclass(frozen=True)
class SheetReport:
    sheet: str
    schema: str
    rows: int
    counts: ImportCounts
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    path: Path
    dry_run: bool
    sheets: tuple[SheetReport, ...]
    ignored_sheets: tuple[str, ...] = ()  # titles no schema of the organization matched

    @property
    def counts(self) -> ImportCounts:
        total = ImportCounts()
        for sheet in self.sheets:
            total = total + sheet.counts
        return total


@dataclass
class ParsedSheet:
    """A sheet after the first phase: its rows typed, grouped into records, its problems."""

    title: str
    schema: Schema
    header_row: int
    positions: dict[str, int]  # column key → index in the sheet
    headers: dict[str, str]  # column key → header as written in the file
    ignored: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    clean: list[Record] = field(default_factory=list)  # records none of whose rows has a problem
    problems: list[ImportProblem] = field(default_factory=list)

    def problem(self, error: FieldError, value: Any = None) -> ImportProblem:
        index = self.positions.get(error.field) if error.field else None
        column = None
        if error.field is not None and error.field in {c.key for c in self.schema.columns}:
            column = self.headers.get(error.field) or translate(self.schema.column(error.field).label, self.locale)
        if value is None:
            value = error.params.get("value")
        if value is None and error.row is not None and error.field:
            row = self.by_number.get(error.row)
            value = row[error.field] if row is not None else None
        found = ImportProblem(self.title, error.row, column, index, None if value is None else text_of(value), error)
        self.problems.append(found)
        return found

    locale: str = "en"
    by_number: dict[int, Row] = field(default_factory=dict)


def default_errors_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.xlsx")


# --- the import ---------------------------------------------------------------------------------

def import_file(session: Session, path: str | os.PathLike[str], *, schema: str | None = None,
                locale: str | None = None, dry_run: bool = False, update: bool = False,
                options: Mapping[str, Any] | None = None, limits: Limits | None = None,
                errors_path: str | os.PathLike[str] | None = None, progress: Progress | None = None,
                actor: Any = None) -> ImportReport:
    """Import ``path`` into the session's organization, in the caller's transaction.

    ``schema`` names what the file holds; without it, each sheet is matched to a schema
    by its title, or a lone sheet by its headers. ``locale`` is the user's: it reads their
    numbers and dates and translates the problems. ``update`` changes existing records
    (matched by natural key) instead of leaving them; ``dry_run`` reports the counts and
    writes nothing. ``options`` fill columns declared with ``Column.option`` (``date``).
    Raises :class:`ImportFailed` (nothing written) or
    :class:`~core.excel.readers.WorkbookRefused` (the file itself is refused).
    """
    with _earlier_objects_frozen():
        return _import_file(session, Path(path), schema, locale, dry_run, update, options, limits, errors_path,
                            progress, actor)


@contextmanager
def _earlier_objects_frozen() -> Iterator[None]:
    """Leave the objects the process held before the import out of the collector's full
    passes until it ends.

    The rows an import keeps (records, then the ledger's batches) set off several full
    collections, and each walks every object of the process (modules, the ORM, the app):
    three quarters of the collector's time, for nothing, since the import adds no garbage
    to them. Frozen (``gc.freeze``), they are skipped; afterwards they go back to the oldest
    generation, as collectable as before. A process that froze objects itself (a server
    before forking) keeps its freeze: nothing is done then.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _import_file(session: Session, path: Path, schema: str | None, locale: str | None, dry_run: bool, update: bool,
                 options: Mapping[str, Any] | None, limits: Limits | None,
                 errors_path: str | os.PathLike[str] | None, progress: Progress | None, actor: Any) -> ImportReport:
    locale = normalize_locale(locale)
    options = dict(options or {})
    with open_source(path, limits) as source:
        plan = _plan(session, source, schema)
        titles = source.sheet_names
        parsed = [_parse_sheet(source, title, chosen, locale, options, progress) for title, chosen in plan]
    incoming = {sheet.schema.name: sheet.records for sheet in parsed}
    contexts = {}
    for sheet in parsed:
        context = ImportContext(locale=locale, update=update, dry_run=dry_run, options=options,
                                columns=frozenset(sheet.positions) | _optioned(sheet.schema, options),
                                incoming=incoming)
        contexts[sheet.title] = context
        if sheet.clean:
            for error in sheet.schema.validate(session, sheet.clean, context):
                sheet.problem(error)
    if any(sheet.problems for sheet in parsed):
        _fail(source, parsed, locale, errors_path)

    reports = []
    savepoint = session.begin_nested()
    try:
        for sheet in parsed:
            if progress is not None:
                progress.writing(sheet.title)
            try:
                counts = sheet.schema.write(session, sheet.records, contexts[sheet.title])
                session.flush()
            except ValidationError as error:
                for problem in error.errors:
                    sheet.problem(problem)
            except ComptoirError as error:
                sheet.problem(FieldError(None, error.msgid, error.params))
            else:
                reports.append(SheetReport(sheet.title, sheet.schema.name, len(sheet.rows), counts, sheet.ignored))
                continue
            break
        if not any(sheet.problems for sheet in parsed):
            _finish(session, parsed, contexts)
    except BaseException:
        savepoint.rollback()
        raise
    if any(sheet.problems for sheet in parsed):
        savepoint.rollback()
        _fail(source, parsed, locale, errors_path)
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        for report in reports:
            audit.record(session, "excel.imported", target=report.schema, actor=actor, file=path.name,
                         created=report.counts.created, updated=report.counts.updated,
                         unchanged=report.counts.unchanged)
    ignored = () if schema is not None else tuple(t for t in titles if t not in {title for title, _s in plan})
    return ImportReport(path, dry_run, tuple(reports), ignored)


def _finish(session: Session, parsed: list[ParsedSheet], contexts: Mapping[str, ImportContext]) -> None:
    """What the sheets leave for last (locks, closed years), once every sheet is written."""
    for sheet in parsed:
        if sheet.schema.finish is None:
            continue
        try:
            sheet.schema.finish(session, sheet.records, contexts[sheet.title])
            session.flush()
        except ValidationError as error:
            for problem in error.errors:
                sheet.problem(problem)
        except ComptoirError as error:
            sheet.problem(FieldError(None, error.msgid, error.params))
        if sheet.problems:
            return


def _optioned(schema: Schema, options: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(c.key for c in schema.columns if c.option and options.get(c.option) is not None)


def _fail(source: Source, parsed: list[ParsedSheet], locale: str,
          errors_path: str | os.PathLike[str] | None) -> None:
    from core.excel.error_workbook import write_error_workbook

    problems = [p for sheet in parsed for p in sorted(sheet.problems, key=_problem_order)]
    target = Path(errors_path) if errors_path else default_errors_path(source.path)
    written = write_error_workbook(source, parsed, locale, target)
    raise ImportFailed(problems, written)


def _problem_order(problem: ImportProblem) -> tuple[int, int]:
    return (problem.row or 0, problem.column_index if problem.column_index is not None else -1)


# --- which sheet holds what ------------------------------------------------------------------------

def sheet_names_of(schema: Schema) -> set[str]:
    """The sheet titles that name ``schema``: its name, its sheet title and label in every language."""
    names = {normalize_header(schema.name), normalize_header(schema.sheet), normalize_header(schema.label)}
    for locale in SUPPORTED_LOCALES:
        names.add(normalize_header(translate(schema.sheet, locale)))
        names.add(normalize_header(translate(schema.label, locale)))
    for aliases in schema.aliases.values():
        names.update(normalize_header(alias) for alias in aliases)
    names.discard("")
    return names


def _plan(session: Session, source: Source, wanted: str | None) -> list[tuple[str, Schema]]:
    titles = source.sheet_names
    if wanted is not None:
        chosen = get_schema(session, wanted)
        names = sheet_names_of(chosen)
        title = next((t for t in titles if normalize_header(t) in names), titles[0])
        return [(title, chosen)]
    available = schemas(session)
    plan: list[tuple[str, Schema]] = []
    for title in titles:
        match = next((s for s in available if normalize_header(title) in sheet_names_of(s)), None)
        if match is not None and match.name not in {s.name for _t, s in plan}:
            plan.append((title, match))
    if not plan:
        detected = _detect_by_headers(source, titles[0], available)
        if detected is None:
            raise WorkbookRefused(N_("Which data this file holds cannot be told from its sheet names or headers; "
                                     "name it with --schema (one of: %(known)s)."),
                                  known=", ".join(s.name for s in available))
        plan.append((titles[0], detected))
    titles_of = {chosen.name: title for title, chosen in plan}
    return [(titles_of[s.name], s) for s in dependency_order(chosen for _title, chosen in plan)]


def _detect_by_headers(source: Source, title: str, available: list[Schema]) -> Schema | None:
    rows = source.rows(title)
    first = next(rows, None)
    rows.close()
    if first is None:
        return None
    best, best_score = None, 0
    for candidate in available:
        # A column an option can fill counts as present: its absence is reported later.
        match = match_headers(first[1], candidate.columns, row=first[0],
                              options={c.option: True for c in candidate.columns if c.option})
        if match.errors:
            continue
        score = len(match.positions) * 100 - len(match.ignored)
        if score > best_score:
            best, best_score = candidate, score
    return best


# --- phase one: read and check one sheet --------------------------------------------------------------

def _parse_sheet(source: Source, title: str, schema: Schema, locale: str, options: Mapping[str, Any],
                 progress: Progress | None) -> ParsedSheet:
    rows = source.rows(title)
    first = next(rows, None)
    if first is None:
        sheet = ParsedSheet(title, schema, 1, {}, {}, (), locale=locale)
        sheet.problem(FieldError(None, N_("The sheet %(sheet)s is empty."), {"sheet": title}, None))
        return sheet
    header_row, header_cells = first
    match = match_headers(header_cells, schema.columns, row=header_row, locale=locale, options=options)
    headers = {key: str(header_cells[index]).strip() for key, index in match.positions.items()}
    sheet = ParsedSheet(title, schema, header_row, match.positions, headers, match.ignored, locale=locale)
    for error in match.errors:
        sheet.problem(error)
    if match.errors:
        rows.close()
        return sheet
    defaults = _option_defaults(schema, options, locale)
    if progress is not None:
        progress.start(title, source.row_count_hint(title))
    bad_rows: set[int] = set()
    # Only the columns a row can fill: those of the file, and those required or given by an option.
    columns = [c for c in schema.columns if c.key in match.positions or c.required or c.key in defaults]
    parse_row = RowParser(match.positions, columns, locale, defaults)
    kept, by_number = sheet.rows, sheet.by_number
    try:
        for count, (number, cells) in enumerate(rows, start=1):
            values, errors = parse_row(cells, number)
            row = Row(number, values)
            kept.append(row)
            by_number[number] = row
            if errors:
                for error in errors:
                    sheet.problem(error)
                bad_rows.add(number)
            if progress is not None and count % 500 == 0:
                progress.advance(500)
    finally:
        if progress is not None:
            progress.finish()
    _group(sheet, bad_rows)
    return sheet


def _option_defaults(schema: Schema, options: Mapping[str, Any], locale: str) -> dict[str, Any]:
    defaults = {}
    for column in schema.columns:
        if column.option and options.get(column.option) is not None:
            try:
                defaults[column.key] = parse_cell(options[column.option], column, locale)
            except NotParsed as problem:
                raise ValidationError(FieldError(column.option, problem.msgid, problem.params)) from None
    return defaults


def _group(sheet: ParsedSheet, bad_rows: set[int]) -> None:
    """Rows → records by natural key; a key given twice (outside a group) is a problem."""
    schema = sheet.schema
    groups: dict[tuple[Any, ...], list[Row]] = {}
    single = schema.key[0] if len(schema.key) == 1 else None
    for row in sheet.rows:
        key = (row.values.get(single),) if single is not None else tuple(row[k] for k in schema.key)
        if None in key:
            if row.number not in bad_rows:
                missing = next(k for k in schema.key if row[k] is None)
                sheet.problem(FieldError(missing, N_("A value is required."), {}, row.number))
                bad_rows.add(row.number)
            continue
        if schema.group_by is None and key in groups:
            first = groups[key][0].number
            sheet.problem(FieldError(schema.key[-1], N_("The same %(key)s is already on row %(first)s."),
                                     {"key": " / ".join(map(text_of, key)), "first": first}, row.number))
            bad_rows.add(row.number)
            continue
        groups.setdefault(key, []).append(row)
    records = sheet.records
    if not bad_rows:
        records.extend(Record(key, tuple(members)) for key, members in groups.items())
        sheet.clean.extend(records)
        return
    for key, members in groups.items():
        record = Record(key, tuple(members))
        records.append(record)
        if not any(member.number in bad_rows for member in members):
            sheet.clean.append(record)
