"""The chart of accounts: accounts, reporting tags, templates, and bringing a chart up to date.

Templates are versioned YAML files in ``chart_templates/`` (and any folder a plugin
registers); ``chart_templates/README.md`` describes the format. Reports and consolidation
find accounts by their stable tags (``receivable``, ``revenue.sales``), never by name.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, OrgOwned, allocate_ids, require_tenant
from core.errors import ChartTemplateError, Conflict, FieldError, NotFound, ValidationError
from core.i18n import N_, SUPPORTED_LOCALES
from core.money import is_known_currency


class AccountType(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class AccountSubtype(enum.StrEnum):
    GENERAL = "general"
    RECEIVABLE = "receivable"
    PAYABLE = "payable"
    BANK = "bank"
    CASH = "cash"
    TAX = "tax"


SUBTYPE_TYPES = {
    AccountSubtype.RECEIVABLE: {AccountType.ASSET},
    AccountSubtype.PAYABLE: {AccountType.LIABILITY},
    AccountSubtype.BANK: {AccountType.ASSET},
    AccountSubtype.CASH: {AccountType.ASSET},
    AccountSubtype.TAX: {AccountType.ASSET, AccountType.LIABILITY},
}

TAGS = frozenset("""
receivable payable bank cash
asset.current asset.fixed asset.intangible asset.financial asset.inventory
asset.accumulated_depreciation asset.prepaid
liability.current liability.noncurrent liability.loans liability.payroll liability.accrued
tax.vat.collected tax.vat.deductible tax.vat.settlement tax.income tax.other
equity.capital equity.reserves equity.retained_earnings equity.result
revenue.sales revenue.services revenue.other revenue.financial revenue.exceptional
expense.purchases expense.cost_of_sales expense.inventory_change expense.services expense.rent
expense.salaries expense.social_charges expense.taxes expense.depreciation expense.financial
expense.exceptional expense.income_tax expense.other
fx.gain fx.loss
""".split())

# Each default-account role and the tags its account must carry (any of them).
DEFAULT_ACCOUNT_TAGS: dict[str, frozenset[str]] = {
    "receivable": frozenset({"receivable"}),
    "payable": frozenset({"payable"}),
    "bank": frozenset({"bank"}),
    "cash": frozenset({"cash"}),
    "vat_collected": frozenset({"tax.vat.collected"}),
    "vat_deductible": frozenset({"tax.vat.deductible"}),
    "capital": frozenset({"equity.capital"}),
    "retained_earnings": frozenset({"equity.retained_earnings"}),
    "result": frozenset({"equity.result"}),
    "income": frozenset({"revenue.sales", "revenue.services"}),
    "expense": frozenset({"expense.purchases", "expense.services", "expense.other"}),
    "fx_gain": frozenset({"fx.gain"}),
    "fx_loss": frozenset({"fx.loss"}),
}
ACTIVITIES = frozenset({"service", "trading", "manufacturing"})
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$")


# --- models ---------------------------------------------------------------------------------

class Account(OrgOwned, Base):
    """An account. Headers group others and take no postings; deprecated ones take no new ones."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id", "parent_id"], ["account.org_id", "account.id"]),
        CheckConstraint("header OR type IS NOT NULL", name="typed"),
        Index(None, "org_id", "parent_id"),
    )

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(16))
    subtype: Mapped[str] = mapped_column(String(16), default=AccountSubtype.GENERAL)
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    reconcilable: Mapped[bool] = mapped_column(default=False)
    deprecated: Mapped[bool] = mapped_column(default=False)
    header: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Account {self.code} {self.name}>"


class AccountTag(OrgOwned, Base):
    __tablename__ = "account_tag"
    __table_args__ = (
        UniqueConstraint("org_id", "account_id", "tag"),
        ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"], ondelete="CASCADE"),
        Index(None, "org_id", "tag"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger)
    tag: Mapped[str] = mapped_column(String(64))


class DefaultAccount(OrgOwned, Base):
    """Which account plays a role (``receivable``, ``result``…) for the organization."""

    __tablename__ = "default_account"
    __table_args__ = (
        UniqueConstraint("org_id", "role"),
        ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"]),
    )

    role: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(BigInteger)


# --- templates ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateAccount:
    code: str
    name: str
    type: str | None
    subtype: str
    parent: str | None
    reconcilable: bool
    header: bool
    tags: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ChartTemplate:
    id: str
    version: int
    name: str
    country: str | None
    activities: tuple[str, ...]
    language: str
    currency: str | None
    default_accounts: dict[str, str]
    accounts: tuple[TemplateAccount, ...]
    path: Path = field(compare=False)

    def account(self, code: str) -> TemplateAccount | None:
        return next((a for a in self.accounts if a.code == code), None)


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping (as ``__line__``)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node)
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__keylines__"] = {key.value: key.start_mark.line + 1 for key, _value in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _error(path: Path, line: int, msgid: str, **params: Any) -> ChartTemplateError:
    return ChartTemplateError(msgid, file=str(path), line=line, **params)


def parse_template(path: Path) -> ChartTemplate:
    """Read and check a template file; any problem names the file and the line."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - safe subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise _error(path, mark.line + 1 if mark else 0,
                     N_("%(file)s, line %(line)s: this is not valid YAML (%(problem)s)."),
                     problem=error.problem or "") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise _error(path, 0, N_("%(file)s, line %(line)s: the file cannot be read (%(problem)s)."),
                     problem=str(error)) from None
    if not isinstance(data, dict):
        raise _error(path, 1, N_("%(file)s, line %(line)s: a template is a mapping with id, version and accounts."))
    top = data.get("__line__", 1)
    key_lines = data.pop("__keylines__", {})
    for key in ("id", "version", "name", "language", "accounts", "default_accounts"):
        if key not in data:
            raise _error(path, top, N_("%(file)s, line %(line)s: the key %(key)s is missing."), key=key)
    if data["id"] != path.stem:
        raise _error(path, top, N_("%(file)s, line %(line)s: the id %(value)s differs from the file name."),
                     value=data["id"])
    if not isinstance(data["version"], int) or data["version"] < 1:
        raise _error(path, key_lines.get("version", top), N_("%(file)s, line %(line)s: the version must be a positive whole number."))
    if data["language"] not in SUPPORTED_LOCALES:
        raise _error(path, top, N_("%(file)s, line %(line)s: unsupported language %(value)s."),
                     value=data["language"])
    currency = data.get("currency")
    if currency is not None and not is_known_currency(str(currency)):
        raise _error(path, top, N_("%(file)s, line %(line)s: %(value)s is not a currency code."), value=currency)
    activities = tuple(data.get("activities") or ())
    if not set(activities) <= ACTIVITIES:
        raise _error(path, top, N_("%(file)s, line %(line)s: unknown activity in %(value)s."),
                     value=", ".join(map(str, activities)))
    if not isinstance(data["accounts"], list) or not data["accounts"]:
        raise _error(path, top, N_("%(file)s, line %(line)s: the template has no accounts."))

    accounts: dict[str, TemplateAccount] = {}
    for raw in data["accounts"]:
        if not isinstance(raw, dict):
            raise _error(path, top, N_("%(file)s, line %(line)s: each account is a mapping."))
        accounts_entry = _parse_account(path, raw, accounts)
        accounts[accounts_entry.code] = accounts_entry

    defaults = data["default_accounts"]
    if not isinstance(defaults, dict):
        raise _error(path, top, N_("%(file)s, line %(line)s: default_accounts is a mapping."))
    defaults.pop("__line__", None)
    defaults.pop("__keylines__", None)
    default_line = key_lines.get("default_accounts", top)
    for role, tags in DEFAULT_ACCOUNT_TAGS.items():
        code = defaults.get(role)
        if code is None:
            raise _error(path, default_line, N_("%(file)s, line %(line)s: the default account %(key)s is missing."),
                         key=role)
        target = accounts.get(str(code))
        if target is None or target.header:
            raise _error(path, default_line,
                         N_("%(file)s, line %(line)s: the default account %(key)s names %(value)s, which is not a postable account."),
                         key=role, value=code)
        if not tags & set(target.tags):
            raise _error(path, target.line,
                         N_("%(file)s, line %(line)s: account %(value)s is the default %(key)s account but lacks the tag %(tag)s."),
                         key=role, value=code, tag=" / ".join(sorted(tags)))
    unknown_roles = set(defaults) - set(DEFAULT_ACCOUNT_TAGS)
    if unknown_roles:
        raise _error(path, default_line, N_("%(file)s, line %(line)s: unknown default account %(key)s."),
                     key=", ".join(sorted(unknown_roles)))
    return ChartTemplate(
        id=data["id"], version=data["version"], name=str(data["name"]),
        country=(str(data["country"]).upper() if data.get("country") else None),
        activities=activities, language=data["language"],
        currency=str(currency).upper() if currency else None,
        default_accounts={k: str(v) for k, v in defaults.items()},
        accounts=tuple(accounts.values()), path=path,
    )


def _parse_account(path: Path, raw: dict[str, Any], earlier: dict[str, TemplateAccount]) -> TemplateAccount:
    line = raw.pop("__line__")
    raw.pop("__keylines__", None)
    allowed = {"code", "name", "type", "subtype", "parent", "reconcilable", "header", "tags"}
    unknown = set(raw) - allowed
    if unknown:
        raise _error(path, line, N_("%(file)s, line %(line)s: unknown key %(key)s."), key=", ".join(sorted(unknown)))
    code = raw.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise _error(path, line, N_("%(file)s, line %(line)s: the account code %(value)s must be a quoted code of digits, letters and dots."),
                     value=code)
    if code in earlier:
        raise _error(path, line, N_("%(file)s, line %(line)s: the account code %(value)s appears twice."), value=code)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _error(path, line, N_("%(file)s, line %(line)s: account %(value)s has no name."), value=code)
    header = bool(raw.get("header", False))
    account_type = raw.get("type")
    if account_type is None and not header:
        raise _error(path, line, N_("%(file)s, line %(line)s: account %(value)s needs a type."), value=code)
    if account_type is not None and account_type not in AccountType.__members__.values():
        raise _error(path, line, N_("%(file)s, line %(line)s: unknown account type %(value)s."), value=account_type)
    subtype = raw.get("subtype", AccountSubtype.GENERAL)
    if subtype not in AccountSubtype.__members__.values():
        raise _error(path, line, N_("%(file)s, line %(line)s: unknown account subtype %(value)s."), value=subtype)
    allowed_types = SUBTYPE_TYPES.get(AccountSubtype(subtype))
    if allowed_types and account_type not in allowed_types:
        raise _error(path, line, N_("%(file)s, line %(line)s: a %(key)s account cannot have the type %(value)s."),
                     key=subtype, value=account_type)
    parent = raw.get("parent")
    if parent is not None and str(parent) not in earlier:
        raise _error(path, line, N_("%(file)s, line %(line)s: the parent %(value)s is not defined above."),
                     value=parent)
    tags = raw.get("tags") or []
    if not isinstance(tags, list):
        raise _error(path, line, N_("%(file)s, line %(line)s: tags are a list."))
    for tag in tags:
        if tag not in TAGS:
            raise _error(path, line, N_("%(file)s, line %(line)s: unknown tag %(value)s."), value=tag)
    return TemplateAccount(
        code=code, name=name.strip(), type=account_type, subtype=str(subtype),
        parent=str(parent) if parent is not None else None,
        reconcilable=bool(raw.get("reconcilable", False)), header=header,
        tags=tuple(dict.fromkeys(tags)), line=line,
    )


def template_paths() -> list[Path]:
    """Template files shipped in ``chart_templates/`` and registered by plugins."""
    from core.plugins import get_registry

    shipped = resources.files("chart_templates")
    paths = sorted(Path(str(p)) for p in shipped.iterdir() if p.name.endswith(".yaml"))
    for result in get_registry().hook.comptoir_register_chart_templates():
        paths.extend(Path(p) for p in result or [])
    return paths


@lru_cache(maxsize=64)
def _parse_cached(path: Path, mtime: float) -> ChartTemplate:
    return parse_template(path)


def list_templates() -> dict[str, ChartTemplate]:
    templates: dict[str, ChartTemplate] = {}
    for path in template_paths():
        template = _parse_cached(path, path.stat().st_mtime)
        if template.id in templates:
            raise ChartTemplateError(N_("%(file)s, line %(line)s: the template id %(value)s is used twice."),
                                     file=str(path), line=1, value=template.id)
        templates[template.id] = template
    return templates


def get_template(template_id: str) -> ChartTemplate:
    templates = list_templates()
    if template_id not in templates:
        raise NotFound(N_("There is no chart template %(template)s (known: %(known)s)."),
                       template=template_id, known=", ".join(sorted(templates)))
    return templates[template_id]


# --- loading and updating an organization's chart -----------------------------------------------

def load_template(session: Session, org: Any, template: ChartTemplate) -> None:
    """Create the template's accounts, tags and default accounts in the session's organization."""
    org_id = require_tenant(session)
    if session.scalars(select(Account.id).limit(1)).first() is not None:
        raise Conflict(N_("The organization already has a chart of accounts."))
    count = len(template.accounts)
    tag_count = sum(len(a.tags) for a in template.accounts)
    ids = allocate_ids(session, count + tag_count + len(template.default_accounts))
    by_code: dict[str, int] = {}
    account_rows = []
    for account, new_id in zip(template.accounts, ids[:count], strict=True):
        by_code[account.code] = new_id
        account_rows.append(_account_row(org_id, new_id, account, by_code))
    tag_ids = iter(ids[count:count + tag_count])
    tag_rows = [{"org_id": org_id, "id": next(tag_ids), "account_id": by_code[a.code], "tag": t}
                for a in template.accounts for t in a.tags]
    default_ids = iter(ids[count + tag_count:])
    default_rows = [{"org_id": org_id, "id": next(default_ids), "role": role, "account_id": by_code[code]}
                    for role, code in template.default_accounts.items()]
    session.execute(insert(Account), account_rows)
    if tag_rows:
        session.execute(insert(AccountTag), tag_rows)
    session.execute(insert(DefaultAccount), default_rows)
    org.chart_template = template.id
    org.chart_version = template.version


def _account_row(org_id: int, new_id: int, account: TemplateAccount, by_code: dict[str, int]) -> dict[str, Any]:
    return {
        "org_id": org_id, "id": new_id, "code": account.code, "name": account.name,
        "type": account.type, "subtype": account.subtype,
        "parent_id": by_code[account.parent] if account.parent else None,
        "currency": None, "reconcilable": account.reconcilable, "deprecated": False,
        "header": account.header,
    }


class ChangeKind(enum.StrEnum):
    ADD = "add"
    RENAME = "rename"
    RETYPE = "retype"
    TAG = "tag"
    DEFAULT = "default"
    KEEP = "keep"  # a change the template asks for that is not applied (account in use)


@dataclass(frozen=True)
class ChartChange:
    kind: ChangeKind
    code: str
    msgid: str
    params: dict[str, Any]
    applied: bool


@dataclass(frozen=True)
class ChartUpdatePlan:
    template: str
    from_version: int | None
    to_version: int
    changes: tuple[ChartChange, ...]

    @property
    def applicable(self) -> tuple[ChartChange, ...]:
        return tuple(c for c in self.changes if c.applied)


def accounts_in_use(session: Session, account_ids: Iterable[int]) -> set[int]:
    """Which of these accounts some plugin's data uses (postings, invoices, assets…)."""
    from core.plugins import get_registry

    wanted = frozenset(account_ids)
    if not wanted:
        return set()
    used: set[int] = set()
    # Every installed plugin answers, enabled or not: a disabled plugin's data is kept.
    for result in get_registry().hook.comptoir_accounts_in_use(session=session, account_ids=wanted):
        used.update(result or ())
    return used & wanted


def plan_chart_update(session: Session, org: Any, template: ChartTemplate | None = None) -> ChartUpdatePlan:
    """What ``comptoir chart update`` would change, without changing anything."""
    require_tenant(session)
    if template is None:
        if not org.chart_template:
            raise ValidationError(N_("This organization's chart was not made from a template."))
        template = get_template(org.chart_template)
    existing = {a.code: a for a in session.scalars(select(Account))}
    tags: dict[int, set[str]] = {}
    for tag in session.scalars(select(AccountTag)):
        tags.setdefault(tag.account_id, set()).add(tag.tag)
    in_use = accounts_in_use(session, [a.id for a in existing.values()])
    changes: list[ChartChange] = []
    for wanted in template.accounts:
        current = existing.get(wanted.code)
        if current is None:
            changes.append(ChartChange(ChangeKind.ADD, wanted.code, N_("Add account %(code)s %(name)s."),
                                       {"code": wanted.code, "name": wanted.name}, True))
            continue
        used = current.id in in_use
        if current.name != wanted.name:
            if used:
                changes.append(ChartChange(ChangeKind.KEEP, wanted.code,
                                           N_("Keep the name of account %(code)s (%(old)s): it is in use; the template calls it %(new)s."),
                                           {"code": wanted.code, "old": current.name, "new": wanted.name}, False))
            else:
                changes.append(ChartChange(ChangeKind.RENAME, wanted.code, N_("Rename account %(code)s from %(old)s to %(new)s."),
                                           {"code": wanted.code, "old": current.name, "new": wanted.name}, True))
        if (current.type, current.subtype, current.header) != (wanted.type, wanted.subtype, wanted.header):
            if used:
                changes.append(ChartChange(ChangeKind.KEEP, wanted.code,
                                           N_("Keep the type of account %(code)s: it is in use."),
                                           {"code": wanted.code}, False))
            else:
                changes.append(ChartChange(ChangeKind.RETYPE, wanted.code,
                                           N_("Change the type of account %(code)s to %(type)s."),
                                           {"code": wanted.code, "type": wanted.type or "header"}, True))
        missing_tags = set(wanted.tags) - tags.get(current.id, set())
        if missing_tags:
            changes.append(ChartChange(ChangeKind.TAG, wanted.code, N_("Tag account %(code)s with %(tags)s."),
                                       {"code": wanted.code, "tags": ", ".join(sorted(missing_tags))}, True))
    defaults = {d.role for d in session.scalars(select(DefaultAccount))}
    for role, code in template.default_accounts.items():
        if role not in defaults:
            changes.append(ChartChange(ChangeKind.DEFAULT, code, N_("Use account %(code)s as the default %(role)s account."),
                                       {"code": code, "role": role}, True))
    return ChartUpdatePlan(template.id, org.chart_version, template.version, tuple(changes))


def apply_chart_update(session: Session, org: Any, template: ChartTemplate | None = None, *,
                       actor: Any = None) -> ChartUpdatePlan:
    """Apply the plan: add new accounts and tags, rename unused ones; never delete."""
    plan = plan_chart_update(session, org, template)
    template = template or get_template(plan.template)
    by_code = {a.code: a for a in session.scalars(select(Account))}
    for change in plan.applicable:
        wanted = template.account(change.code)
        if change.kind is ChangeKind.ADD and wanted is not None:
            parent = by_code.get(wanted.parent) if wanted.parent else None
            account = Account(code=wanted.code, name=wanted.name, type=wanted.type, subtype=wanted.subtype,
                              parent_id=parent.id if parent else None, reconcilable=wanted.reconcilable,
                              header=wanted.header)
            session.add(account)
            session.flush()
            by_code[wanted.code] = account
            session.add_all(AccountTag(account_id=account.id, tag=t) for t in wanted.tags)
        elif change.kind is ChangeKind.RENAME and wanted is not None:
            by_code[change.code].name = wanted.name
        elif change.kind is ChangeKind.RETYPE and wanted is not None:
            account = by_code[change.code]
            account.type, account.subtype, account.header = wanted.type, wanted.subtype, wanted.header
        elif change.kind is ChangeKind.TAG and wanted is not None:
            have = set(session.scalars(select(AccountTag.tag).where(AccountTag.account_id == by_code[change.code].id)))
            session.add_all(AccountTag(account_id=by_code[change.code].id, tag=t)
                            for t in wanted.tags if t not in have)
        elif change.kind is ChangeKind.DEFAULT:
            session.add(DefaultAccount(role=change.params["role"], account_id=by_code[change.code].id))
    org.chart_version = template.version
    session.flush()
    audit.record(session, "chart.updated", target=template.id, actor=actor,
                 from_version=plan.from_version, to_version=template.version,
                 applied=len(plan.applicable))
    return plan


# --- accounts -------------------------------------------------------------------------------------

def get_account(session: Session, code: str) -> Account:
    account = session.scalars(select(Account).where(Account.code == code)).one_or_none()
    if account is None:
        raise NotFound(N_("There is no account %(code)s."), code=code)
    return account


def list_accounts(session: Session, *, include_deprecated: bool = True) -> list[Account]:
    query = select(Account).order_by(Account.code)
    if not include_deprecated:
        query = query.where(Account.deprecated.is_(False))
    return list(session.scalars(query))


def account_tags(session: Session, account: Account) -> set[str]:
    return set(session.scalars(select(AccountTag.tag).where(AccountTag.account_id == account.id)))


def accounts_with_tag(session: Session, tag: str) -> list[Account]:
    return list(session.scalars(
        select(Account).join(AccountTag, (AccountTag.org_id == Account.org_id) & (AccountTag.account_id == Account.id))
        .where(AccountTag.tag == tag).order_by(Account.code)))


def default_account(session: Session, role: str) -> Account:
    """The account playing ``role`` (``receivable``, ``result``…) for the organization."""
    row = session.scalars(select(DefaultAccount).where(DefaultAccount.role == role)).one_or_none()
    if row is None:
        raise NotFound(N_("No default %(role)s account is set."), role=role)
    return session.get_one(Account, (row.org_id, row.account_id))


def create_account(session: Session, code: str, name: str, *, type: str | None, subtype: str = "general",
                   parent: str | None = None, currency: str | None = None, reconcilable: bool = False,
                   header: bool = False, tags: Iterable[str] = (), actor: Any = None) -> Account:
    """A new account in the session's organization; every problem is reported at once."""
    require_tenant(session)
    code = code.strip()
    tags = list(dict.fromkeys(tags))
    problems: list[FieldError] = []
    if not CODE_RE.match(code):
        problems.append(FieldError("code", N_("An account code uses digits, letters and dots.")))
    if not name.strip():
        problems.append(FieldError("name", N_("The account needs a name.")))
    if type is None and not header:
        problems.append(FieldError("type", N_("The account needs a type.")))
    if type is not None and type not in AccountType.__members__.values():
        problems.append(FieldError("type", N_("Unknown account type %(value)s."), {"value": type}))
    if subtype not in AccountSubtype.__members__.values():
        problems.append(FieldError("subtype", N_("Unknown account subtype %(value)s."), {"value": subtype}))
    elif SUBTYPE_TYPES.get(AccountSubtype(subtype)) and type not in SUBTYPE_TYPES[AccountSubtype(subtype)]:
        problems.append(FieldError("subtype", N_("A %(subtype)s account cannot have the type %(type)s."),
                                   {"subtype": subtype, "type": type}))
    if currency is not None and not is_known_currency(currency):
        problems.append(FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": currency}))
    for tag in tags:
        if tag not in TAGS:
            problems.append(FieldError("tags", N_("Unknown tag %(value)s."), {"value": tag}))
    parent_account = None
    if parent:
        parent_account = session.scalars(select(Account).where(Account.code == parent)).one_or_none()
        if parent_account is None:
            problems.append(FieldError("parent", N_("There is no account %(code)s."), {"code": parent}))
    if problems:
        raise ValidationError(problems)
    if session.scalars(select(Account.id).where(Account.code == code)).first() is not None:
        raise Conflict(N_("The account code %(code)s is already used."), code=code)
    account = Account(code=code, name=name.strip(), type=type, subtype=subtype,
                      parent_id=parent_account.id if parent_account else None,
                      currency=currency.upper() if currency else None, reconcilable=reconcilable, header=header)
    session.add(account)
    session.flush()
    session.add_all(AccountTag(account_id=account.id, tag=t) for t in tags)
    audit.record(session, "account.created", target=code, actor=actor)
    return account


def deprecate_account(session: Session, code: str, *, actor: Any = None) -> Account:
    """The account takes no new postings; its history stays."""
    account = get_account(session, code)
    account.deprecated = True
    audit.record(session, "account.deprecated", target=code, actor=actor)
    return account


def delete_account(session: Session, code: str, *, actor: Any = None) -> None:
    """Delete an account nothing uses; one with postings can only be deprecated."""
    account = get_account(session, code)
    if account.id in accounts_in_use(session, [account.id]):
        raise Conflict(N_("Account %(code)s has postings: deprecate it instead of deleting it."), code=code)
    if session.scalars(select(Account.id).where(Account.parent_id == account.id)).first() is not None:
        raise Conflict(N_("Account %(code)s has sub-accounts."), code=code)
    if session.scalars(select(DefaultAccount.id).where(DefaultAccount.account_id == account.id)).first() is not None:
        raise Conflict(N_("Account %(code)s is a default account of the organization."), code=code)
    session.execute(delete(AccountTag).where(AccountTag.account_id == account.id))
    session.delete(account)
    audit.record(session, "account.deleted", target=code, actor=actor)
