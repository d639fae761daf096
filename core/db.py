"""The database: engine, session, declarative base, and tenant scoping of every query.

This is the one reviewed module that holds raw SQL on tenant tables (row-level security,
id allocation); everything else goes through the ORM, which the session scopes to the
organization it was opened for. See DESIGN.md §3.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    bindparam,
    String,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.util import find_tables
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import NullPool

from core.errors import CrossTenantWrite, NotFound, TenantContextMissing
from core.i18n import N_

TENANT_KEY = "comptoir.org_id"
_NO_TENANT = -1  # matches no row: org ids are positive
_ORG_PARAM = re.compile(r"^org_id(_m\d+)?$")
RLS_SETTING = "comptoir.org_id"
RLS_POLICY = "tenant_isolation"
ID_SEQUENCE = "comptoir_id_seq"
# PostgreSQL aborts one of two conflicting transactions with these SQLSTATEs; run it again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
RETRY_ATTEMPTS = 5
RETRY_BASE_DELAY = 0.02  # seconds

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Shared column types. Money is an integer in the currency's minor unit, never a float.
BigInt = BigInteger().with_variant(Integer, "sqlite")
MinorUnits = Annotated[int, mapped_column(BigInteger)]
CurrencyCode = Annotated[str, mapped_column(String(3))]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {int: BigInteger, bool: Boolean, dt.datetime: DateTime(timezone=True)}


class OrgOwned:
    """Marks a tenant table: ``(org_id, id)`` is its primary key.

    ``org_id`` is filled from the session's tenant on insert and every ORM query gets
    ``org_id = <tenant>`` added; foreign keys to other tenant tables include ``org_id``.
    Ids are allocated by :func:`allocate_ids` (unique across tenants, so an id alone never
    names two objects).
    """

    @declared_attr
    def org_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            BigInteger, ForeignKey("organization.id"), primary_key=True, sort_order=-20
        )

    @declared_attr
    def id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(BigInteger, primary_key=True, autoincrement=False, sort_order=-19)


class IdBlock(Base):
    """SQLite's id allocator: one row, bumped inside the writing transaction.

    SQLite has a single writer, so this row never contends; PostgreSQL uses the
    ``comptoir_id_seq`` sequence instead (non-transactional, no row lock).
    """

    __tablename__ = "comptoir_id_block"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_id: Mapped[int] = mapped_column(BigInteger)


def tenant_tables() -> list[Table]:
    """The tables of every :class:`OrgOwned` model, in dependency order.

    (``membership`` also has an ``org_id`` but is a kernel identity table: a user lists
    their organizations across tenants.)
    """
    owned = {m.local_table for m in Base.registry.mappers if issubclass(m.class_, OrgOwned)}
    return [t for t in Base.metadata.sorted_tables if t in owned]


# --- tenant context ---------------------------------------------------------------

def tenant_id(session: Session) -> int | None:
    return session.info.get(TENANT_KEY)


def require_tenant(session: Session) -> int:
    org_id = session.info.get(TENANT_KEY)
    if org_id is None:
        raise TenantContextMissing()
    return org_id


def set_tenant(session: Session, org_id: int | None) -> None:
    """Point ``session`` at another organization (or none).

    On PostgreSQL the row-level-security setting of the open transaction follows at once.
    """
    session.info[TENANT_KEY] = org_id
    if session.in_transaction() and session.bind is not None and _is_postgresql(session.bind):
        _apply_rls_setting(session.connection(), org_id)


@contextmanager
def tenant(session: Session, org_id: int) -> Iterator[Session]:
    """Run a block under another organization, then restore the previous one."""
    previous = tenant_id(session)
    set_tenant(session, org_id)
    try:
        yield session
    finally:
        set_tenant(session, previous)


T = TypeVar("T")


def fetch(session: Session, model: type[T], object_id: int, *, what: str | None = None) -> T:
    """The object of the current organization with this id, or :class:`NotFound`.

    The primary key includes the tenant, so an id of another organization is simply absent.
    """
    org_id = require_tenant(session)
    obj = session.get(model, (org_id, object_id))
    if obj is None:
        raise NotFound(N_("%(what)s %(id)s was not found."), what=what or model.__name__, id=object_id)
    return obj


# --- the scoping listeners -----------------------------------------------------------

# One criteria object for every query: its parameter's value is read when the statement
# runs, from the tenant that _scope_orm_execute sets just before, in this thread or task.
# (Building a with_loader_criteria lambda per query cost more than a primary-key lookup.)
_query_tenant: ContextVar[int] = ContextVar("comptoir_query_tenant", default=_NO_TENANT)
_TENANT_PARAM = bindparam("comptoir_tenant", type_=BigInteger, callable_=_query_tenant.get)
_TENANT_CRITERIA = with_loader_criteria(OrgOwned, lambda cls: cls.org_id == _TENANT_PARAM,
                                        include_aliases=True, track_closure_variables=False)


def _scope_orm_execute(state: ORMExecuteState) -> None:
    org_id = state.session.info.get(TENANT_KEY)
    # Set for every statement of this session, lazy loads included, before it runs.
    _query_tenant.set(_NO_TENANT if org_id is None else org_id)
    if state.is_insert:
        _check_written_rows(state)
        return
    if (state.is_update or state.is_delete) and isinstance(state.parameters, list):
        # Bulk UPDATE by primary key takes its WHERE from each row, not from the loader
        # criteria: every row must name the session's organization.
        _check_written_rows(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the parent query was scoped and its criteria propagate to loaders
    if org_id is None:
        for mapper in state.all_mappers:
            if issubclass(mapper.class_, OrgOwned):
                raise TenantContextMissing()
        # (a tenant table reached through a join shows nothing: the parameter is -1)
    state.statement = state.statement.options(_TENANT_CRITERIA)


def _check_written_rows(state: ORMExecuteState) -> None:
    if not any(issubclass(m.class_, OrgOwned) for m in state.all_mappers):
        return
    org_id = require_tenant(state.session)
    if state.parameters:
        rows: Sequence[Any] = state.parameters if isinstance(state.parameters, list) else [state.parameters]
        if any(row.get("org_id") != org_id for row in rows):
            raise CrossTenantWrite()
        return
    # values() inside the statement; a multi-row VALUES names its rows org_id_m0, org_id_m1…
    compiled = state.statement.compile().params
    named = [value for key, value in compiled.items() if _ORG_PARAM.match(key)]
    if not named or any(value != org_id for value in named):
        raise CrossTenantWrite()


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, OrgOwned)]
    changed = [obj for obj in session.dirty if isinstance(obj, OrgOwned)]
    if not new and not changed:
        return
    org_id = require_tenant(session)
    for obj in new:
        if obj.org_id is None:
            obj.org_id = org_id
        elif obj.org_id != org_id:
            raise CrossTenantWrite()
    for obj in changed:
        if obj.org_id != org_id:
            raise CrossTenantWrite()
    without_id = [obj for obj in new if obj.id is None]
    if without_id:
        for obj, new_id in zip(without_id, allocate_ids(session, len(without_id)), strict=True):
            obj.id = new_id


def _after_begin(session: Session, transaction: Any, connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        _apply_rls_setting(connection, session.info.get(TENANT_KEY))


def _apply_rls_setting(connection: Connection, org_id: int | None) -> None:
    # Transaction-local (third argument true): a pooled connection never carries a tenant
    # into the next transaction.
    connection.execute(
        text("SELECT set_config(:name, :value, true)"),
        {"name": RLS_SETTING, "value": "" if org_id is None else str(org_id)},
    )


def _is_postgresql(bind: Any) -> bool:
    return bind.dialect.name == "postgresql"


def allocate_ids(session: Session, count: int) -> list[int]:
    """``count`` fresh ids for tenant rows, in one round trip."""
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = _run_statement(connection, f"SELECT nextval('{ID_SEQUENCE}') FROM generate_series(1, %(n)s)",
                              {"n": count}, many=False)
        return [row[0] for row in rows]
    ((last,),) = _run_statement(
        connection, "UPDATE comptoir_id_block SET next_id = next_id + ? WHERE id = 1 RETURNING next_id", (count,),
        many=False)
    return list(range(last - count, last))


# --- engine and sessions ---------------------------------------------------------------

def is_transient(error: BaseException) -> bool:
    """Whether the database aborted a transaction that would succeed if run again."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    # SQLite: the writer lock was not free within busy_timeout.
    return isinstance(error, OperationalError) and "database is locked" in str(original)


def normalize_url(url: str | URL) -> URL:
    """``postgresql://`` means psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions start late
        # and would let a read slip outside the transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Up to 64 MiB of pages per connection (default 2 MiB): a posting batch dirties pages
            # all over the lines' indexes, and a cache too small spills them mid-transaction.
            cursor.execute("PRAGMA cache_size=-65536")
            # Checkpoint the write-ahead log every 10,000 pages (~40 MB), not 1,000: each checkpoint
            # syncs the files, and one every ~50 single-entry postings cost them a third of their time.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
        # Statement journals in memory, not temporary files: a table with triggers (the ledger's)
        # opens one for every row inserted, which measured 15 µs a journal entry on disk.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the lock up front: upgrading a read transaction to a write one
        # fails in WAL mode when another writer committed meanwhile.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine and the session factory that scopes every ORM query to a tenant."""

    def __init__(self, url: str | URL, *, pool_size: int | None = None, echo: bool = False,
                 poolclass: Any = None) -> None:
        import core.models  # noqa: F401 - every kernel table, for foreign keys to resolve
        self.url = normalize_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if poolclass is not None:
            kwargs["poolclass"] = poolclass
        elif pool_size is not None and self.url.get_backend_name() != "sqlite":
            kwargs.update(pool_size=pool_size, max_overflow=0)
        if self.url.get_backend_name() == "postgresql":
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )
        for factory in (self.sessionmaker, self.read_sessionmaker):
            event.listen(factory, "do_orm_execute", _scope_orm_execute)
            event.listen(factory, "before_flush", _before_flush)
            event.listen(factory, "after_begin", _after_begin)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self, org_id: int | None = None, *, readonly: bool = False) -> Session:
        """A new session for ``org_id`` (``None``: only global tables are reachable)."""
        factory = self.read_sessionmaker if readonly else self.sessionmaker
        session = factory()
        session.info[TENANT_KEY] = org_id
        return session

    @contextmanager
    def transaction(self, org_id: int | None = None) -> Iterator[Session]:
        """A session in one transaction: committed at the end of the block, rolled back on error."""
        with self.session(org_id) as session, session.begin():
            yield session

    def run(self, work: Callable[[Session], T], org_id: int | None = None, *,
            attempts: int = RETRY_ATTEMPTS) -> T:
        """Run ``work(session)`` in one transaction, again from the start when the database
        aborted it for a reason that goes away by itself (serialization failure, deadlock,
        SQLite's lock wait running out).

        Each attempt gets a new session and transaction, so ``work`` must only change the
        database (an email sent inside it would be sent again).
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction(org_id) as session:
                    return work(session)
            except DBAPIError as error:
                if attempt == attempts or not is_transient(error):
                    raise
                # Jittered exponential backoff: two colliding writers do not collide again.
                time.sleep(random.uniform(0, min(RETRY_BASE_DELAY * 2 ** attempt, 1.0)))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def unscoped_engine(url: str | URL) -> Engine:
    """A plain engine for administration (migrations, row-level-security setup, tests)."""
    normalized = normalize_url(url)
    engine = create_engine(normalized, poolclass=NullPool)
    if normalized.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


# --- PostgreSQL row-level security ------------------------------------------------------

def secure_tenant_tables(connection: Connection, app_role: str | None) -> list[str]:
    """Enable and force RLS with the tenant policy on every tenant table; grant the app role.

    Idempotent: run after every migration, so a plugin's new table cannot be forgotten.
    Returns the names of the tables it secured.
    """
    if connection.dialect.name != "postgresql":
        return []
    quote = connection.dialect.identifier_preparer.quote
    predicate = f"org_id = NULLIF(current_setting('{RLS_SETTING}', true), '')::bigint"
    existing = set(connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
    secured = []
    for table in tenant_tables():
        if table.name not in existing:
            continue
        name = quote(table.name)
        connection.execute(text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
        connection.execute(text(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY"))
        connection.execute(text(f"DROP POLICY IF EXISTS {RLS_POLICY} ON {name}"))
        connection.execute(
            text(f"CREATE POLICY {RLS_POLICY} ON {name} USING ({predicate}) WITH CHECK ({predicate})")
        )
        secured.append(table.name)
    if app_role:
        role = quote(app_role)
        for table in Base.metadata.sorted_tables:
            if table.name in existing:
                connection.execute(
                    text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {quote(table.name)} TO {role}")
                )
        connection.execute(text(f"GRANT USAGE ON SEQUENCE {ID_SEQUENCE} TO {role}"))
        connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    return secured


def ensure_app_role(connection: Connection, url: str | URL) -> str | None:
    """Create the application's login role from its URL if missing: no superuser, no BYPASSRLS."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.username:
        return None
    quote = connection.dialect.identifier_preparer.quote
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": parsed.username}
    ).first()
    if not exists:
        password = ""
        if parsed.password:
            escaped = str(parsed.password).replace("'", "''")
            password = f" PASSWORD '{escaped}'"
        connection.execute(
            text(f"CREATE ROLE {quote(parsed.username)} LOGIN NOSUPERUSER NOBYPASSRLS "
                 f"NOCREATEDB NOCREATEROLE{password}")
        )
    return parsed.username


# --- compiled tenant statements, for hot paths ---------------------------------------------

class TenantStatement:
    """A Core statement on one tenant table, compiled once and run at the driver level, scoped.

    For hot paths (posting) where the ORM's cost per statement (~100 µs) is most of the
    work. The tenant guarantee is the ORM session's: every row an ``INSERT`` writes must
    carry the session's ``org_id`` (a row without one gets it); an ``UPDATE``, ``DELETE`` or
    ``SELECT`` gets ``org_id = <the session's organization>`` added to its ``WHERE``. Only
    single-table statements are accepted, so nothing reaches another tenant's rows through a
    join. Parameters are bound by name (``bindparam``); rows of an ``INSERT`` must all have
    the same keys and name every column without a scalar default. Results are the driver's
    values (ints and strings: no type conversion on the way out).

    (An ``insert(...).values(list_of_rows)`` through the ORM session compiles a statement
    with one parameter per cell on every call, twice with the tenant check: 30-40 times
    slower than this for a thousand lines.)
    """

    _ORG = "comptoir_tenant_org"

    def __init__(self, statement: Any) -> None:
        self.is_insert = bool(getattr(statement, "is_insert", False))
        if self.is_insert or getattr(statement, "is_update", False) or getattr(statement, "is_delete", False):
            table = statement.table
        else:
            froms = statement.get_final_froms()
            if len(froms) != 1 or not isinstance(froms[0]._deannotate(), Table):
                raise TypeError("a TenantStatement SELECT reads exactly one table")
            table = froms[0]
        table = table._deannotate()  # an ORM statement names an annotated copy of the table
        if {t._deannotate() for t in find_tables(statement, include_crud=True)} != {table}:
            raise TypeError("a TenantStatement names one table, and no other even in a subquery")
        if not any(m.local_table is table and issubclass(m.class_, OrgOwned) for m in Base.registry.mappers):
            raise TypeError(f"{table} is not a tenant table")
        self.table = table
        if not self.is_insert:
            statement = statement.where(table.c.org_id == bindparam(self._ORG, type_=BigInteger))
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], tuple[str, list[tuple[str, Any, Any]], bool]] = {}
        self._multirow_sql: dict[tuple[str, int], str] = {}

    def _compile(self, dialect: Any, keys: tuple[str, ...]) -> tuple[str, list[tuple[str, Any, Any]], bool]:
        cache_key = (dialect.name, keys)
        found = self._compiled.get(cache_key)
        if found is not None:
            return found
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys) if self.is_insert else None)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        slots = []
        for name in names:
            bind = compiled.binds[name]
            default: Any = _REQUIRED
            if bind.value is not None or not bind.required:
                default = bind.value
            column = self.table.c.get(name) if self.is_insert else None
            if name not in keys and column is not None and column.default is not None and column.default.is_scalar:
                default = column.default.arg
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            slots.append((compiled.escaped_bind_names.get(name, name), default, processor))
        found = (compiled.string, slots, bool(compiled.positional))
        self._compiled[cache_key] = found
        return found

    def execute(self, session: Session, params: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
                ) -> list[tuple[Any, ...]]:
        """Run with one parameter set (a dict) or many (a list: ``executemany``); returned rows."""
        org_id = require_tenant(session)
        many = isinstance(params, list | tuple)
        rows: Sequence[dict[str, Any]] = params if many else [params or {}]  # type: ignore[assignment]
        if not rows:
            return []
        first = rows[0].keys()
        for row in rows:
            if row.keys() != first:
                raise ValueError("every parameter set of a TenantStatement names the same keys")
            if self.is_insert and row.get("org_id", org_id) != org_id:
                raise CrossTenantWrite()
        keys = tuple(dict.fromkeys((*first, "org_id"))) if self.is_insert else tuple(first)
        connection = session.connection()
        sql, slots, positional = self._compile(connection.dialect, keys)
        bound = self._bind(rows, org_id, slots, positional)
        if many and len(bound) > 1 and self._multirow(connection, sql):
            return self._insert_multirow(connection, sql, bound)
        return _run_statement(connection, sql, bound if many else bound[0], many)

    def _multirow(self, connection: Connection, sql: str) -> bool:
        """SQLite, a plain ``INSERT … VALUES (?, …)``: many rows in one statement.

        SQLite runs an ``executemany`` row by row, each a statement of its own with its own
        statement journal when the table has triggers (the ledger's have): a multi-row
        ``VALUES`` does the same work once per few thousand rows (measured: journal entries
        inserted 2.5 times faster, lines 1.2 times).
        """
        return (self.is_insert and connection.dialect.name == "sqlite" and sql.endswith(")")
                and " ON CONFLICT " not in sql and sql.count(" VALUES (") == 1)

    def _insert_multirow(self, connection: Connection, sql: str, bound: list[Any]) -> list[tuple[Any, ...]]:
        head, values = sql.split(" VALUES ")
        dbapi = connection.connection.dbapi_connection
        limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
        per = max(1, min(500, limit // max(1, len(bound[0]))))
        for first in range(0, len(bound), per):
            chunk = bound[first:first + per]
            statement = self._multirow_sql.get((sql, len(chunk)))
            if statement is None:
                statement = f"{head} VALUES {','.join([values] * len(chunk))}"
                if len(chunk) == per:  # the remainder's size varies: not kept
                    self._multirow_sql[(sql, per)] = statement
            _run_statement(connection, statement, tuple(value for row in chunk for value in row), False)
        return []

    def _bind(self, rows: Sequence[dict[str, Any]], org_id: int, slots: list[tuple[str, Any, Any]],
              positional: bool) -> list[Any]:
        """The driver's parameters, a column at a time (type processing once per distinct value)."""
        count = len(rows)
        columns = []
        for name, default, processor in slots:
            if name == self._ORG or name == "org_id":
                column = [org_id] * count
            elif name in rows[0]:
                column = [row[name] for row in rows]
            elif default is _REQUIRED:
                raise KeyError(f"{self.table.name}: no value for {name}")
            else:
                column = [default] * count
            if processor is not None:
                done: dict[Any, Any] = {None: None}
                try:
                    column = [done[value] if value in done else done.setdefault(value, processor(value))
                              for value in column]
                except TypeError:  # an unhashable value
                    column = [None if value is None else processor(value) for value in column]
            columns.append(column)
        if positional:
            return list(zip(*columns, strict=True))
        names = [name for name, _, _ in slots]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


_REQUIRED = object()


def _run_statement(connection: Connection, sql: str, params: Any, many: bool) -> list[tuple[Any, ...]]:
    """One statement in the driver's own SQL, on the connection's DBAPI cursor, in its transaction.

    SQLAlchemy's execution context costs tens of microseconds per statement, several times
    what SQLite takes to run one; a driver error is raised as SQLAlchemy's, as it would be.
    When statements are listened to or echoed, they go through SQLAlchemy, which tells them.
    """
    dispatch = connection.dispatch
    if connection._echo or dispatch.before_cursor_execute or dispatch.after_cursor_execute \
            or connection.dialect.dispatch.handle_error:
        result = connection.exec_driver_sql(sql, params)
        return [tuple(row) for row in result] if result.returns_rows else []
    dialect = connection.dialect
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from error  # type: ignore[arg-type]
    finally:
        cursor.close()
