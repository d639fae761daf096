"""Exchange rates: ECB and CSV imports (idempotent, hostile XML refused), providers, stale-rate
warnings, conversion, and the revaluation of a foreign-currency bank account."""
from __future__ import annotations

import datetime as dt
import http.server
import threading
import types
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from moneyed import Money
from sqlalchemy import func, select

from core import hookimpl
from core.chart import create_account
from core.errors import PluginConfigurationError, ValidationError
from core.plugins import PluginManifest, get_registry, load_plugins, reset_registry
from plugins.accounting import rates as rates_module
from plugins.accounting.models import AccountBalance, ExchangeRate
from plugins.accounting.rates import (
    Rate,
    RateMissing,
    RateProvider,
    RateProviderError,
    convert,
    convert_amount,
    exact_rate,
    fetch_ecb,
    import_rates,
    import_rates_file,
    latest_rates,
    parse_ecb_xml,
    parse_rates_csv,
    rate_at,
    rate_providers,
    rates_of,
    registered_providers,
    revaluation_report,
    revalue,
    set_rate,
    update_rates,
)
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, entry_lines, get_entry, post_entries
from tests.conftest import make_org

DATA = Path(__file__).parent / "data"
ECB_DAILY = DATA / "ecb_daily.xml"
ECB_HISTORY = DATA / "ecb_hist.xml"
D = dt.date
MONTH_END = D(2026, 3, 31)
PAID_IN = D(2026, 3, 10)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube><Cube time="2026-03-31"><Cube currency="USD" rate="1.0823"/><Cube currency="GBP" rate="&lol9;"/></Cube></Cube>
</gesmes:Envelope>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE gesmes:Envelope [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube><Cube time="2026-03-31"><Cube currency="USD" rate="&secret;"/></Cube></Cube>
</gesmes:Envelope>
"""


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    """A French company (EUR) with a US-dollar bank account, fiscal year 2026."""
    org = make_org(database, "Import Export", chart="fr_pcg", code="impex", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        create_account(session, "5124", "Bank USD", type="asset", subtype="bank", currency="USD", tags=["bank"])
    return org


@pytest.fixture
def swiss(database):  # noqa: ANN001, ANN201
    return make_org(database, "Uhren AG", chart="ch_pme", currency="CHF", code="uhren", first_fiscal_year=2026)


def stored(session) -> dict[tuple[str, dt.date], str]:  # noqa: ANN001
    return {(r.currency, r.date): r.rate for r in session.scalars(select(ExchangeRate))}


def count_rates(database, org) -> int:  # noqa: ANN001
    with database.session(org.id) as session:
        return session.scalar(select(func.count()).select_from(ExchangeRate))


# --- rounding ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("numerator", "denominator", "expected"), [
    ("1", "1.0823", "0.9239582371"),        # an ECB quote's inverse
    ("0.9531", "1.0823", "0.8806245958"),   # a cross rate through the euro
    ("1", "3", "0.3333333333"),
    ("1.0000000005", "1", "1.000000000"),   # a tie goes to the even digit…
    ("1.0000000015", "1", "1.000000002"),   # …both ways
    ("1.10", "1", "1.10"),                  # a short rate is kept as written
])
def test_a_rate_is_rounded_half_even_to_ten_significant_digits(numerator, denominator, expected):
    result = exact_rate(Decimal(numerator), Decimal(denominator))
    assert isinstance(result, Decimal) and str(result) == expected


def test_a_converted_amount_is_rounded_half_even_to_the_minor_unit():
    assert convert_amount(Decimal("0.02"), Decimal("1.125"), "EUR") == Decimal("0.02")  # 0.0225
    assert convert_amount(Decimal("0.06"), Decimal("1.125"), "EUR") == Decimal("0.07")  # 0.0675
    assert convert_amount(Decimal("1000"), Decimal("0.9239582371"), "JPY") == Decimal("924")


# --- files -------------------------------------------------------------------------------------------------

def test_the_ecb_daily_file_for_a_euro_organization():
    rates = {r.currency: r for r in parse_ecb_xml(ECB_DAILY.read_bytes(), base_currency="EUR")}
    assert len(rates) == 30 and "EUR" not in rates
    assert rates["USD"] == Rate(MONTH_END, "USD", Decimal("0.9239582371"))
    assert rates["JPY"].rate == Decimal("0.006193868071")
    assert rates["IDR"].rate == Decimal("0.00005830098115")


def test_the_ecb_history_crosses_through_the_euro_for_a_swiss_organization():
    rates = {(r.date, r.currency): r.rate for r in parse_ecb_xml(ECB_HISTORY.read_bytes(), base_currency="CHF")}
    assert sorted({day for day, _ in rates}) == [D(2026, 3, 27), D(2026, 3, 30), MONTH_END]
    assert (MONTH_END, "CHF") not in rates
    assert rates[(MONTH_END, "EUR")] == Decimal("0.9531")
    assert rates[(MONTH_END, "USD")] == Decimal("0.8806245958")  # 0.9531 / 1.0823
    assert rates[(D(2026, 3, 27), "GBP")] == Decimal("1.113522343")  # 0.9544 / 0.8571


def test_an_ecb_file_without_the_organizations_currency_is_refused():
    with pytest.raises(ValidationError, match="no rate of IRR, the organization's currency"):
        parse_ecb_xml(ECB_DAILY.read_bytes(), base_currency="IRR")


def test_csv_with_commas_or_with_semicolons_and_decimal_commas():
    plain = parse_rates_csv("date,currency,rate\n2026-03-31,usd,0.9240\n2026-03-31,GBP,1.1674\n")
    european = parse_rates_csv("\ufeffDate;Currency;Rate\r\n2026-03-31;USD;0,9240\r\n\r\n2026-03-31;GBP;1,1674\r\n")
    assert plain == european == [Rate(MONTH_END, "USD", Decimal("0.9240")), Rate(MONTH_END, "GBP", Decimal("1.1674"))]
    reordered = parse_rates_csv("rate,date,currency\n\"1,5\",2026-01-02,CHF\n")
    assert reordered == [Rate(D(2026, 1, 2), "CHF", Decimal("1.5"))]


def test_a_csv_with_mistakes_reports_every_line():
    with pytest.raises(ValidationError) as caught:
        parse_rates_csv("date,currency,rate\n31/03/2026,USD,1.1\n2026-03-31,XYZ,1.1\n2026-03-31,GBP,-2\n"
                        "2026-03-31,CHF,1e3\n")
    message = caught.value.translate("en")
    for fragment in ("Line 2: 31/03/2026 is not a date", "Line 3: XYZ is not a currency code",
                     "Line 4: -2 is not a rate", "Line 5: 1e3 is not a rate"):
        assert fragment in message
    with pytest.raises(ValidationError, match="needs the columns date, currency and rate"):
        parse_rates_csv("day,code,value\n2026-03-31,USD,1.1\n")


def test_importing_the_same_file_twice_changes_nothing_and_a_changed_rate_updates(database, books):
    with database.transaction(books.id) as session:
        first = import_rates_file(session, ECB_DAILY.read_bytes())
    assert (first.source, first.added, first.updated, first.unchanged) == ("ecb", 30, 0, 0)
    with database.transaction(books.id) as session:
        before = stored(session)
        again = import_rates_file(session, ECB_DAILY.read_bytes())
        assert (again.added, again.updated, again.unchanged) == (0, 0, 30)
        assert stored(session) == before
    with database.transaction(books.id) as session:
        changed = import_rates_file(session, b"date;currency;rate\n2026-03-31;USD;0,95\n2026-03-30;USD;0,94\n")
        assert (changed.source, changed.added, changed.updated, changed.unchanged) == ("csv", 1, 1, 0)
    with database.session(books.id) as session:
        assert [(r.date, r.rate, r.source) for r in rates_of(session, "USD")] == [
            (MONTH_END, "0.95", "csv"), (D(2026, 3, 30), "0.94", "csv")]
        assert stored(session)[("GBP", MONTH_END)] == "1.167406024"


def test_a_long_history_is_imported_once(database, books):
    days = [D(2024, 1, 1) + dt.timedelta(days=n) for n in range(400)]
    text = "date,currency,rate\n" + "".join(f"{day},{currency},1.{n:04d}\n" for n, day in enumerate(days)
                                          for currency in ("USD", "GBP"))
    with database.transaction(books.id) as session:
        first = import_rates_file(session, text.encode())
        assert (first.added, first.first, first.last, first.currencies) == (800, days[0], days[-1], ("GBP", "USD"))
    with database.transaction(books.id) as session:
        assert import_rates_file(session, text.encode()).unchanged == 800
        assert rate_at(session, "GBP", days[-1]).rate == Decimal("1.0399")
    assert count_rates(database, books) == 800


def test_rates_are_kept_per_organization(database, books, swiss):
    with database.transaction(books.id) as session:
        import_rates_file(session, ECB_HISTORY.read_bytes())
    with database.transaction(swiss.id) as session:
        import_rates_file(session, ECB_HISTORY.read_bytes())
        assert rate_at(session, "USD", MONTH_END).rate == Decimal("0.8806245958")
    with database.session(books.id) as session:
        assert rate_at(session, "USD", MONTH_END).rate == Decimal("0.9239582371")
        assert "EUR" not in {r.currency for r in latest_rates(session, MONTH_END)}


def test_a_rate_in_the_organizations_own_currency_a_float_or_a_conflict_is_refused(database, books):
    with database.session(books.id) as session, pytest.raises(ValidationError) as caught:
        import_rates(session, [Rate(MONTH_END, "EUR", Decimal("1")), Rate(MONTH_END, "USD", 0.92),  # type: ignore[arg-type]
                               Rate(MONTH_END, "GBP", Decimal("1.1")), Rate(MONTH_END, "GBP", Decimal("1.2")),
                               Rate(MONTH_END, "CHF", Decimal("0"))], source="test")
    message = caught.value.translate("en")
    assert "EUR is the organization's own currency" in message
    assert "USD on 2026-03-31: 0.92 is not a rate" in message
    assert "GBP on 2026-03-31 is given twice with different rates" in message
    assert "CHF on 2026-03-31: 0 is not a rate" in message
    assert count_rates(database, books) == 0


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_hostile_xml_is_refused_and_nothing_is_written(database, books, comptoir, tmp_path, document):
    with database.session(books.id) as session, pytest.raises(ValidationError, match="declares a document type"):
        import_rates_file(session, document)
    hostile = tmp_path / "rates.xml"
    hostile.write_bytes(document)
    code, out, err = comptoir("rates", "import", str(hostile), "--org", "impex")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "declares a document type or entities, which are refused" in err
    assert count_rates(database, books) == 0


def test_a_file_that_is_not_an_ecb_file_is_refused(database, books):
    with database.session(books.id) as session:
        with pytest.raises(ValidationError, match="not in the European Central Bank's format"):
            import_rates_file(session, b"<html><body>Service unavailable</body></html>")
        with pytest.raises(ValidationError, match="not valid XML"):
            import_rates_file(session, b"<gesmes:Envelope><Cube>", "ecb")


# --- using rates -------------------------------------------------------------------------------------------

def test_rate_at_takes_the_latest_earlier_rate_and_warns_when_it_is_stale(database, books, monkeypatch):
    monkeypatch.delenv("COMPTOIR_RATE_MAX_AGE_DAYS", raising=False)
    with database.transaction(books.id) as session:
        import_rates_file(session, ECB_HISTORY.read_bytes())
    with database.session(books.id) as session:
        friday = rate_at(session, "USD", D(2026, 3, 29))  # a Sunday: Friday's rate
        assert (friday.date, friday.rate, friday.source, friday.stale) == (D(2026, 3, 27), Decimal("0.9248982612"),
                                                                          "ecb", False)
        assert friday.warning is None
        late = rate_at(session, "usd", D(2026, 4, 10))
        assert (late.date, late.age_days, late.max_age_days, late.stale) == (MONTH_END, 10, 7, True)
        assert late.warning.translate("en") == (
            "The USD rate used for 2026-04-10 dates from 2026-03-31, 10 days earlier (more than 7): "
            "update the exchange rates.")
        assert not rate_at(session, "USD", D(2026, 4, 10), max_age_days=10).stale
        monkeypatch.setenv("COMPTOIR_RATE_MAX_AGE_DAYS", "30")
        assert not rate_at(session, "USD", D(2026, 4, 10)).stale
        monkeypatch.setenv("COMPTOIR_RATE_MAX_AGE_DAYS", "a week")
        with pytest.raises(ValidationError, match="COMPTOIR_RATE_MAX_AGE_DAYS must be a whole number"):
            rate_at(session, "USD", D(2026, 4, 10))
        monkeypatch.delenv("COMPTOIR_RATE_MAX_AGE_DAYS")
        with pytest.raises(RateMissing, match="No USD rate is known on or before 2026-03-26"):
            rate_at(session, "USD", D(2026, 3, 26))
        assert rate_at(session, "EUR", D(2020, 1, 1)).rate == 1


def test_convert_uses_the_rate_of_the_day(database, books):
    with database.transaction(books.id) as session:
        set_rate(session, "USD", D(2026, 3, 1), "1.125")
        stored_rate = set_rate(session, "USD", MONTH_END, Decimal("1.05"), source="bank")
        assert (stored_rate.rate, stored_rate.source) == ("1.05", "bank")
    with database.session(books.id) as session:
        converted = convert(session, Money("0.02", "USD"), D(2026, 3, 15))
        assert converted.amount == Money("0.02", "EUR") and converted.rate.rate == Decimal("1.125")
        assert convert(session, Money("1000", "USD"), MONTH_END).amount == Money("1050.00", "EUR")
        assert convert(session, Money("10", "EUR"), MONTH_END).amount == Money("10", "EUR")


def test_rates_list_shows_each_currencys_rate_and_warns_on_stderr(database, books, comptoir):
    assert comptoir("rates", "import", str(ECB_HISTORY), "--org", "impex")[0] == 0
    code, out, err = comptoir("rates", "list", "--org", "impex", "--date", "2026-03-31")
    assert code == 0 and err == ""
    assert "USD\t2026-03-31\t0.9239582371\tecb\n" in out
    code, out, err = comptoir("rates", "list", "--org", "impex", "--date", "2026-04-30")
    assert code == 0 and "USD\t2026-03-31\t0.9239582371\tecb\tstale\n" in out
    assert err.count("Warning: The USD rate used for 2026-04-30 dates from 2026-03-31, 30 days earlier") == 1
    code, out, _ = comptoir("rates", "list", "--org", "impex", "--currency", "usd")
    assert out.splitlines() == ["USD\t2026-03-31\t0.9239582371\tecb", "USD\t2026-03-30\t0.9266981744\tecb",
                                "USD\t2026-03-27\t0.9248982612\tecb"]


def test_rates_import_through_the_cli_recognizes_the_format(database, books, comptoir, tmp_path):
    code, out, err = comptoir("rates", "import", str(ECB_DAILY), "--org", "impex")
    assert (code, err) == (0, "")
    assert out == "30 rates added, 0 updated, 0 unchanged (ecb, 2026-03-31 – 2026-03-31).\n"
    assert comptoir("rates", "import", str(ECB_DAILY), "--org", "impex")[1].startswith("0 rates added, 0 updated, 30")
    sheet = tmp_path / "rates.csv"
    sheet.write_text("date;currency;rate\n2026-03-31;USD;0,95\n", encoding="utf-8")
    code, out, _ = comptoir("rates", "import", str(sheet), "--org", "impex")
    assert code == 0 and out.startswith("0 rates added, 1 updated, 0 unchanged (csv,")
    code, _, err = comptoir("rates", "import", str(sheet), "--org", "impex", "--format", "ecb")
    assert code == 1 and "not valid XML" in err


# --- providers ---------------------------------------------------------------------------------------------

def test_register_rate_providers_hook_offers_the_example_providers(database, books):
    """comptoir_register_rate_providers: the example's providers, offered where the plugin is enabled."""
    found = registered_providers()
    assert {name: plugin for name, (plugin, _p) in found.items()} == {
        "ecb": "accounting", "example": "example", "example-broken": "example"}
    assert found["example"][1].title == "Example rates"
    with_example = make_org(database, "Rated", chart="fr_pcg", plugins=["example"], first_fiscal_year=2026)
    with database.transaction(with_example.id) as session:
        assert list(rate_providers(session)) == ["ecb", "example", "example-broken"]
        result = update_rates(session, "example", MONTH_END)
        assert (result.source, result.added, result.currencies) == ("example", 2, ("CHF", "USD"))
        assert rate_at(session, "USD", MONTH_END).rate == Decimal("0.8")  # 1 / 1.25
        assert rate_at(session, "CHF", MONTH_END).source == "example"
    with database.session(books.id) as session:  # not enabled here: only accounting's own
        assert list(rate_providers(session)) == ["ecb"]
        with pytest.raises(RateProviderError, match="There is no exchange rate provider example"):
            update_rates(session, "example", MONTH_END)


def test_a_provider_name_registered_twice_stops_the_lookup():
    module = types.ModuleType("comptoir_rates_twin")
    module.manifest = PluginManifest(name="rates-twin", title="Twin", version="1", requires=("accounting",))

    @hookimpl
    def comptoir_register_rate_providers() -> list[RateProvider]:
        return [RateProvider("example", "Twin rates", lambda base, day: [])]

    module.comptoir_register_rate_providers = comptoir_register_rate_providers
    previous = get_registry()
    reset_registry(load_plugins(extra=[module]))
    try:
        with pytest.raises(PluginConfigurationError, match="rate provider example is registered twice"):
            registered_providers()
    finally:
        reset_registry(previous)


def test_the_example_provider_crosses_for_a_swiss_organization(database):
    org = make_org(database, "Zurich", chart="ch_pme", currency="CHF", plugins=["example"], first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        update_rates(session, "example", MONTH_END)
        assert {r.currency: r.rate for r in latest_rates(session, MONTH_END)} == {
            "EUR": Decimal("0.8"), "USD": Decimal("0.64")}


def test_rates_update_through_the_cli(database, comptoir):
    make_org(database, "Scheduled", chart="fr_pcg", code="sched", plugins=["example"], first_fiscal_year=2026)
    code, out, err = comptoir("rates", "update", "--org", "sched", "--provider", "example", "--date", "2026-03-31")
    assert (code, err) == (0, "")
    assert out == "2 rates added, 0 updated, 0 unchanged (example, 2026-03-31 – 2026-03-31).\n"
    code, out, _ = comptoir("rates", "providers", "--org", "sched")
    assert out == ("ecb\tEuropean Central Bank reference rates\nexample\tExample rates\n"
                   "example-broken\tExample rates (always failing)\n")


def test_rates_update_warns_when_the_provider_only_has_old_rates(database, comptoir, monkeypatch):
    import comptoir_example

    def last_known(base_currency: str, day: dt.date) -> list[Rate]:
        return [Rate(D(2026, 3, 20), "USD", Decimal("0.92"))]

    monkeypatch.setattr(comptoir_example, "fetch_example_rates", last_known)
    monkeypatch.setenv("COMPTOIR_RATE_PROVIDER", "example")
    make_org(database, "Lagging", chart="fr_pcg", code="lag", plugins=["example"], first_fiscal_year=2026)
    code, out, err = comptoir("rates", "update", "--org", "lag", "--date", "2026-03-31")
    assert code == 0 and out.startswith("1 rates added")
    assert err == ("Warning: The USD rate used for 2026-03-31 dates from 2026-03-20, 11 days earlier (more than 7): "
                   "update the exchange rates.\n")


def test_a_broken_provider_fails_loudly_through_the_cli(database, comptoir):
    org = make_org(database, "Broken", chart="fr_pcg", code="broken", plugins=["example"], first_fiscal_year=2026)
    code, out, err = comptoir("rates", "update", "--org", "broken", "--provider", "example-broken",
                              "--date", "2026-03-31")
    assert code == 1 and out == ""
    assert err == ("Error: The exchange rate provider example-broken failed: rates.example is unreachable "
                   "for EUR on 2026-03-31\n")
    code, _, err = comptoir("rates", "update", "--org", "broken", "--provider", "nope")
    assert code == 1 and err == "Error: There is no exchange rate provider nope (available: ecb, example, example-broken).\n"
    assert count_rates(database, org) == 0


def test_a_provider_returning_bad_rates_is_refused(database, monkeypatch):
    org = make_org(database, "Sloppy", chart="fr_pcg", plugins=["example"], first_fiscal_year=2026)
    import comptoir_example

    monkeypatch.setattr(comptoir_example, "EXAMPLE_RATES", {"EUR": Decimal(1), "USD": Decimal("-1.25")})
    with database.session(org.id) as session, pytest.raises(RateProviderError, match="returned wrong rates"):
        update_rates(session, "example", MONTH_END)


@pytest.fixture
def ecb_server(monkeypatch) -> Iterator[str]:  # noqa: ANN001
    """The ECB's three files served on a loopback port (the daily one knows only 31 March)."""
    files = {"/daily.xml": ECB_DAILY.read_bytes(), "/hist-90d.xml": ECB_HISTORY.read_bytes(),
             "/hist.xml": ECB_HISTORY.read_bytes()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(rates_module, "ECB_DAILY_URL", f"{base}/daily.xml")
    monkeypatch.setattr(rates_module, "ECB_90_DAYS_URL", f"{base}/hist-90d.xml")
    monkeypatch.setattr(rates_module, "ECB_HISTORY_URL", f"{base}/hist.xml")
    yield base
    server.shutdown()
    server.server_close()


def test_the_ecb_fetcher_reads_the_daily_file_or_the_history(ecb_server):
    today = fetch_ecb("EUR", D(2026, 4, 2))
    assert {r.date for r in today} == {MONTH_END} and len(today) == 30
    monday = fetch_ecb("CHF", D(2026, 3, 30))
    assert {r.date for r in monday} == {D(2026, 3, 30)}
    assert {r.currency for r in monday} == {"EUR", "USD", "JPY", "GBP"}
    assert fetch_ecb("EUR", D(2026, 1, 1)) == []


# --- revaluation -------------------------------------------------------------------------------------------

def receive_dollars(session, amount: str = "1000", booked: str = "1100.00", day: dt.date = PAID_IN) -> int:  # noqa: ANN001
    """A customer pays USD ``amount`` into the dollar account, booked at ``booked`` euros."""
    (entry_id,) = post_entries(session, [EntryInput("BNK", day, [
        debit("5124", booked, "USD received", currency="USD", amount_currency=Decimal(amount)),
        credit("706", booked, "services")])])
    return entry_id


def balances(session, start: dt.date, end: dt.date) -> dict[str, Decimal]:  # noqa: ANN001
    return {r.code: r.balance for r in trial_balance(session, start, end) if r.balance}


def test_revaluation_of_a_dollar_account_at_month_end(database, books, comptoir):
    with database.transaction(books.id) as session:
        receive_dollars(session)  # USD 1,000 at 1.10
        set_rate(session, "USD", MONTH_END, "1.05")
    with database.session(books.id) as session:
        assert balances(session, D(2026, 1, 1), MONTH_END) == {"5124": Decimal("1100.00"), "706": Decimal("-1100.00")}
        (line,) = revaluation_report(session, MONTH_END).lines
        assert (line.account, line.currency, line.foreign, line.booked) == (
            "5124", "USD", Money("1000.00", "USD"), Money("1100.00", "EUR"))
        assert (line.rate.rate, line.rate.date, line.stale) == (Decimal("1.05"), MONTH_END, False)
        assert (line.revalued, line.difference, line.booked_rate) == (
            Money("1050.00", "EUR"), Money("-50.00", "EUR"), Decimal("1.1"))
        assert line.explanation("en") == (
            "Account 5124: $1,000.00 were booked at €1,100.00 (1.1 on average); at 1.05, the rate of 2026-03-31, "
            "they are worth €1,050.00: an unrealized loss of €50.00.")
        assert revaluation_report(session, D(2026, 3, 9)).lines == ()  # before the money came in

    with database.transaction(books.id) as session:
        posted = revalue(session, MONTH_END)
        entry, reversal = get_entry(session, posted.entry_id), get_entry(session, posted.reversal_id)
        assert (entry.date, reversal.date, reversal.reversal_of_id) == (MONTH_END, D(2026, 4, 1), entry.id)
        assert entry.name.startswith("MISC/2026/") and posted.warnings == []
        lines = [(line.amount, line.currency, line.amount_currency) for line in entry_lines(session, entry)]
        assert lines == [(-5000, "USD", 0), (5000, None, None)]  # the loss: 656 (fr_pcg's fx_loss)
        assert [line.amount for line in entry_lines(session, reversal)] == [5000, -5000]

    with database.session(books.id) as session:
        assert balances(session, D(2026, 1, 1), MONTH_END) == {
            "5124": Decimal("1050.00"), "656": Decimal("50.00"), "706": Decimal("-1100.00")}
        assert balances(session, D(2026, 1, 1), D(2026, 4, 30)) == {
            "5124": Decimal("1100.00"), "706": Decimal("-1100.00")}
        (again,) = revaluation_report(session, MONTH_END).lines
        assert again.booked == Money("1050.00", "EUR") and again.difference == Money("0", "EUR")
        usd = session.scalars(select(func.sum(AccountBalance.amount_currency))
                              .where(AccountBalance.currency == "USD")).one()
        assert usd == 100000  # the revaluation moved no dollars
        assert verify_ledger(session) == []
    with database.transaction(books.id) as session:
        assert revalue(session, MONTH_END).entry_id is None  # nothing left to revalue
    code, out, err = comptoir("ledger", "verify", "--org", "impex")
    assert code == 0 and "intact" in out, err


def test_revaluation_through_the_cli_warns_of_a_stale_rate(database, books, comptoir):
    with database.transaction(books.id) as session:
        receive_dollars(session)
        set_rate(session, "USD", D(2026, 3, 2), "1.05")
    code, out, err = comptoir("rates", "revaluation", "--org", "impex", "--date", "2026-03-31")
    assert code == 0
    assert out.splitlines()[0] == "5124\tUSD\t$1,000.00\t€1,100.00\t1.05 (2026-03-02)\t€1,050.00\t-€50.00"
    assert "an unrealized loss of €50.00" in out
    assert err == ("Warning: The USD rate used for 2026-03-31 dates from 2026-03-02, 29 days earlier (more than 7): "
                   "update the exchange rates.\n")
    code, out, err = comptoir("rates", "revaluation", "--org", "impex", "--date", "2026-03-31", "--post")
    assert code == 0 and "Posted MISC/2026/00001 and its reversal MISC/2026/00002." in out
    assert "stale" not in out and err.startswith("Warning: The USD rate")
    code, out, _ = comptoir("rates", "revaluation", "--org", "impex", "--date", "2026-03-31", "--post")
    assert code == 0 and out.endswith("Nothing to revalue.\n")


def test_a_dollar_debt_gains_when_the_dollar_falls_and_a_settled_balance_is_explained(database, books):
    with database.transaction(books.id) as session:
        create_account(session, "4011", "Suppliers USD", type="liability", subtype="payable", currency="USD",
                       tags=["payable"])
        post_entries(session, [
            EntryInput("PUR", D(2026, 3, 5), [debit("607", "2200.00"),
                                              credit("4011", "2200.00", currency="USD", amount_currency=Decimal("-2000"))]),
        ])
        receive_dollars(session)  # USD 1,000 at 1.10 …
        post_entries(session, [EntryInput("BNK", D(2026, 3, 20), [  # … spent at 1.05
            credit("5124", "1050.00", currency="USD", amount_currency=Decimal("-1000")), debit("607", "1050.00")])])
        set_rate(session, "USD", D(2026, 3, 30), "1.05")
    with database.session(books.id) as session:
        debt, bank = revaluation_report(session, MONTH_END).lines
        assert (debt.account, debt.foreign, debt.booked, debt.revalued, debt.difference) == (
            "4011", Money("-2000", "USD"), Money("-2200", "EUR"), Money("-2100", "EUR"), Money("100", "EUR"))
        assert "an unrealized gain of €100.00" in debt.explanation("en")
        assert (bank.account, bank.foreign, bank.booked, bank.rate, bank.difference) == (
            "5124", Money("0", "USD"), Money("50", "EUR"), None, Money("-50", "EUR"))
        assert bank.explanation("en") == (
            "Account 5124 holds no USD any more, but €50.00 remain booked for its past USD movements: the exchange "
            "result of what was settled, €50.00.")
    with database.transaction(books.id) as session:
        entry = get_entry(session, revalue(session, MONTH_END).entry_id)
        assert sorted(line.amount for line in entry_lines(session, entry)) == [-10000, -5000, 5000, 10000]
    with database.session(books.id) as session:
        assert balances(session, D(2026, 1, 1), MONTH_END)["756"] == Decimal("-100.00")  # fx_gain
        assert balances(session, D(2026, 1, 1), MONTH_END)["656"] == Decimal("50.00")  # fx_loss
        assert verify_ledger(session) == []


def test_revaluation_inside_a_period_counts_only_the_lines_up_to_the_day(database, books):
    with database.transaction(books.id) as session:
        receive_dollars(session, "1000", "1100.00", D(2026, 3, 10))
        receive_dollars(session, "500", "540.00", D(2026, 3, 20))
        set_rate(session, "USD", D(2026, 3, 1), "1.08")
    with database.session(books.id) as session:
        (line,) = revaluation_report(session, D(2026, 3, 15), max_age_days=31).lines
        assert (line.foreign, line.booked, line.difference) == (
            Money("1000", "USD"), Money("1100", "EUR"), Money("-20", "EUR"))
        (line,) = revaluation_report(session, MONTH_END, max_age_days=31).lines
        assert (line.foreign, line.booked, line.difference) == (
            Money("1500", "USD"), Money("1640", "EUR"), Money("-20", "EUR"))


def test_a_missing_rate_names_the_currency_and_posts_nothing(database, books):
    with database.transaction(books.id) as session:
        receive_dollars(session)
    with database.session(books.id) as session:
        with pytest.raises(ValidationError, match="No USD rate is known on or before 2026-03-31"):
            revalue(session, MONTH_END)
        session.rollback()
        assert len(balances(session, D(2026, 1, 1), D(2026, 12, 31))) == 2
