"""Exchange rates per organization (imported from ECB XML or CSV, or fetched from a provider),
conversion into the organization's currency, and the revaluation of foreign-currency balances.

A rate reads: on its date, one unit of the foreign currency is worth ``rate`` units of the
organization's currency. Rates are exact decimals, rounded in exactly one place,
:func:`exact_rate` (half-even, :data:`RATE_DIGITS` significant digits: an ECB quote's
inverse or a cross rate); amounts converted with a rate are rounded in exactly one place,
:func:`convert_amount` (half-even, to the minor unit of the organization's currency).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from moneyed import Money
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import audit
from core.chart import Account, AccountType, default_account
from core.db import allocate_ids, require_tenant, utcnow
from core.errors import ComptoirError, FieldError, NotFound, PluginConfigurationError, ValidationError
from core.i18n import N_, translate
from core.money import digits, format_money, format_number, is_known_currency, quantize
from core.periods import FiscalYear, Period
from core.tenancy import current_organization
from plugins.accounting.models import AccountBalance, EntryState, ExchangeRate, JournalEntry, JournalLine
from plugins.accounting.services import EntryInput, LineInput, post_entries, reverse_entry

RATE_DIGITS = 10
_RATE_CONTEXT = Context(prec=RATE_DIGITS, rounding=ROUND_HALF_EVEN)
RATE_TEXT_LENGTH = 32  # ExchangeRate.rate
MAX_AGE_ENV = "COMPTOIR_RATE_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 7
MAX_FILE_BYTES = 32 * 1024 * 1024  # the ECB's whole history since 1999 is about 6 MB
ECB_BASE = "EUR"
ECB_SOURCE = "ecb"
CSV_SOURCE = "csv"
MANUAL_SOURCE = "manual"
FORMATS = ("ecb", "csv")
REVALUED_TYPES = (AccountType.ASSET, AccountType.LIABILITY)  # monetary items; income and expense keep
                                                              # the rate of their day

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_90_DAYS_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
ECB_HISTORY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.xml"
FETCH_TIMEOUT_SECONDS = 30


# --- errors and records ----------------------------------------------------------------------------------

class RateProviderError(ComptoirError):
    """A rate provider is unknown, failed, or returned nothing usable."""

    http_status = 502
    default_msgid = N_("The exchange rate provider failed.")


class RateMissing(NotFound):
    default_msgid = N_("No %(currency)s rate is known on or before %(date)s: import or update the exchange rates.")


@dataclass(frozen=True)
class Rate:
    """On ``date``, one unit of ``currency`` is worth ``rate`` units of the base currency."""

    date: dt.date
    currency: str
    rate: Decimal


@dataclass(frozen=True)
class RateProvider:
    """A source of rates, registered with ``comptoir_register_rate_providers``.

    ``fetch(base_currency, day)`` returns the rates of the latest day on or before ``day``
    that the source knows, in ``base_currency`` (the organization's); it may raise.
    """

    name: str
    title: str  # message id
    fetch: Callable[[str, dt.date], Sequence[Rate]]


@dataclass(frozen=True)
class Notice:
    """A sentence for the user (a message id and its parameters), e.g. a stale-rate warning."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def translate(self, locale: str | None = None) -> str:
        return translate(self.msgid, locale, **self.params)


@dataclass(frozen=True)
class RateAt:
    """The rate used for ``currency`` on ``day``: the stored one of ``date``, the latest on or before it."""

    currency: str
    day: dt.date
    date: dt.date
    rate: Decimal
    source: str
    max_age_days: int

    @property
    def age_days(self) -> int:
        return (self.day - self.date).days

    @property
    def stale(self) -> bool:
        return self.age_days > self.max_age_days

    @property
    def warning(self) -> Notice | None:
        if not self.stale:
            return None
        return Notice(N_("The %(currency)s rate used for %(day)s dates from %(date)s, %(age)s days earlier "
                         "(more than %(max_age)s): update the exchange rates."),
                      {"currency": self.currency, "day": self.day.isoformat(), "date": self.date.isoformat(),
                       "age": self.age_days, "max_age": self.max_age_days})


@dataclass(frozen=True)
class Conversion:
    amount: Money  # in the organization's currency
    rate: RateAt


@dataclass(frozen=True)
class RateImport:
    """What an import or an update did; importing the same rates again only counts ``unchanged``."""

    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    first: dt.date | None = None
    last: dt.date | None = None
    currencies: tuple[str, ...] = ()


# --- the two roundings -------------------------------------------------------------------------------------

def exact_rate(numerator: Decimal, denominator: Decimal = Decimal(1)) -> Decimal:
    """``numerator / denominator`` as a stored rate: the one place where rates are rounded.

    One correctly rounded operation (half-even, :data:`RATE_DIGITS` significant digits), so an
    ECB quote's inverse (``1 / 1.0823``) or a cross rate (``ecb(CHF) / ecb(USD)``) is never
    rounded twice; a given rate with more digits is rounded the same way.
    """
    return _RATE_CONTEXT.divide(numerator, denominator)


def convert_amount(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """``amount`` of a foreign currency at ``rate``, in ``currency`` (the organization's).

    The one place where converted amounts are rounded: the product is exact, then rounded
    half-even to the minor unit of ``currency``.
    """
    with localcontext() as context:
        context.prec = 80  # wide enough for any product of a stored amount and a rate
        return quantize(amount * rate, currency)


def rate_text(rate: Decimal) -> str:
    """A rate as stored: plain digits, never an exponent."""
    return format(rate, "f")


# --- reading files -------------------------------------------------------------------------------------------

def _local_name(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _positive_decimal(text: str) -> Decimal | None:
    """A decimal written with a point or a comma (and maybe thousands separators), or None."""
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", text or "")
    if "," in cleaned and "." in cleaned:  # the last one is the decimal mark
        thousands = "," if cleaned.rfind(".") > cleaned.rfind(",") else "."
        cleaned = cleaned.replace(thousands, "")
    cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d+)?|\.\d+", cleaned):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value > 0 else None


def parse_ecb_xml(data: bytes, *, base_currency: str) -> list[Rate]:
    """The rates of an ECB reference-rates file (daily or historical), in ``base_currency``.

    The ECB quotes units of each currency per 1 EUR. For a EUR organization the rate of X is
    ``1 / ecb(X)``; for another, rates cross through the euro: ``ecb(BASE) / ecb(X)``, and the
    euro itself is ``ecb(BASE)``. A day without a quote of the base currency is skipped.
    The file is parsed with defusedxml and may not declare a DTD or entities.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(N_("The file is larger than %(size)s MB."), size=MAX_FILE_BYTES // 2**20)
    try:
        root = parse_xml(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ValidationError(N_("The XML file declares a document type or entities, which are refused: "
                                 "nothing was imported.")) from None
    except ParseError as error:
        raise ValidationError(N_("The file is not valid XML (%(reason)s)."), reason=str(error)) from None
    days = [cube for cube in root.iter() if _local_name(cube) == "Cube" and cube.get("time")]
    if _local_name(root) != "Envelope" or not days:
        raise ValidationError(N_("The XML file is not in the European Central Bank's format "
                                 "(an Envelope of Cube elements with a time)."))
    base = base_currency.upper()
    problems: list[FieldError] = []
    quotes: dict[dt.date, dict[str, Decimal]] = {}
    for cube in days:
        try:
            day = dt.date.fromisoformat(cube.get("time", ""))
        except ValueError:
            problems.append(FieldError("time", N_("%(value)s is not a date (YYYY-MM-DD)."),
                                       {"value": cube.get("time")}))
            continue
        for quote in cube:
            currency = (quote.get("currency") or "").upper()
            rate = _positive_decimal(quote.get("rate", ""))
            if not is_known_currency(currency):
                problems.append(FieldError("currency", N_("%(date)s: %(value)s is not a currency code."),
                                           {"date": day.isoformat(), "value": quote.get("currency")}))
            elif rate is None:
                problems.append(FieldError("rate", N_("%(date)s: %(value)s is not a rate of %(currency)s."),
                                           {"date": day.isoformat(), "value": quote.get("rate"),
                                            "currency": currency}))
            else:
                quotes.setdefault(day, {})[currency] = rate
    if problems:
        raise ValidationError(problems)
    rates = []
    for day, quoted in sorted(quotes.items()):
        if base == ECB_BASE:
            rates.extend(Rate(day, currency, exact_rate(Decimal(1), ecb)) for currency, ecb in sorted(quoted.items()))
        elif base in quoted:
            per_euro = quoted[base]
            rates.append(Rate(day, ECB_BASE, exact_rate(per_euro)))
            rates.extend(Rate(day, currency, exact_rate(per_euro, ecb))
                         for currency, ecb in sorted(quoted.items()) if currency != base)
    if not rates:
        raise ValidationError(N_("The ECB file has no rate of %(currency)s, the organization's currency."),
                              currency=base)
    return rates


CSV_COLUMNS = ("date", "currency", "rate")


def parse_rates_csv(text: str) -> list[Rate]:
    """Rates from CSV text with the columns ``date,currency,rate`` (in any order).

    The separator is ``,`` or ``;`` and a rate may use a decimal comma (``1,0823``). Dates are
    ``YYYY-MM-DD``. Rates are in the organization's currency per unit of ``currency``.
    Every bad line is reported, and nothing is returned unless all are good.
    """
    text = text.lstrip("\ufeff")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValidationError(N_("The file holds no exchange rates."))
    header_line = lines[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader)]
    if not set(CSV_COLUMNS) <= set(header):
        raise ValidationError(N_("The CSV file needs the columns date, currency and rate; it has %(columns)s."),
                              columns=", ".join(header) or "-")
    position = {name: header.index(name) for name in CSV_COLUMNS}
    problems: list[FieldError] = []
    rates = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[index].strip() if index < len(row) else "" for name, index in position.items()}
        day = None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells["date"]):
            try:
                day = dt.date.fromisoformat(cells["date"])
            except ValueError:
                day = None
        if day is None:
            problems.append(FieldError("date", N_("Line %(line)s: %(value)s is not a date (YYYY-MM-DD)."),
                                       {"line": number, "value": cells["date"]}, number))
        currency = cells["currency"].upper()
        if not is_known_currency(currency):
            problems.append(FieldError("currency", N_("Line %(line)s: %(value)s is not a currency code."),
                                       {"line": number, "value": cells["currency"]}, number))
        rate = _positive_decimal(cells["rate"])
        if rate is None:
            problems.append(FieldError("rate", N_("Line %(line)s: %(value)s is not a rate (a positive number)."),
                                       {"line": number, "value": cells["rate"]}, number))
        if day is not None and rate is not None and is_known_currency(currency):
            rates.append(Rate(day, currency, rate))
    if problems:
        raise ValidationError(problems)
    if not rates:
        raise ValidationError(N_("The file holds no exchange rates."))
    return rates


def detect_format(data: bytes) -> str:
    """``ecb`` for XML, ``csv`` otherwise."""
    return "ecb" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else "csv"


def parse_rates_file(data: bytes, base_currency: str, file_format: str | None = None) -> tuple[str, list[Rate]]:
    """The source name and the rates of a file in ``file_format`` (recognized when None)."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(N_("The file is larger than %(size)s MB."), size=MAX_FILE_BYTES // 2**20)
    file_format = file_format or detect_format(data)
    if file_format not in FORMATS:
        raise ValidationError(N_("Unknown rates file format %(format)s (ecb or csv)."), format=file_format)
    if file_format == "ecb":
        return ECB_SOURCE, parse_ecb_xml(data, base_currency=base_currency)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(N_("The CSV file is not UTF-8 text.")) from None
    return CSV_SOURCE, parse_rates_csv(text)


# --- storing ---------------------------------------------------------------------------------------------------

def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool | float):  # never floats: a rate is exact
        return None
    if isinstance(value, int | str):
        try:
            value = Decimal(value)
        except InvalidOperation:
            return None
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        return None
    return value


def import_rates(session: Session, rates: Iterable[Rate], *, source: str, actor: Any = None) -> RateImport:
    """Store ``rates`` for the session's organization, idempotently by (currency, date).

    A rate already stored with the same value is left alone; a different value replaces it.
    Every rate is checked first; a :class:`ValidationError` lists every problem and nothing is
    written.
    """
    require_tenant(session)
    base = current_organization(session).currency
    problems: list[FieldError] = []
    wanted: dict[tuple[str, dt.date], Decimal] = {}
    for rate in rates:
        currency = str(rate.currency or "").upper()
        is_day = isinstance(rate.date, dt.date) and not isinstance(rate.date, dt.datetime)
        day = rate.date.isoformat() if is_day else str(rate.date)
        value = _as_decimal(rate.rate)
        params = {"currency": currency, "date": day, "value": str(rate.rate)}
        if not is_day:
            problems.append(FieldError("date", N_("%(date)s is not a date."), params))
        elif not is_known_currency(currency):
            problems.append(FieldError("currency", N_("%(currency)s is not a currency code."), params))
        elif currency == base:
            problems.append(FieldError("currency", N_("%(currency)s on %(date)s: %(currency)s is the "
                                                      "organization's own currency."), params))
        elif value is None:
            problems.append(FieldError("rate", N_("%(currency)s on %(date)s: %(value)s is not a rate "
                                                  "(an exact positive decimal)."), params))
        else:
            rounded = exact_rate(value)
            if len(rate_text(rounded)) > RATE_TEXT_LENGTH:
                problems.append(FieldError("rate", N_("%(currency)s on %(date)s: the rate %(value)s is out of "
                                                      "range."), params))
            elif wanted.setdefault((currency, rate.date), rounded) != rounded:
                problems.append(FieldError("rate", N_("%(currency)s on %(date)s is given twice with different "
                                                      "rates."), params))
    if problems:
        raise ValidationError(problems)
    if not wanted:
        return RateImport(source)
    days = [day for _currency, day in wanted]
    stored = {
        (row.currency, row.date): row for row in session.execute(
            select(ExchangeRate.id, ExchangeRate.currency, ExchangeRate.date, ExchangeRate.rate)
            .where(ExchangeRate.currency.in_({currency for currency, _day in wanted}),
                   ExchangeRate.date.between(min(days), max(days))))
    }
    org_id = require_tenant(session)
    now = utcnow()
    new = [key for key in sorted(wanted) if key not in stored]
    changed = [key for key in sorted(wanted) if key in stored and Decimal(stored[key].rate) != wanted[key]]
    if new:
        rows = [{"org_id": org_id, "id": new_id, "currency": currency, "date": day,
                 "rate": rate_text(wanted[(currency, day)]), "source": source[:32], "updated_at": now}
                for new_id, (currency, day) in zip(allocate_ids(session, len(new)), new, strict=True)]
        dialect_insert = pg_insert if session.connection().dialect.name == "postgresql" else sqlite_insert
        for start in range(0, len(rows), 500):
            statement = dialect_insert(ExchangeRate).values(rows[start:start + 500])
            # An import running at the same time may have stored the same day: the last one wins.
            session.execute(statement.on_conflict_do_update(
                index_elements=["org_id", "currency", "date"],
                set_={"rate": statement.excluded.rate, "source": statement.excluded.source,
                      "updated_at": statement.excluded.updated_at}))
    if changed:
        session.execute(update(ExchangeRate), [
            {"org_id": org_id, "id": stored[key].id, "rate": rate_text(wanted[key]), "source": source[:32],
             "updated_at": now} for key in changed])
    result = RateImport(source, added=len(new), updated=len(changed),
                        unchanged=len(wanted) - len(new) - len(changed), first=min(days), last=max(days),
                        currencies=tuple(sorted({currency for currency, _day in wanted})))
    if new or changed:
        audit.record(session, "rates.imported", target=source, actor=actor, added=result.added,
                     updated=result.updated, first=result.first, last=result.last)
    return result


def import_rates_file(session: Session, data: bytes, file_format: str | None = None, *,
                      actor: Any = None) -> RateImport:
    """Read an ECB XML or CSV file (``file_format`` recognized when None) and store its rates."""
    base = current_organization(session).currency
    source, rates = parse_rates_file(data, base, file_format)
    return import_rates(session, rates, source=source, actor=actor)


def set_rate(session: Session, currency: str, day: dt.date, rate: Decimal | str, *, source: str = MANUAL_SOURCE,
             actor: Any = None) -> ExchangeRate:
    """Store one rate (replacing that of the same currency and day)."""
    import_rates(session, [Rate(day, currency, rate)], source=source, actor=actor)  # type: ignore[arg-type]
    return session.scalars(select(ExchangeRate).where(ExchangeRate.currency == currency.upper(),
                                                      ExchangeRate.date == day)
                           .execution_options(populate_existing=True)).one()


def rates_of(session: Session, currency: str) -> list[ExchangeRate]:
    """Every stored rate of ``currency``, newest first."""
    return list(session.scalars(select(ExchangeRate).where(ExchangeRate.currency == currency.upper())
                                .order_by(ExchangeRate.date.desc())))


# --- using rates -------------------------------------------------------------------------------------------------

def configured_max_age_days() -> int:
    """How many days old a rate may be before its use warns: ``COMPTOIR_RATE_MAX_AGE_DAYS`` (7)."""
    raw = os.environ.get(MAX_AGE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_AGE_DAYS
    if not raw.isdigit():
        raise ValidationError(N_("%(setting)s must be a whole number of days, not %(value)s."),
                              setting=MAX_AGE_ENV, value=raw)
    return int(raw)


def _rate_at(row: ExchangeRate, day: dt.date, max_age_days: int) -> RateAt:
    return RateAt(row.currency, day, row.date, Decimal(row.rate), row.source, max_age_days)


def rate_at(session: Session, currency: str, day: dt.date, *, max_age_days: int | None = None) -> RateAt:
    """The rate of ``currency`` for ``day``: the latest stored on or before it.

    Raises :class:`RateMissing` when there is none. The result is ``stale`` (and has a
    ``warning``) when it is more than ``max_age_days`` older than ``day``.
    """
    currency = currency.upper()
    limit = configured_max_age_days() if max_age_days is None else max_age_days
    if currency == current_organization(session).currency:
        return RateAt(currency, day, day, Decimal(1), "", limit)
    row = session.scalars(select(ExchangeRate).where(ExchangeRate.currency == currency, ExchangeRate.date <= day)
                          .order_by(ExchangeRate.date.desc()).limit(1)).first()
    if row is None:
        raise RateMissing(currency=currency, date=day.isoformat())
    return _rate_at(row, day, limit)


def latest_rates(session: Session, day: dt.date, *, max_age_days: int | None = None) -> list[RateAt]:
    """For every currency with rates, the one used on ``day`` (by currency)."""
    limit = configured_max_age_days() if max_age_days is None else max_age_days
    latest = (select(ExchangeRate.currency, func.max(ExchangeRate.date))
              .where(ExchangeRate.date <= day).group_by(ExchangeRate.currency))
    keys = [tuple(row) for row in session.execute(latest)]
    if not keys:
        return []
    rows = session.scalars(select(ExchangeRate).where(tuple_(ExchangeRate.currency, ExchangeRate.date).in_(keys))
                           .order_by(ExchangeRate.currency))
    return [_rate_at(row, day, limit) for row in rows]


def convert(session: Session, money: Money, day: dt.date, *, max_age_days: int | None = None) -> Conversion:
    """``money`` in the organization's currency at the rate of ``day`` (check ``rate.stale``)."""
    rate = rate_at(session, money.currency.code, day, max_age_days=max_age_days)
    base = current_organization(session).currency
    return Conversion(Money(convert_amount(money.amount, rate.rate, base), base), rate)


# --- providers --------------------------------------------------------------------------------------------------

def registered_providers() -> dict[str, tuple[str, RateProvider]]:
    """Every installed plugin's providers: name → (plugin, provider). A name given twice is an error."""
    from core.plugins import get_registry

    registry = get_registry()
    found: dict[str, tuple[str, RateProvider]] = {}
    for plugin in registry.names:
        for result in registry.call_only(plugin, "comptoir_register_rate_providers")():
            for provider in result or []:
                if not isinstance(provider, RateProvider):
                    raise PluginConfigurationError(
                        N_("Plugin %(plugin)s registers a rate provider that is not a RateProvider."), plugin=plugin)
                if provider.name in found:
                    raise PluginConfigurationError(N_("The rate provider %(name)s is registered twice (by %(plugin)s)."),
                                                   name=provider.name, plugin=plugin)
                found[provider.name] = (plugin, provider)
    return found


def rate_providers(session: Session) -> dict[str, RateProvider]:
    """The providers offered to the session's organization: those of the plugins it has enabled."""
    from core.plugins import enabled_plugins

    enabled = enabled_plugins(session)
    return {name: provider for name, (plugin, provider) in sorted(registered_providers().items())
            if plugin in enabled}


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def update_rates(session: Session, provider_name: str, day: dt.date, *, actor: Any = None) -> RateImport:
    """Ask the provider ``provider_name`` for the rates of ``day`` and store them.

    Raises :class:`RateProviderError` when the provider is unknown to the organization, fails,
    returns nothing, or returns rates that cannot be stored; nothing is stored then.
    """
    providers = rate_providers(session)
    provider = providers.get(provider_name)
    if provider is None:
        raise RateProviderError(N_("There is no exchange rate provider %(name)s (available: %(available)s)."),
                                name=provider_name, available=", ".join(providers) or "-")
    base = current_organization(session).currency
    try:
        fetched = list(provider.fetch(base, day))
    except Exception as error:  # a plugin's or a network's failure, whatever it is, is reported, not hidden
        raise RateProviderError(N_("The exchange rate provider %(name)s failed: %(reason)s"),
                                name=provider_name, reason=_one_line(error)) from error
    if not fetched:
        raise RateProviderError(N_("The exchange rate provider %(name)s returned no rates for %(date)s."),
                                name=provider_name, date=day.isoformat())
    if not all(isinstance(rate, Rate) for rate in fetched):
        raise RateProviderError(N_("The exchange rate provider %(name)s returned something else than rates."),
                                name=provider_name)
    try:
        return import_rates(session, fetched, source=provider_name, actor=actor)
    except ValidationError as error:
        raise RateProviderError(N_("The exchange rate provider %(name)s returned wrong rates: %(reason)s"),
                                name=provider_name, reason=error.translate("en")) from error


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed https URLs
        data = response.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(N_("The file is larger than %(size)s MB."), size=MAX_FILE_BYTES // 2**20)
    return data


def fetch_ecb(base_currency: str, day: dt.date) -> list[Rate]:
    """The ECB's reference rates of the latest working day on or before ``day``.

    Reads the daily file, and the 90-day or the whole history when ``day`` is older.
    """
    for url in (ECB_DAILY_URL, ECB_90_DAYS_URL, ECB_HISTORY_URL):
        rates = parse_ecb_xml(_download(url), base_currency=base_currency)
        known = [rate.date for rate in rates if rate.date <= day]
        if known:
            latest = max(known)
            return [rate for rate in rates if rate.date == latest]
    return []


ECB_PROVIDER = RateProvider("ecb", N_("European Central Bank reference rates"), fetch_ecb)


# --- revaluation ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RevaluationLine:
    """One account's balance in one foreign currency on a day, and what it is worth then.

    ``booked`` is what the books hold for that balance in the organization's currency (the
    sum of the amounts it was posted at); ``revalued`` is ``foreign`` at the day's rate;
    ``difference`` (revalued − booked, debit-positive) is the unrealized exchange gain (> 0
    on an asset, or a smaller debt) or loss.
    """

    account: str  # code
    account_name: str
    currency: str
    foreign: Money
    booked: Money
    rate: RateAt | None  # None when nothing is left in the currency
    revalued: Money

    @property
    def difference(self) -> Money:
        return self.revalued - self.booked

    @property
    def stale(self) -> bool:
        return self.rate is not None and self.rate.stale

    @property
    def booked_rate(self) -> Decimal | None:
        """The average rate the balance was booked at (booked / foreign)."""
        if not self.foreign.amount:
            return None
        return exact_rate(self.booked.amount, self.foreign.amount)

    def explanation(self, locale: str | None = None) -> str:
        """Why the books show ``booked`` for this balance and what the revaluation changes, in a sentence."""
        difference = self.difference
        params = {"account": self.account, "currency": self.currency,
                  "foreign": format_money(self.foreign, locale), "booked": format_money(self.booked, locale),
                  "revalued": format_money(self.revalued, locale),
                  "difference": format_money(abs(difference), locale)}
        if self.rate is None:
            msgid = N_("Account %(account)s holds no %(currency)s any more, but %(booked)s remain booked for its "
                       "past %(currency)s movements: the exchange result of what was settled, %(difference)s.")
            return translate(msgid, locale, **params)
        params.update(rate=format_number(self.rate.rate, locale), date=self.rate.date.isoformat(),
                      booked_rate=format_number(self.booked_rate or 0, locale))
        if difference.amount > 0:
            msgid = N_("Account %(account)s: %(foreign)s were booked at %(booked)s (%(booked_rate)s on average); "
                       "at %(rate)s, the rate of %(date)s, they are worth %(revalued)s: an unrealized gain of "
                       "%(difference)s.")
        elif difference.amount < 0:
            msgid = N_("Account %(account)s: %(foreign)s were booked at %(booked)s (%(booked_rate)s on average); "
                       "at %(rate)s, the rate of %(date)s, they are worth %(revalued)s: an unrealized loss of "
                       "%(difference)s.")
        else:
            msgid = N_("Account %(account)s: %(foreign)s are booked at %(booked)s, their worth at %(rate)s, the "
                       "rate of %(date)s: nothing to revalue.")
        return translate(msgid, locale, **params)


@dataclass(frozen=True)
class Revaluation:
    """The lines of a revaluation and, once posted, its entry and the reversal of the next day."""

    day: dt.date
    lines: tuple[RevaluationLine, ...]
    entry_id: int | None = None
    reversal_id: int | None = None

    @property
    def warnings(self) -> list[Notice]:
        """One stale-rate warning per currency whose rate is too old."""
        seen: dict[str, Notice] = {}
        for line in self.lines:
            if line.rate is not None and line.rate.warning is not None:
                seen.setdefault(line.currency, line.rate.warning)
        return list(seen.values())


def _foreign_balances(session: Session, day: dt.date) -> dict[tuple[int, str], list[int]]:
    """(account, currency) → [booked minor units of the organization's currency, foreign minor units],
    of the posted lines that carry a foreign currency, from the start of ``day``'s fiscal year to ``day``.

    As in every balance report, a fiscal year's books stand alone: closing a year carries its
    balances into the next one's opening entry. Whole periods are read from the maintained
    balances; the period that ``day`` cuts is read from its lines.
    """
    year = session.scalars(select(FiscalYear).where(FiscalYear.start_date <= day, FiscalYear.end_date >= day)).first()
    if year is None:
        return {}
    whole = select(Period.id).where(Period.start_date >= year.start_date, Period.end_date <= day)
    totals: dict[tuple[int, str], list[int]] = {}
    for account_id, currency, booked, foreign in session.execute(
            select(AccountBalance.account_id, AccountBalance.currency,
                   func.sum(AccountBalance.debit - AccountBalance.credit), func.sum(AccountBalance.amount_currency))
            .where(AccountBalance.currency != "", AccountBalance.period_id.in_(whole))
            .group_by(AccountBalance.account_id, AccountBalance.currency)):
        totals[(account_id, currency)] = [int(booked or 0), int(foreign or 0)]
    cut = session.scalars(select(Period).where(Period.start_date <= day, Period.end_date > day)).first()
    if cut is not None:
        for account_id, currency, booked, foreign in session.execute(
                select(JournalLine.account_id, JournalLine.currency, func.sum(JournalLine.amount),
                       func.sum(JournalLine.amount_currency))
                .join(JournalEntry, (JournalEntry.org_id == JournalLine.org_id)
                      & (JournalEntry.id == JournalLine.entry_id))
                .where(JournalEntry.period_id == cut.id, JournalEntry.state == EntryState.POSTED,
                       JournalLine.currency.is_not(None), JournalLine.date <= day)
                .group_by(JournalLine.account_id, JournalLine.currency)):
            entry = totals.setdefault((account_id, currency), [0, 0])
            entry[0] += int(booked or 0)
            entry[1] += int(foreign or 0)
    return totals


def revaluation_report(session: Session, day: dt.date, *, max_age_days: int | None = None) -> Revaluation:
    """Every asset or liability account's balance in each foreign currency on ``day``, at the rate of ``day``.

    Answers "why does this foreign-currency account show this balance": each line gives the
    foreign balance, what it was booked at, the rate used (its date, whether it is stale), the
    revalued amount and the difference. A missing rate is an error naming every such currency.
    """
    base = current_organization(session).currency
    scale = digits(base)
    balances = _foreign_balances(session, day)
    accounts = {a.id: a for a in session.scalars(select(Account).where(
        Account.id.in_({account_id for account_id, _currency in balances}),
        Account.type.in_([t.value for t in REVALUED_TYPES])))}
    rates: dict[str, RateAt | None] = {}
    problems: list[FieldError] = []
    lines = []
    for (account_id, currency), (booked, foreign) in balances.items():
        account = accounts.get(account_id)
        if account is None or (booked == 0 and foreign == 0):
            continue
        rate = None
        if foreign:
            if currency not in rates:
                rates[currency] = None  # a missing rate is reported once
                try:
                    rates[currency] = rate_at(session, currency, day, max_age_days=max_age_days)
                except RateMissing as missing:
                    problems.append(FieldError("rate", missing.msgid, missing.params))
            rate = rates[currency]
            if rate is None:
                continue
        foreign_money = Money(Decimal(foreign).scaleb(-digits(currency)), currency)
        revalued = convert_amount(foreign_money.amount, rate.rate, base) if rate else Decimal(0).scaleb(-scale)
        lines.append(RevaluationLine(account.code, account.name, currency, foreign_money,
                                     Money(Decimal(booked).scaleb(-scale), base), rate, Money(revalued, base)))
    if problems:
        raise ValidationError(problems)
    return Revaluation(day, tuple(sorted(lines, key=lambda line: (line.account, line.currency))))


def revalue(session: Session, day: dt.date, *, journal: str = "MISC", max_age_days: int | None = None,
            actor: Any = None) -> Revaluation:
    """Post the unrealized exchange differences of ``day`` and their reversal on the next day.

    One entry dated ``day`` in ``journal``: a line per account and currency with a difference
    (naming the currency, with no foreign amount: only the booked amount moves), against the
    chart's default ``fx_gain`` account for the gains and ``fx_loss`` account for the losses.
    It is reversed on ``day + 1``, so the books keep the historical amounts and the next
    revaluation starts from them. Nothing is posted when nothing differs.
    """
    report = revaluation_report(session, day, max_age_days=max_age_days)
    moving = [line for line in report.lines if line.difference.amount]
    if not moving:
        return report
    organization = current_organization(session)
    label = translate(N_("Exchange revaluation at %(date)s"), organization.locale, date=day.isoformat())
    lines = [LineInput(line.account, line.difference.amount, label, currency=line.currency,
                       amount_currency=Decimal(0)) for line in moving]
    gains = sum((line.difference.amount for line in moving if line.difference.amount > 0), Decimal(0))
    losses = sum((line.difference.amount for line in moving if line.difference.amount < 0), Decimal(0))
    if gains:
        lines.append(LineInput(default_account(session, "fx_gain").code, -gains, label))
    if losses:
        lines.append(LineInput(default_account(session, "fx_loss").code, -losses, label))
    (entry_id,) = post_entries(session, [EntryInput(journal, day, lines, label=label)], actor=actor)
    following = day + dt.timedelta(days=1)
    reversal = reverse_entry(session, entry_id, date=following, actor=actor, label=translate(
        N_("Reversal of the exchange revaluation at %(date)s"), organization.locale, date=day.isoformat()))
    audit.record(session, "rates.revalued", target=day.isoformat(), actor=actor, gains=str(gains),
                 losses=str(-losses))
    return Revaluation(day, report.lines, entry_id, reversal.id)
