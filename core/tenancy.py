"""Organizations (the tenants), head offices and branches, and their creation.

An organization is found by its short unique code or its name, case-insensitively.
Creating one loads its chart, opens its first fiscal year, enables its default plugins
and lets every enabled plugin add its defaults, all in one transaction.
"""
from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata

from babel import Locale
from sqlalchemy import BigInteger, ForeignKey, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import BigInt, Base, Timestamp, set_tenant, tenant_id, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.i18n import N_, SUPPORTED_LOCALES
from core.money import is_known_currency


class OrgStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Calendar(enum.StrEnum):
    GREGORIAN = "gregorian"
    PERSIAN = "persian"


class Organization(Base):
    """A tenant: a company with its own books. ``parent_id`` is its head office, if any."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    calendar: Mapped[str] = mapped_column(String(16), default=Calendar.GREGORIAN)
    fiscal_year_start_month: Mapped[int] = mapped_column(default=1)
    fiscal_year_start_day: Mapped[int] = mapped_column(default=1)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("organization.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OrgStatus.ACTIVE)
    chart_template: Mapped[str | None] = mapped_column(String(64))
    chart_version: Mapped[int | None]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Organization {self.code}>"


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:24].strip("-") or "org"


def _unique_code(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Organization.code).where(Organization.code.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def find_organization(session: Session, ref: str | int) -> Organization:
    """The organization named by its id, its code or its name (case-insensitive)."""
    text = str(ref).strip()
    if not text:
        raise NotFound(N_("Organization %(ref)s was not found."), ref=text)
    conditions = [Organization.code == text.lower(), func.lower(Organization.name) == text.lower()]
    if text.isdigit():
        conditions.append(Organization.id == int(text))
    found = list(session.scalars(select(Organization).where(or_(*conditions))))
    by_code = [o for o in found if o.code == text.lower()]
    if by_code:
        return by_code[0]
    if not found:
        raise NotFound(N_("Organization %(ref)s was not found."), ref=text)
    if len(found) > 1:
        raise Conflict(N_("Several organizations are named %(ref)s; use the organization's code instead."), ref=text)
    return found[0]


def current_organization(session: Session) -> Organization:
    org_id = tenant_id(session)
    if org_id is None:
        raise NotFound(N_("No organization is selected."))
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(N_("Organization %(ref)s was not found."), ref=org_id)
    return org


def list_organizations(session: Session) -> list[Organization]:
    """Every organization (an administrator's view: the CLI)."""
    return list(session.scalars(select(Organization).order_by(Organization.code)))


def branches(session: Session, head_office: Organization, *, recursive: bool = True) -> list[Organization]:
    """The head office's branches (and theirs, when ``recursive``), for consolidation."""
    found: list[Organization] = []
    frontier = [head_office.id]
    while frontier:
        children = list(session.scalars(
            select(Organization).where(Organization.parent_id.in_(frontier)).order_by(Organization.code)))
        found.extend(children)
        frontier = [c.id for c in children] if recursive else []
    return found


def _validate(session: Session, name: str, country: str | None, currency: str, locale: str,
              start_month: int, start_day: int, calendar: str) -> list[FieldError]:
    problems = []
    if not name.strip():
        problems.append(FieldError("name", N_("The organization needs a name.")))
    if country is not None and not (len(country) == 2 and country.isalpha()
                                    and country.upper() in Locale("en").territories):
        problems.append(FieldError("country", N_("%(country)s is not a country code."), {"country": country}))
    if not currency:
        problems.append(FieldError("currency", N_("The organization needs a currency.")))
    elif not is_known_currency(currency):
        problems.append(FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": currency}))
    if locale not in SUPPORTED_LOCALES:
        problems.append(FieldError("locale", N_("Unsupported language %(locale)s."), {"locale": locale}))
    if not 1 <= start_month <= 12:
        problems.append(FieldError("fiscal_year_start_month", N_("A month is between 1 and 12.")))
    if not 1 <= start_day <= 28 and not (calendar == Calendar.PERSIAN and start_day <= 31):
        problems.append(FieldError("fiscal_year_start_day", N_("A fiscal year starts on a day between 1 and 28.")))
    if calendar not in Calendar.__members__.values():
        problems.append(FieldError("calendar", N_("Unknown calendar %(calendar)s."), {"calendar": calendar}))
    return problems


def create_organization(
    session: Session,
    name: str,
    *,
    currency: str | None = None,
    country: str | None = None,
    chart: str | None = None,
    parent: Organization | None = None,
    code: str | None = None,
    locale: str | None = None,
    calendar: str = Calendar.GREGORIAN,
    fiscal_year_start_month: int = 1,
    fiscal_year_start_day: int = 1,
    first_fiscal_year: int | None = None,
    owner: object | None = None,
    plugins: list[str] | None = None,
    actor: object | None = None,
) -> Organization:
    """A new organization with its chart, first fiscal year and default plugins.

    ``currency``, ``country`` and ``locale`` default to the chart template's. ``owner`` (a
    User) becomes its owner. ``plugins`` overrides the plugins enabled by default. On return
    the session is scoped to the new organization.
    """
    from core import chart as chart_service
    from core import periods
    from core.plugins import enable_plugin, get_registry
    from core.security import BuiltinRole, add_member

    template = chart_service.get_template(chart) if chart else None
    currency = (currency or (template.currency if template else None) or "").upper()
    country = (country or (template.country if template else None) or None)
    country = country.upper() if country else None
    locale = locale or (template.language if template else "en")
    problems = _validate(session, name, country, currency, locale,
                         fiscal_year_start_month, fiscal_year_start_day, calendar)
    if parent is not None and parent.status != OrgStatus.ACTIVE:
        problems.append(FieldError("parent", N_("The head office %(ref)s is not active."), {"ref": parent.code}))
    if problems:
        raise ValidationError(problems)
    code = (code or "").strip().lower() or _unique_code(session, slugify(name))
    if not re.fullmatch(r"[a-z0-9][a-z0-9\-]{0,31}", code):
        raise ValidationError(FieldError("code", N_("An organization code uses lower-case letters, digits and -.")))
    if session.scalars(select(Organization.id).where(Organization.code == code)).first() is not None:
        raise Conflict(N_("The organization code %(code)s is taken."), code=code)

    org = Organization(
        name=name.strip(), code=code, country=country, currency=currency, locale=locale,
        calendar=calendar, fiscal_year_start_month=fiscal_year_start_month,
        fiscal_year_start_day=fiscal_year_start_day, parent_id=parent.id if parent else None,
    )
    session.add(org)
    session.flush()
    set_tenant(session, org.id)
    if template is not None:
        chart_service.load_template(session, org, template)
    periods.create_fiscal_year(session, org, year=first_fiscal_year or dt.date.today().year)
    registry = get_registry()
    wanted = plugins if plugins is not None else [
        n for n, m in registry.manifests.items() if m.default_enabled]
    for plugin in wanted:
        enable_plugin(session, plugin, actor=actor)
    if owner is not None:
        add_member(session, owner, BuiltinRole.OWNER, actor=actor)  # type: ignore[arg-type]
    audit.record(session, "organization.created", target=org.code, actor=actor,
                 chart=template.id if template else None, currency=currency,
                 parent=parent.code if parent else None)
    session.flush()
    return org
