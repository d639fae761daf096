"""Fiscal years: any start, explicit periods (Jalali months included), overlaps, locks."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import audit
from core.errors import Conflict, NotFound, PeriodLocked, ValidationError
from core.periods import (
    FiscalYear,
    create_fiscal_year,
    create_next_fiscal_year,
    list_fiscal_years,
    month_periods,
    open_period,
    periods_of,
    set_period_lock,
)
from core.tenancy import current_organization
from tests.conftest import make_org

D = dt.date


def test_default_year_is_twelve_calendar_months(database):
    org = make_org(database, "Calendar", first_fiscal_year=2026)
    with database.session(org.id) as session:
        (year,) = list_fiscal_years(session)
        assert (year.name, year.start_date, year.end_date) == ("2026", D(2026, 1, 1), D(2026, 12, 31))
        periods = periods_of(session, year)
        assert [p.name for p in periods][:2] == ["2026-01", "2026-02"] and len(periods) == 12
        assert periods[1].end_date == D(2026, 2, 28)


def test_a_year_starting_in_april(database):
    org = make_org(database, "April", fiscal_year_start_month=4, first_fiscal_year=2026)
    with database.session(org.id) as session:
        (year,) = list_fiscal_years(session)
        assert (year.start_date, year.end_date, year.name) == (D(2026, 4, 1), D(2027, 3, 31), "2026-2027")


@pytest.mark.parametrize(("start", "end", "count", "first_end", "last_start"), [
    (D(2026, 7, 15), D(2026, 12, 31), 6, D(2026, 8, 14), D(2026, 12, 15)),  # short first year from mid-July
    (D(2026, 1, 31), D(2026, 4, 29), 3, D(2026, 2, 27), D(2026, 3, 31)),  # month ends clipped
    (D(2026, 10, 1), D(2027, 12, 31), 15, D(2026, 10, 31), D(2027, 12, 1)),  # long first year
])
def test_month_periods_are_explicit_ranges(start, end, count, first_end, last_start):
    periods = month_periods(start, end)
    assert len(periods) == count
    assert periods[0][:2] == (start, first_end) and periods[-1][:2] == (last_start, end)
    for (_, previous_end, _), (following_start, _, _) in zip(periods, periods[1:], strict=False):
        assert following_start == previous_end + dt.timedelta(days=1)


def test_persian_year_starts_on_1_farvardin_with_jalali_months(database):
    org = make_org(database, "Tehran Co", chart="ir_standard", currency=None, calendar="persian",
                   first_fiscal_year=1405)
    with database.session(org.id) as session:
        (year,) = list_fiscal_years(session)
        assert year.start_date == D(2026, 3, 21) and year.end_date == D(2027, 3, 20)
        assert year.name == "1405"
        periods = periods_of(session, year)
        assert len(periods) == 12 and periods[0].name == "1405-01"
        lengths = [(p.end_date - p.start_date).days + 1 for p in periods]
        assert lengths[:6] == [31] * 6 and lengths[6:11] == [30] * 5 and lengths[11] in (29, 30)


def test_overlapping_years_are_refused(database, org):
    with database.session(org.id) as session:
        organization = current_organization(session)
        existing = list_fiscal_years(session)[0]
        with pytest.raises(Conflict, match="overlaps"):
            create_fiscal_year(session, organization, start=existing.end_date - dt.timedelta(days=10),
                               end=existing.end_date + dt.timedelta(days=300))
        with pytest.raises(ValidationError):
            create_fiscal_year(session, organization, start=D(2040, 1, 2), end=D(2040, 1, 1))
        with pytest.raises(ValidationError):
            create_fiscal_year(session, organization, start=D(2040, 1, 1), end=D(2043, 1, 1))


def test_next_year_follows_the_last(database, org):
    with database.transaction(org.id) as session:
        organization = current_organization(session)
        first = list_fiscal_years(session)[0]
        second = create_next_fiscal_year(session, organization)
        assert second.start_date == first.end_date + dt.timedelta(days=1)
        assert (second.end_date - second.start_date).days in (364, 365)


def test_locking_a_period_refuses_postings_dated_in_it(database, org, owner):
    with database.transaction(org.id) as session:
        year = list_fiscal_years(session)[0]
        first, second = periods_of(session, year)[:2]
        set_period_lock(session, first.name, True, actor=owner)
    with database.transaction(org.id) as session:
        with pytest.raises(PeriodLocked, match=first.name):
            open_period(session, first.start_date)
        assert open_period(session, second.start_date).name == second.name
        with pytest.raises(NotFound, match="No fiscal year covers"):
            open_period(session, D(1999, 1, 1))
        set_period_lock(session, first.name, False, actor=owner)
        assert open_period(session, first.end_date).name == first.name
        actions = [e.action for e in audit.events(session)]
        assert actions.count("period.locked") == 1 and actions.count("period.unlocked") == 1


def test_a_closed_year_refuses_postings(database, org):
    with database.transaction(org.id) as session:
        year = session.scalars(select(FiscalYear)).one()
        year.state = "closed"
    with database.session(org.id) as session, pytest.raises(PeriodLocked, match="closed"):
        open_period(session, year.start_date)
