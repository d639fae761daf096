"""Fiscal years and their periods: explicit date ranges, any start date, locks.

Periods are stored as real date ranges, never assumed to be Gregorian months: an
organization on the Persian calendar gets Jalali months, a short first year simply has
fewer periods.
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any

import jdatetime
from sqlalchemy import BigInteger, Date, ForeignKeyConstraint, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, OrgOwned, Timestamp, require_tenant
from core.errors import Conflict, FieldError, NotFound, PeriodLocked, ValidationError
from core.i18n import N_


class FiscalYearState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class FiscalYear(OrgOwned, Base):
    __tablename__ = "fiscal_year"
    __table_args__ = (UniqueConstraint("org_id", "name"), Index(None, "org_id", "start_date"))

    name: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=FiscalYearState.OPEN)
    closed_at: Mapped[Timestamp | None]
    closed_by: Mapped[int | None]

    @property
    def is_closed(self) -> bool:
        return self.state == FiscalYearState.CLOSED

    def __repr__(self) -> str:
        return f"<FiscalYear {self.name} {self.start_date}..{self.end_date}>"


class Period(OrgOwned, Base):
    __tablename__ = "period"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "fiscal_year_id"], ["fiscal_year.org_id", "fiscal_year.id"],
                             ondelete="CASCADE"),
        UniqueConstraint("org_id", "fiscal_year_id", "number"),
        Index(None, "org_id", "start_date"),
    )

    fiscal_year_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    locked: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Period {self.name}{' locked' if self.locked else ''}>"


# --- calendars ---------------------------------------------------------------------------------

def add_months(day: dt.date, months: int, calendar: str) -> dt.date:
    """The same day ``months`` later, in the organization's calendar (clipped to month end)."""
    if calendar == "persian":
        jday = jdatetime.date.fromgregorian(date=day)
        index = jday.year * 12 + (jday.month - 1) + months
        year, month = divmod(index, 12)
        month += 1
        length = jdatetime.j_days_in_month[month - 1]
        if month == 12 and jdatetime.date(year, 1, 1).isleap():
            length = 30
        return jdatetime.date(year, month, min(jday.day, length)).togregorian()
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def _label(day: dt.date, calendar: str) -> str:
    if calendar == "persian":
        jday = jdatetime.date.fromgregorian(date=day)
        return f"{jday.year:04d}-{jday.month:02d}"
    return f"{day.year:04d}-{day.month:02d}"


def month_periods(start: dt.date, end: dt.date, calendar: str = "gregorian") -> list[tuple[dt.date, dt.date, str]]:
    """Consecutive month-long ranges from ``start`` to ``end`` inclusive, the last one clipped."""
    ranges = []
    current = start
    step = 1
    while current <= end:
        following = add_months(start, step, calendar)
        last = min(following - dt.timedelta(days=1), end)
        ranges.append((current, last, _label(current, calendar)))
        current = last + dt.timedelta(days=1)
        step += 1
    return ranges


def year_start(org: Any, year: int) -> dt.date:
    """Start of the fiscal year ``year`` (a Jalali year on the Persian calendar)."""
    if org.calendar == "persian":
        return jdatetime.date(year, org.fiscal_year_start_month, org.fiscal_year_start_day).togregorian()
    return dt.date(year, org.fiscal_year_start_month, org.fiscal_year_start_day)


def current_year_number(org: Any, today: dt.date | None = None) -> int:
    today = today or dt.date.today()
    if org.calendar == "persian":
        year = jdatetime.date.fromgregorian(date=today).year
    else:
        year = today.year
    return year if year_start(org, year) <= today else year - 1


# --- services ----------------------------------------------------------------------------------

def list_fiscal_years(session: Session) -> list[FiscalYear]:
    return list(session.scalars(select(FiscalYear).order_by(FiscalYear.start_date)))


def periods_of(session: Session, fiscal_year: FiscalYear) -> list[Period]:
    return list(session.scalars(select(Period).where(Period.fiscal_year_id == fiscal_year.id).order_by(Period.number)))


def create_fiscal_year(session: Session, org: Any, *, year: int | None = None, start: dt.date | None = None,
                       end: dt.date | None = None, months: int = 12, name: str | None = None,
                       periods: Sequence[tuple[str, dt.date, dt.date]] | None = None,
                       actor: Any = None) -> FiscalYear:
    """A fiscal year with monthly periods, or the ``periods`` given (name, start, end).

    By default the year ``year`` of the organization's start month and day, 12 months long;
    ``start``/``end`` or ``months`` make a short or long first year. Overlaps are refused.
    Given ``periods`` (a migrated year keeps its own) must follow each other from
    ``start`` to ``end`` without a gap.
    """
    require_tenant(session)
    if start is None:
        start = year_start(org, year if year is not None else current_year_number(org))
    if end is None:
        if not 1 <= months <= 24:
            raise ValidationError(FieldError("months", N_("A fiscal year lasts 1 to 24 months.")))
        end = add_months(start, months, org.calendar) - dt.timedelta(days=1)
    if end < start:
        raise ValidationError(FieldError("end", N_("The fiscal year ends before it starts.")))
    if (end - start).days > 731:
        raise ValidationError(FieldError("end", N_("A fiscal year lasts 1 to 24 months.")))
    overlap = session.scalars(select(FiscalYear).where(FiscalYear.start_date <= end, FiscalYear.end_date >= start)).first()
    if overlap is not None:
        raise Conflict(N_("The fiscal year %(start)s – %(end)s overlaps %(other)s."),
                       start=start.isoformat(), end=end.isoformat(), other=overlap.name)
    if name is None:
        first, last = _label(start, org.calendar)[:4], _label(end, org.calendar)[:4]
        name = first if first == last else f"{first}-{last}"
    if session.scalars(select(FiscalYear.id).where(FiscalYear.name == name)).first() is not None:
        name = f"{name} ({start.isoformat()})"
    if periods is None:
        ranges = [(label, s, e) for s, e, label in month_periods(start, end, org.calendar)]
    else:
        ranges = list(periods)
        expected = start
        for _name, first, last in ranges:
            if first != expected or last < first:
                raise ValidationError(FieldError("periods", N_("The periods of a fiscal year follow each other "
                                                               "from its first day to its last, without a gap.")))
            expected = last + dt.timedelta(days=1)
        if expected != end + dt.timedelta(days=1):
            raise ValidationError(FieldError("periods", N_("The periods of a fiscal year follow each other "
                                                           "from its first day to its last, without a gap.")))
    fiscal_year = FiscalYear(name=name, start_date=start, end_date=end)
    session.add(fiscal_year)
    session.flush()
    session.add_all(
        Period(fiscal_year_id=fiscal_year.id, number=n, name=label, start_date=s, end_date=e)
        for n, (label, s, e) in enumerate(ranges, start=1)
    )
    session.flush()
    audit.record(session, "fiscal_year.created", target=name, actor=actor,
                 start=start.isoformat(), end=end.isoformat())
    return fiscal_year


def create_next_fiscal_year(session: Session, org: Any, *, actor: Any = None) -> FiscalYear:
    """The 12-month year that follows the latest one."""
    latest = session.scalars(select(FiscalYear).order_by(FiscalYear.end_date.desc())).first()
    if latest is None:
        return create_fiscal_year(session, org, actor=actor)
    return create_fiscal_year(session, org, start=latest.end_date + dt.timedelta(days=1), actor=actor)


def fiscal_year_of(session: Session, day: dt.date) -> FiscalYear | None:
    return session.scalars(select(FiscalYear).where(FiscalYear.start_date <= day, FiscalYear.end_date >= day)).first()


def period_of(session: Session, day: dt.date) -> Period:
    """The period containing ``day``, or :class:`NotFound` when no fiscal year covers it."""
    period = session.scalars(select(Period).where(Period.start_date <= day, Period.end_date >= day)).first()
    if period is None:
        raise NotFound(N_("No fiscal year covers %(date)s."), date=day.isoformat())
    return period


def open_period(session: Session, day: dt.date) -> Period:
    """The period for a posting dated ``day``: it must exist, be unlocked, in an open year."""
    period = period_of(session, day)
    fiscal_year = session.get_one(FiscalYear, (period.org_id, period.fiscal_year_id))
    if fiscal_year.is_closed:
        raise PeriodLocked(N_("The fiscal year %(year)s is closed."), year=fiscal_year.name)
    if period.locked:
        raise PeriodLocked(period=period.name)
    return period


def _find_period(session: Session, name: str) -> Period:
    period = session.scalars(select(Period).where(Period.name == name).order_by(Period.start_date)).first()
    if period is None:
        raise NotFound(N_("There is no period %(period)s."), period=name)
    return period


def set_period_lock(session: Session, name: str, locked: bool, *, actor: Any = None) -> Period:
    """Lock (no posting dated in it) or unlock a period; audited, and announced to plugins."""
    from core.plugins import enabled_plugins, get_registry

    period = _find_period(session, name)
    if period.locked == locked:
        return period
    period.locked = locked
    get_registry().call_enabled(enabled_plugins(session), "comptoir_period_locked",
                                session=session, period=period, locked=locked)
    audit.record(session, "period.locked" if locked else "period.unlocked", target=period.name, actor=actor)
    session.flush()
    return period
