"""What a plugin declares to import and export its data: columns, natural key, reader and writer.

A plugin returns :class:`Schema` objects from ``comptoir_register_excel_schemas``; the
framework reads, validates and writes workbooks with them, so no plugin touches openpyxl.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from core.errors import FieldError, NotFound, PluginConfigurationError
from core.i18n import N_


class ColumnType(enum.StrEnum):
    TEXT = "text"  # any text, kept as written (trimmed)
    CODE = "code"  # an identifier (account code, journal): a number cell 411000 reads "411000"
    DECIMAL = "decimal"  # an exact Decimal, never a float
    INTEGER = "integer"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"  # one of ``Column.choices``


@dataclass(frozen=True)
class Choice:
    """An allowed value of a choice column; the user may type the value or its label."""

    value: str
    label: str  # message id


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    ``label`` is a message id: the header written in exports and templates, and matched on
    import in every supported language. ``aliases`` are more headers accepted per language
    (``{"fr": ("Libellé",)}``). ``option`` names an import option that fills the cell when it
    is empty (``--date`` for the date of opening balances). ``example`` fills the template.
    """

    key: str
    label: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    option: str | None = None
    example: Any = None
    width: int | None = None  # characters; computed from the data when None

    def __post_init__(self) -> None:
        if self.type is ColumnType.CHOICE and not self.choices:
            raise PluginConfigurationError(N_("The choice column %(column)s lists no choices."), column=self.key)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the user's sheet: its number there (1 = first row) and its parsed values.

    ``values`` holds the row's non-empty cells by column key; ``row[key]`` is ``None`` for an
    empty cell or a column the file does not have (``ImportContext.columns`` says which it has).
    """

    number: int
    values: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)


@dataclass(frozen=True, slots=True)
class Record:
    """What one natural key names: one row, or all the rows of a group (an entry's lines)."""

    key: tuple[Any, ...]
    rows: tuple[Row, ...]

    @property
    def first(self) -> Row:
        return self.rows[0]

    def __getitem__(self, key: str) -> Any:
        return self.rows[0].values.get(key)


@dataclass(frozen=True)
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(self.created + other.created, self.updated + other.updated,
                            self.unchanged + other.unchanged)


@dataclass(frozen=True)
class ImportContext:
    """What a schema's ``validate`` and ``write`` know about the import under way.

    ``incoming`` holds the records of every sheet of the same workbook, by schema name, so
    that journal entries may use accounts created by the workbook's accounts sheet.
    """

    locale: str
    update: bool
    dry_run: bool
    columns: frozenset[str]
    options: Mapping[str, Any] = field(default_factory=dict)
    incoming: Mapping[str, Sequence[Record]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)  # what a sheet's write leaves for its finish


Validate = Callable[[Session, Sequence[Record], ImportContext], list[FieldError]]
Write = Callable[[Session, Sequence[Record], ImportContext], ImportCounts]
Finish = Callable[[Session, Sequence[Record], ImportContext], None]
Export = Callable[[Session], Iterable[Mapping[str, Any]]]


def _no_problems(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    return []


@dataclass(frozen=True)
class Schema:
    """A kind of record a plugin imports and exports (a sheet of a workbook).

    - ``name``: stable id (``accounts``), used by ``--schema``; ``sheet`` and ``label`` are
      message ids: the sheet's title and a longer description.
    - ``key``: the columns of the natural key. Importing a record whose key exists is
      "unchanged" (or an update with ``--update``); a key given twice in a file is an error.
    - ``group_by``: rows sharing this column's value form one record (an entry's lines);
      the key is then that column.
    - ``validate``: cross-row and reference checks (accounts exist, entries balance); it
      returns every problem as :class:`FieldError` with ``row`` (the sheet's row) and
      ``field`` (the column key), and never writes.
    - ``write``: writes the records through the plugin's services, in the caller's
      transaction; a :class:`core.errors.ValidationError` it raises is shown like the others.
    - ``export``: the records as dicts of column key → value (``None``: import only).
    - ``after``: the schemas whose sheets are written before this one's, by name (entries
      after accounts, journals and fiscal years); a name no installed plugin registers is
      ignored. ``order`` breaks ties (lower first).
    - ``finish``: called once every sheet of the workbook is written, in the same order, for
      what must come last: locking periods, closing years, deprecating accounts that the
      workbook's entries still post to.
    - ``aliases``: more sheet titles that name the schema, per language.
    """

    name: str
    sheet: str
    label: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    write: Write
    validate: Validate = _no_problems
    export: Export | None = None
    group_by: str | None = None
    order: int = 100
    after: tuple[str, ...] = ()
    finish: Finish | None = None
    plugin: str = ""
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # more sheet titles, per language

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise PluginConfigurationError(N_("Schema %(schema)s has two columns with the same key."),
                                           schema=self.name)
        unknown = [k for k in (*self.key, *([self.group_by] if self.group_by else [])) if k not in keys]
        if unknown or not self.key:
            raise PluginConfigurationError(N_("Schema %(schema)s has a key naming no column: %(columns)s."),
                                           schema=self.name, columns=", ".join(unknown) or "-")
        if self.group_by and self.key != (self.group_by,):
            raise PluginConfigurationError(N_("Schema %(schema)s groups rows by %(column)s, so that is its key."),
                                           schema=self.name, column=self.group_by)
        if len(self.sheet) > 31:
            raise PluginConfigurationError(N_("Schema %(schema)s: a sheet title has at most 31 characters."),
                                           schema=self.name)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


# --- the registry -----------------------------------------------------------------------------

HOOK = "comptoir_register_excel_schemas"


def registered_schemas() -> dict[str, Schema]:
    """Every installed plugin's schemas by name, each after the schemas it names in ``after``.

    Each schema is attributed to the plugin that registered it; a name registered twice, or
    schemas that wait for each other, stop with :class:`PluginConfigurationError`.
    """
    from core.plugins import get_registry

    registry = get_registry()
    found: dict[str, Schema] = {}
    for plugin in registry.names:
        for result in registry.call_only(plugin, HOOK)():
            for schema in result or ():
                if schema.plugin and schema.plugin != plugin:
                    raise PluginConfigurationError(
                        N_("Plugin %(plugin)s registers the Excel schema %(schema)s for %(other)s."),
                        plugin=plugin, schema=schema.name, other=schema.plugin)
                if schema.name in found:
                    raise PluginConfigurationError(
                        N_("The Excel schema %(schema)s is registered twice (by %(plugin)s and %(other)s)."),
                        schema=schema.name, plugin=found[schema.name].plugin, other=plugin)
                found[schema.name] = replace(schema, plugin=plugin)
    return {schema.name: schema for schema in dependency_order(found.values())}


def dependency_order(candidates: Iterable[Schema]) -> list[Schema]:
    """``candidates`` with each one after those it names in ``after`` (the others ignored);
    among the schemas free to go, the lowest ``(order, name)`` first."""
    waiting = {s.name: s for s in candidates}
    done: list[Schema] = []
    placed: set[str] = set()
    while waiting:
        ready = [s for s in waiting.values() if all(d in placed or d not in waiting for d in s.after)]
        if not ready:
            raise PluginConfigurationError(N_("The Excel schemas %(schemas)s wait for each other (see their after)."),
                                           schemas=", ".join(sorted(waiting)))
        chosen = min(ready, key=lambda s: (s.order, s.name))
        done.append(chosen)
        placed.add(chosen.name)
        del waiting[chosen.name]
    return done


def schemas(session: Session) -> list[Schema]:
    """The schemas the session's organization may use: those of its enabled plugins."""
    from core.plugins import enabled_plugins

    enabled = enabled_plugins(session)
    return [s for s in registered_schemas().values() if s.plugin in enabled]


def get_schema(session: Session | None, name: str) -> Schema:
    """The schema ``name``; with a session, only if its plugin is enabled for the organization."""
    from core.errors import PluginDisabled

    known = registered_schemas()
    schema = known.get(name.strip().lower())
    if schema is None:
        raise NotFound(N_("There is no import schema %(schema)s (known: %(known)s)."),
                       schema=name, known=", ".join(known))
    if session is not None and schema not in schemas(session):
        raise PluginDisabled()
    return schema
