"""The kernel's own sheet: the chart of accounts, keyed by account code.

New accounts go through ``core.chart.create_account``. With ``--update`` an existing account
takes the file's name, type, parent, currency, flags and tags; an account that has postings
(``accounts_in_use``) keeps its name and type, as in a chart update.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import audit
from core.chart import (
    CODE_RE,
    DEFAULT_ACCOUNT_TAGS,
    SUBTYPE_TYPES,
    TAGS,
    Account,
    AccountSubtype,
    AccountTag,
    AccountType,
    DefaultAccount,
    accounts_in_use,
    create_account,
    deprecate_account,
    list_accounts,
)
from core.errors import ComptoirError, FieldError, ValidationError
from core.excel.schema import Choice, Column, ColumnType, ImportContext, ImportCounts, Record, Schema
from core.i18n import N_
from core.money import is_known_currency

_TAG_SEPARATORS = re.compile(r"[,;\s]+")
_IN_USE_FIXED = ("name", "type", "subtype", "header")

COLUMNS = (
    Column("code", N_("Code"), ColumnType.CODE, required=True, example="512100",
           aliases={"en": ("Account", "Account code", "Account number", "Number"),
                    "fr": ("Compte", "Numéro de compte", "N° de compte", "N° compte"),
                    "es": ("Cuenta", "Código", "Número de cuenta"),
                    "fa": ("کد حساب", "کد", "شماره حساب")}),
    Column("name", N_("Name"), ColumnType.TEXT, required=True, example="Bank – main account",
           aliases={"en": ("Account name", "Title", "Description"),
                    "fr": ("Nom", "Intitulé", "Libellé", "Nom du compte"),
                    "es": ("Nombre", "Descripción", "Nombre de la cuenta"),
                    "fa": ("نام", "نام حساب", "عنوان")}),
    Column("type", N_("Type"), ColumnType.CHOICE, example="asset",
           choices=(Choice(AccountType.ASSET, N_("Asset")), Choice(AccountType.LIABILITY, N_("Liability")),
                    Choice(AccountType.EQUITY, N_("Equity")), Choice(AccountType.INCOME, N_("Income")),
                    Choice(AccountType.EXPENSE, N_("Expense"))),
           aliases={"fr": ("Type", "Nature"), "es": ("Tipo",), "fa": ("نوع",)}),
    Column("subtype", N_("Subtype"), ColumnType.CHOICE, example="bank",
           choices=(Choice(AccountSubtype.GENERAL, N_("General")), Choice(AccountSubtype.RECEIVABLE, N_("Receivable")),
                    Choice(AccountSubtype.PAYABLE, N_("Payable")), Choice(AccountSubtype.BANK, N_("Bank")),
                    Choice(AccountSubtype.CASH, N_("Cash")), Choice(AccountSubtype.TAX, N_("Tax"))),
           aliases={"fr": ("Sous-type",), "es": ("Subtipo",), "fa": ("زیرنوع",)}),
    Column("parent", N_("Parent account"), ColumnType.CODE, example="51",
           aliases={"en": ("Parent",), "fr": ("Compte parent", "Parent"), "es": ("Cuenta padre",),
                    "fa": ("حساب والد", "حساب مادر")}),
    Column("currency", N_("Currency"), ColumnType.CODE,
           aliases={"fr": ("Devise",), "es": ("Moneda", "Divisa"), "fa": ("ارز",)}),
    Column("reconcilable", N_("Reconcilable"), ColumnType.BOOLEAN, example=True,
           aliases={"fr": ("Lettrable", "Rapprochable"), "es": ("Conciliable",), "fa": ("قابل تطبیق",)}),
    Column("header", N_("Heading"), ColumnType.BOOLEAN, example=False,
           aliases={"en": ("Header", "Group"), "fr": ("Titre", "Regroupement"), "es": ("Título", "Agrupador"),
                    "fa": ("سرفصل",)}),
    Column("tags", N_("Tags"), ColumnType.TEXT, example="bank",
           aliases={"fr": ("Étiquettes", "Tags"), "es": ("Etiquetas",), "fa": ("برچسب‌ها", "برچسب")}),
    Column("roles", N_("Default for"), ColumnType.TEXT, example="bank",
           aliases={"en": ("Default account for", "Roles"), "fr": ("Compte par défaut pour", "Rôles"),
                    "es": ("Cuenta por defecto para",), "fa": ("حساب پیش‌فرض برای",)}),
    Column("deprecated", N_("Deprecated"), ColumnType.BOOLEAN, example=False,
           aliases={"fr": ("Obsolète", "Désactivé"), "es": ("Obsoleta",), "fa": ("منسوخ",)}),
)


def split_tags(text: str | None) -> list[str]:
    return [tag for tag in _TAG_SEPARATORS.split(text or "") if tag]


def _wanted(record: Record) -> dict[str, Any]:
    """What the row asks for, with the defaults an empty cell means."""
    row = record.first
    return {"name": row["name"], "type": row["type"], "subtype": row["subtype"] or AccountSubtype.GENERAL,
            "header": bool(row["header"]), "reconcilable": bool(row["reconcilable"]),
            "currency": row["currency"].upper() if row["currency"] else None, "parent": row["parent"],
            "tags": sorted(set(split_tags(row["tags"])))}


def _current(account: Account, parents: Mapping[int, str], tags: Mapping[int, set[str]]) -> dict[str, Any]:
    return {"name": account.name, "type": account.type, "subtype": account.subtype, "header": account.header,
            "reconcilable": account.reconcilable, "currency": account.currency,
            "parent": parents.get(account.parent_id) if account.parent_id else None,
            "tags": sorted(tags.get(account.id, set()))}


def _changes(account: Account, record: Record, context: ImportContext, parents: Mapping[int, str],
             tags: Mapping[int, set[str]]) -> dict[str, Any]:
    """The fields the file changes, among the columns it has (a missing column changes nothing)."""
    wanted, current = _wanted(record), _current(account, parents, tags)
    return {k: v for k, v in wanted.items() if k in context.columns and v != current[k]}


def _tags_by_account(session: Session) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for tag in session.scalars(select(AccountTag)):
        found.setdefault(tag.account_id, set()).add(tag.tag)
    return found


def validate_accounts(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    existing = {a.code: a for a in list_accounts(session)}
    parents = {a.id: a.code for a in existing.values()}
    in_file = {record.key[0]: record for record in records}
    errors: list[FieldError] = []
    for record in records:
        row = record.first
        code, wanted = row["code"], _wanted(record)

        def problem(field: str, msgid: str, number: int = row.number, **params: Any) -> None:
            errors.append(FieldError(field, msgid, params, number))

        if not CODE_RE.match(code):
            problem("code", N_("An account code uses digits, letters and dots."))
        if wanted["type"] is None and not wanted["header"] and (code not in existing or "type" in context.columns):
            problem("type", N_("The account needs a type."))
        allowed = SUBTYPE_TYPES.get(AccountSubtype(wanted["subtype"]))
        if allowed and wanted["type"] not in allowed:
            problem("subtype", N_("A %(subtype)s account cannot have the type %(type)s."),
                    subtype=wanted["subtype"], type=wanted["type"] or "-")
        if wanted["currency"] and not is_known_currency(wanted["currency"]):
            problem("currency", N_("%(currency)s is not a currency code."), currency=row["currency"])
        for tag in wanted["tags"]:
            if tag not in TAGS:
                problem("tags", N_("Unknown tag %(value)s."), value=tag)
        parent = wanted["parent"]
        if parent == code:
            problem("parent", N_("An account cannot be its own parent."))
        elif parent and parent not in existing and parent not in in_file:
            problem("parent", N_("There is no account %(code)s."), code=parent)
    errors.extend(_role_problems(records))
    errors.extend(_parent_cycles(records, in_file))
    if context.update:
        errors.extend(_locked_changes(session, records, context, existing, parents))
    return errors


def _role_problems(records: Sequence[Record]) -> list[FieldError]:
    errors, seen = [], {}
    for record in records:
        for role in split_tags(record.first["roles"]):
            if role not in DEFAULT_ACCOUNT_TAGS:
                errors.append(FieldError("roles", N_("Unknown default account role %(value)s (known: %(known)s)."),
                                         {"value": role, "known": ", ".join(DEFAULT_ACCOUNT_TAGS)}, record.first.number))
            elif role in seen:
                errors.append(FieldError("roles", N_("The default %(role)s account is already %(code)s."),
                                         {"role": role, "code": seen[role]}, record.first.number))
            seen.setdefault(role, record.key[0])
    return errors


def _parent_cycles(records: Sequence[Record], in_file: Mapping[str, Record]) -> list[FieldError]:
    errors = []
    for record in records:
        seen, code = {record.key[0]}, record.first["parent"]
        while code in in_file and code not in seen:
            seen.add(code)
            code = in_file[code].first["parent"]
        if code == record.key[0] and record.first["parent"] != record.key[0]:
            errors.append(FieldError("parent", N_("The parent accounts of %(code)s go round in a circle."),
                                     {"code": record.key[0]}, record.first.number))
    return errors


def _locked_changes(session: Session, records: Sequence[Record], context: ImportContext,
                    existing: Mapping[str, Account], parents: Mapping[int, str]) -> list[FieldError]:
    """An account with postings keeps its name and type (as ``comptoir chart update`` does)."""
    tags = _tags_by_account(session)
    touched = {r.key[0]: _changes(existing[r.key[0]], r, context, parents, tags)
               for r in records if r.key[0] in existing}
    used = accounts_in_use(session, [existing[c].id for c, changes in touched.items()
                                     if set(changes) & set(_IN_USE_FIXED)])
    errors = []
    for record in records:
        code = record.key[0]
        if code in touched and existing[code].id in used:
            field = next(f for f in _IN_USE_FIXED if f in touched[code])
            errors.append(FieldError(field, N_("Account %(code)s is in use: its name and type cannot change."),
                                     {"code": code}, record.first.number))
    return errors


def _parents_first(records: Sequence[Record]) -> Iterator[Record]:
    in_file = {record.key[0]: record for record in records}
    done: set[str] = set()

    def visit(record: Record) -> Iterator[Record]:
        code = record.key[0]
        if code in done:
            return
        done.add(code)
        parent = in_file.get(record.first["parent"] or "")
        if parent is not None:
            yield from visit(parent)
        yield record

    for record in records:
        yield from visit(record)


def write_accounts(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    existing = {a.code: a for a in list_accounts(session)}
    parents = {a.id: a.code for a in existing.values()}
    tags = _tags_by_account(session)
    created = updated = unchanged = 0
    for record in _parents_first(records):
        code, wanted, number = record.key[0], _wanted(record), record.first.number
        account = existing.get(code)
        try:
            if account is None:
                account = create_account(
                    session, code, wanted["name"], type=wanted["type"], subtype=wanted["subtype"],
                    parent=wanted["parent"], currency=wanted["currency"], reconcilable=wanted["reconcilable"],
                    header=wanted["header"], tags=wanted["tags"])
                existing[code], parents[account.id] = account, code
                if record.first["deprecated"]:
                    context.notes.setdefault("deprecate", []).append(code)
                created += 1
                continue
        except ValidationError as error:
            raise ValidationError([FieldError(e.field, e.msgid, e.params, number) for e in error.errors]) from None
        except ComptoirError as error:
            raise ValidationError(FieldError("code", error.msgid, error.params, number)) from None
        changes = _changes(account, record, context, parents, tags) if context.update else {}
        if record.first["deprecated"] and not account.deprecated and context.update:
            context.notes.setdefault("deprecate", []).append(code)
            changes = {**changes, "deprecated": True}
        if not changes:
            unchanged += 1
            continue
        _apply(session, account, changes, existing)
        audit.record(session, "account.updated", target=code, fields=sorted(changes))
        updated += 1
    if "roles" in context.columns:
        _set_roles(session, records, context, existing)
    return ImportCounts(created, updated, unchanged)


def _set_roles(session: Session, records: Sequence[Record], context: ImportContext,
               existing: Mapping[str, Account]) -> None:
    """Default accounts the file names: a role not yet set takes the file's account; one set
    to another account changes only with ``--update``."""
    current = {d.role: d for d in session.scalars(select(DefaultAccount))}
    for record in records:
        for role in split_tags(record.first["roles"]):
            account_id = existing[record.key[0]].id
            if role not in current:
                current[role] = DefaultAccount(role=role, account_id=account_id)
                session.add(current[role])
            elif current[role].account_id != account_id and context.update:
                current[role].account_id = account_id
                audit.record(session, "account.default_changed", target=record.key[0], role=role)
    session.flush()


def finish_accounts(session: Session, records: Sequence[Record], context: ImportContext) -> None:
    """Deprecated accounts are deprecated last: the workbook's entries may still post to them."""
    for code in context.notes.get("deprecate", ()):
        deprecate_account(session, code)


def _apply(session: Session, account: Account, changes: Mapping[str, Any], existing: Mapping[str, Account]) -> None:
    for field in ("name", "type", "subtype", "header", "reconcilable", "currency"):  # deprecated: in finish
        if field in changes:
            setattr(account, field, changes[field])
    if "parent" in changes:
        account.parent_id = existing[changes["parent"]].id if changes["parent"] else None
    if "tags" in changes:
        session.execute(delete(AccountTag).where(AccountTag.account_id == account.id))
        session.add_all(AccountTag(account_id=account.id, tag=tag) for tag in changes["tags"])
    session.flush()


def export_accounts(session: Session) -> Iterator[dict[str, Any]]:
    accounts = list_accounts(session)
    codes = {a.id: a.code for a in accounts}
    tags = _tags_by_account(session)
    roles: dict[int, list[str]] = {}
    for default in session.scalars(select(DefaultAccount).order_by(DefaultAccount.role)):
        roles.setdefault(default.account_id, []).append(default.role)
    for account in accounts:
        yield {"code": account.code, "name": account.name, "type": account.type, "subtype": account.subtype,
               "parent": codes.get(account.parent_id) if account.parent_id else None,
               "currency": account.currency, "reconcilable": account.reconcilable, "header": account.header,
               "tags": ", ".join(sorted(tags.get(account.id, ()))) or None,
               "roles": ", ".join(roles.get(account.id, ())) or None, "deprecated": account.deprecated}


ACCOUNTS = Schema(
    name="accounts", sheet=N_("Accounts"), label=N_("Chart of accounts"), columns=COLUMNS, key=("code",),
    validate=validate_accounts, write=write_accounts, finish=finish_accounts, export=export_accounts, order=10,
    aliases={"en": ("Chart",), "fr": ("Comptes", "Plan comptable"), "es": ("Cuentas", "Plan de cuentas"),
             "fa": ("حساب‌ها", "سرفصل حساب‌ها")},
)
