"""The migration and backup path: a whole organization exports to one workbook and imports back
into an empty organization to the same books (DESIGN.md §7), through the real command line."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from core.chart import Account, AccountTag, DefaultAccount, create_account, deprecate_account
from core.excel import import_file
from core.periods import FiscalYear, Period, set_period_lock
from core.tenancy import find_organization
from plugins.accounting.closing import close_fiscal_year, post_opening_balances, reopen_fiscal_year
from plugins.accounting.fec import create_journal
from plugins.accounting.models import AccountBalance, ExchangeRate, Journal, JournalEntry, JournalLine
from plugins.accounting.rates import Rate, import_rates, set_rate
from plugins.accounting.reports import trial_balance
from plugins.accounting.services import EntryInput, credit, debit, post_entries, post_entry, reverse_entry
from tests.conftest import make_org, make_user
from tests.core.excel.helpers import xlsx

THIS_YEAR = dt.date.today().year
LAST_YEAR = THIS_YEAR - 1


def D(year: int, month: int, day: int) -> dt.date:  # noqa: N802
    return dt.date(year, month, day)


def canonical_dump(database, org_id: int) -> dict[str, object]:  # noqa: ANN001
    """Everything an organization's books hold, by natural keys instead of ids (which differ
    between organizations). Hashes are left out: the copy's chain is recomputed over its own ids."""
    from comptoir_example.models import ExampleNote

    with database.session(org_id) as session:
        codes = {a.id: a.code for a in session.scalars(select(Account))}
        years = {y.id: y for y in session.scalars(select(FiscalYear))}
        periods = {p.id: p for p in session.scalars(select(Period))}
        journals = {j.id: j.code for j in session.scalars(select(Journal))}
        entries = {e.id: e for e in session.scalars(select(JournalEntry))}
        tags: dict[int, list[str]] = {}
        for tag in session.scalars(select(AccountTag).order_by(AccountTag.tag)):
            tags.setdefault(tag.account_id, []).append(tag.tag)
        lines: dict[int, list[tuple[object, ...]]] = {}
        for line in session.scalars(select(JournalLine).order_by(JournalLine.line_no)):
            lines.setdefault(line.entry_id, []).append(
                (line.line_no, codes[line.account_id], line.date, line.amount, line.currency, line.amount_currency,
                 line.partner_id, line.label))

        def key(entry: JournalEntry) -> str | None:  # a closing's key names its year by id
            text = entry.idempotency_key
            for year_id, year in years.items():
                if text and text.split(":")[1:2] == [str(year_id)]:
                    return text.replace(f":{year_id}:", f":{year.name}:")
            return text

        return {
            "accounts": sorted((a.code, a.name, a.type, a.subtype, codes.get(a.parent_id), a.currency, a.reconcilable,
                                a.deprecated, a.header, tuple(tags.get(a.id, ())))
                               for a in session.scalars(select(Account))),
            "defaults": sorted((d.role, codes[d.account_id]) for d in session.scalars(select(DefaultAccount))),
            "years": sorted((y.name, y.start_date, y.end_date, y.state) for y in years.values()),
            "periods": sorted((years[p.fiscal_year_id].name, p.number, p.name, p.start_date, p.end_date, p.locked)
                              for p in periods.values()),
            "journals": sorted((j.code, j.name, j.kind, j.pattern, j.active) for j in session.scalars(select(Journal))),
            "entries": sorted((e.chain_index, e.name, e.number, journals[e.journal_id], years[e.fiscal_year_id].name,
                               periods[e.period_id].name, e.date, e.state, e.label, e.reference,
                               entries[e.reversal_of_id].name if e.reversal_of_id else None, key(e),
                               tuple(lines[e.id])) for e in entries.values()),
            "balances": sorted((codes[b.account_id], periods[b.period_id].name, b.currency, b.debit, b.credit,
                                b.amount_currency) for b in session.scalars(select(AccountBalance))),
            "rates": sorted((r.currency, r.date, r.rate, r.source) for r in session.scalars(select(ExchangeRate))),
            "notes": sorted((codes[n.account_id], n.text) for n in session.scalars(select(ExampleNote))),
        }


def _source_books(database, tmp_path):  # noqa: ANN001, ANN202
    """A year and a half of varied bookkeeping: every kind of record the workbook must carry."""
    from core.plugins import enable_plugin

    org = make_org(database, "Source", chart="example_tiny", first_fiscal_year=LAST_YEAR)
    owner = make_user(database, org, "owner@source.test")
    with database.transaction(org.id) as session:
        enable_plugin(session, "example")
        journal = create_journal(session, "BK2", "Second bank")
        journal.pattern = "{code}-{year}-{number:03d}"
        create_account(session, "105", "Old bank", type="asset", subtype="bank", parent="1")
        set_rate(session, "USD", D(LAST_YEAR, 1, 2), "0.9132")
        import_rates(session, [Rate(D(LAST_YEAR, 3, 1), "USD", Decimal("0.95")),
                               Rate(D(LAST_YEAR, 3, 1), "GBP", Decimal("1.1712345678"))], source="ecb")
        post_opening_balances(session, D(LAST_YEAR, 1, 1), [("100", Decimal("50")), ("600", Decimal("-50"))],
                              idempotency_key=f"import:opening:{LAST_YEAR}-01-01")
        post_entries(session, [
            EntryInput("MISC", D(LAST_YEAR, 1, 2), [debit("100", "5000"), credit("600", "5000")], label="capital"),
            EntryInput("SAL", D(LAST_YEAR, 3, 10), [
                debit("400", "1200", "customer", currency="USD", amount_currency=Decimal("1300.00")),
                credit("700", "1000", "=formula-like sale"), credit("510", "200")],
                label="sale", reference="INV-1", idempotency_key="invoice:1"),
            EntryInput("BK2", D(LAST_YEAR, 4, 1), [debit("105", "300"), credit("100", "300")]),
        ])
        # Back-dated after later ones: numbers follow posting order, not dates.
        late = post_entry(session, EntryInput("SAL", D(LAST_YEAR, 2, 1), [debit("400", "80"), credit("700", "80")]))
        reverse_entry(session, late.id, date=D(LAST_YEAR, 5, 1))
        import_file(session, xlsx(tmp_path / "entries.xlsx", [
            ["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit"],
            ["IMP-1", D(LAST_YEAR, 6, 1), "PUR", "800", "paper", 40, None],
            ["IMP-1", D(LAST_YEAR, 6, 1), "PUR", "500", "paper", None, 40]]))
        import_file(session, xlsx(tmp_path / "notes.xlsx", [["Account", "Note"], ["100", "checked monthly"]],
                                  title="Notes"))
        post_entry(session, EntryInput("BK2", D(LAST_YEAR, 7, 1), [debit("100", "300"), credit("105", "300")]))
        deprecate_account(session, "105")
        close_fiscal_year(session, str(LAST_YEAR), actor=owner)
        post_entry(session, EntryInput("SAL", D(THIS_YEAR, 1, 20), [debit("400", "10"), credit("700", "10")]))
        set_period_lock(session, f"{THIS_YEAR}-01", True)
    return org


def test_a_whole_organization_exports_and_imports_into_an_empty_one_to_the_same_books(comptoir, database, tmp_path):
    source = _source_books(database, tmp_path)
    books = tmp_path / "books.xlsx"
    code, out, err = comptoir("export", "--org", source.code, "--all", "-o", str(books))
    assert code == 0, err
    assert openpyxl.load_workbook(books, read_only=True).sheetnames == [
        "Accounts", "Fiscal years", "Journals", "Exchange rates", "Notes", "Products", "Partners", "Journal entries"]

    assert comptoir("org", "create", "Empty", "--currency", "EUR", "--code", "empty")[0] == 0
    code, out, err = comptoir("import", str(books), "--org", "empty", "--dry-run")
    assert code == 0, err  # a sheet no enabled plugin reads is said, not silently dropped
    assert out.splitlines()[-2:] == ["Sheets ignored (no list of this organization matches them): Notes.",
                                     "Dry run: nothing was written."]
    assert comptoir("plugin", "enable", "--org", "empty", "example")[0] == 0
    code, out, err = comptoir("import", str(books), "--org", "empty")
    assert code == 0, err
    assert out.splitlines() == [
        "accounts: 15 created, 0 updated, 0 unchanged.",
        "fiscal_years: 1 created, 1 updated, 0 unchanged.",  # the empty organization has this year, unlocked
        "journals: 1 created, 0 updated, 7 unchanged.",  # and the default journals
        "exchange_rates: 3 created, 0 updated, 0 unchanged.",
        "example_notes: 1 created, 0 updated, 0 unchanged.",
        "products: 0 created, 0 updated, 0 unchanged.",
        "partners: 0 created, 0 updated, 0 unchanged.",
        "journal_entries: 11 created, 0 updated, 0 unchanged.",
    ]
    with database.session() as session:
        copy = find_organization(session, "empty")
    original, copied = canonical_dump(database, source.id), canonical_dump(database, copy.id)
    for part in original:
        assert copied[part] == original[part], part
    assert original["entries"][0][1] == f"OPEN/{LAST_YEAR}/00001" and original["notes"]
    assert ("105", "Old bank", "asset", "bank", "1", None, False, True, False, ()) in copied["accounts"]
    assert comptoir("ledger", "verify", "--org", "empty")[0] == 0
    for year in (LAST_YEAR, THIS_YEAR):
        with database.session(source.id) as session:
            before = trial_balance(session, D(year, 1, 1), D(year, 12, 31))
        with database.session(copy.id) as session:
            assert trial_balance(session, D(year, 1, 1), D(year, 12, 31)) == before and before

    # Importing the workbook again changes nothing, in the copy as in the source.
    for org in ("empty", source.code):
        code, out, err = comptoir("import", str(books), "--org", org)
        assert code == 0, err
        assert all(" 0 created, 0 updated" in line for line in out.splitlines()), out

    # The numbering goes on after the migrated numbers, as in the source.
    names = []
    for org_id in (source.id, copy.id):
        with database.transaction(org_id) as session:
            names.append(post_entry(session, EntryInput("SAL", D(THIS_YEAR, 2, 1),
                                                        [debit("400", "1"), credit("700", "1")])).name)
            names.append(post_entry(session, EntryInput("BK2", D(THIS_YEAR, 2, 1),
                                                        [debit("100", "1"), credit("110", "1")])).name)
    assert names[:2] == names[2:] == [f"SAL/{THIS_YEAR}/00002", f"BK2-{THIS_YEAR}-001"]

    # Reopening the migrated closed year finds its closing to reverse, as in the source.
    owner = make_user(database, copy, "owner@copy.test")
    with database.transaction(copy.id) as session:
        set_period_lock(session, f"{THIS_YEAR}-01", False)  # the opening entry's reversal goes there
        reopen_fiscal_year(session, str(LAST_YEAR), actor=owner)
        reversals = session.scalars(select(JournalEntry).where(JournalEntry.reversal_of_id.is_not(None))).all()
        assert {session.get_one(JournalEntry, (e.org_id, e.reversal_of_id)).name for e in reversals} == {
            f"SAL/{LAST_YEAR}/00002", f"CLOSE/{LAST_YEAR}/00001", f"OPEN/{THIS_YEAR}/00001"}


def test_numbers_that_the_books_cannot_give_are_refused_with_the_way_out(database, tmp_path):
    """Books that already hold entries of a journal and year number the next one after them:
    a file that asks for other numbers is refused, and importing without the numbers works."""
    org = make_org(database, "Busy", chart="example_tiny", first_fiscal_year=THIS_YEAR)
    header = ["Reference", "Date", "Journal", "Account", "Debit", "Credit", "Number"]
    rows = [header, ["MISC/X/1", D(THIS_YEAR, 3, 1), "MISC", "100", 5, None, 1],
            ["MISC/X/1", D(THIS_YEAR, 3, 1), "MISC", "600", None, 5, 1],
            ["B", D(THIS_YEAR, 3, 2), "MISC", "100", 5, None, 3], ["B", D(THIS_YEAR, 3, 2), "MISC", "600", None, 5, 3]]
    with database.transaction(org.id) as session:
        post_entry(session, EntryInput("MISC", D(THIS_YEAR, 1, 2), [debit("100", "1"), credit("600", "1")]))
        try:
            import_file(session, xlsx(tmp_path / "numbered.xlsx", rows), schema="journal_entries")
        except Exception as failure:  # noqa: BLE001 - the problems are what is checked
            problems = [(p.row, p.column, p.reason()) for p in failure.problems]  # type: ignore[attr-defined]
        assert problems == [  # B, numbered 3, would indeed be the third
            (2, "Number", "Entry MISC/X/1 is number 1 in the file; journal MISC numbers it 2 here (numbers follow "
                          "each other without a gap). Empty the Number column to let the books number the entries.")]
        for row in rows[1:]:
            row[6] = None
        report = import_file(session, xlsx(tmp_path / "unnumbered.xlsx", rows), schema="journal_entries")
        assert report.counts.created == 2
        names = session.scalars(select(JournalEntry.name).order_by(JournalEntry.chain_index)).all()
    assert names == [f"MISC/{THIS_YEAR}/{n:05d}" for n in (1, 2, 3)]


def test_entries_are_posted_in_batches_in_file_order_and_reversals_find_their_entry(database, tmp_path, monkeypatch):
    """Batches keep the ledger's memory bounded; numbers, chain and reversals come out as one batch would."""
    from plugins.accounting.reports import verify_ledger

    monkeypatch.setattr("plugins.accounting.excel._POST_BATCH", 2)
    org = make_org(database, "Batches", chart="example_tiny", first_fiscal_year=THIS_YEAR)
    rows = [["Reference", "Date", "Journal", "Account", "Debit", "Credit", "Reversal of"]]
    for number in range(1, 6):
        rows += [[f"E{number}", D(THIS_YEAR, 3, number), "MISC", "100", number, None, None],
                 [f"E{number}", D(THIS_YEAR, 3, number), "MISC", "600", None, number, None]]
    rows += [["R5", D(THIS_YEAR, 3, 9), "MISC", "600", 5, None, "E5"], ["R5", D(THIS_YEAR, 3, 9), "MISC", "100", None, 5, "E5"]]
    with database.transaction(org.id) as session:
        assert import_file(session, xlsx(tmp_path / "batches.xlsx", rows)).counts.created == 6
        entries = session.scalars(select(JournalEntry).order_by(JournalEntry.chain_index)).all()
        assert [(e.reference, e.number) for e in entries] == [(f"E{n}", n) for n in range(1, 6)] + [("R5", 6)]
        assert entries[-1].reversal_of_id == entries[4].id and verify_ledger(session) == []


def test_numbers_are_checked_again_once_posted(database, tmp_path, monkeypatch):
    """Should another posting slip in between the check and the posting, the ledger's numbers
    are compared with the file's after posting, and nothing is imported."""
    import plugins.accounting.excel as accounting_excel

    org = make_org(database, "Race", chart="example_tiny", first_fiscal_year=THIS_YEAR)
    rows = [["Reference", "Date", "Journal", "Account", "Debit", "Credit", "Number"],
            ["A", D(THIS_YEAR, 3, 1), "MISC", "100", 5, None, 1], ["A", D(THIS_YEAR, 3, 1), "MISC", "600", None, 5, 1]]
    monkeypatch.setattr(accounting_excel._Numbers, "take", lambda self, journal, day: (1, "A"))  # the check saw none
    with database.transaction(org.id) as session:
        post_entry(session, EntryInput("MISC", D(THIS_YEAR, 1, 2), [debit("100", "1"), credit("600", "1")]))
        try:
            import_file(session, xlsx(tmp_path / "race.xlsx", rows))
            problems = []
        except Exception as failure:  # noqa: BLE001 - the problems are what is checked
            problems = [(p.row, p.column) for p in failure.problems]  # type: ignore[attr-defined]
        assert problems == [(2, "Number")]
        assert len(session.scalars(select(JournalEntry)).all()) == 1


def test_an_entrys_own_fields_may_be_written_on_its_first_line_only(database, tmp_path):
    org = make_org(database, "Firsts", chart="example_tiny", first_fiscal_year=THIS_YEAR)
    rows = [["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit", "Entry label", "Document reference"],
            ["A", D(THIS_YEAR, 3, 1), "MISC", "100", "bank side", 5, None, "Capital", "DOC-1"],
            ["A", D(THIS_YEAR, 3, 1), "MISC", "600", None, None, 5, None, None],
            ["B", D(THIS_YEAR, 3, 2), "MISC", "100", None, 1, None, "One", None],
            ["B", D(THIS_YEAR, 3, 2), "MISC", "600", None, None, 1, "Other", None]]
    with database.transaction(org.id) as session:
        try:
            import_file(session, xlsx(tmp_path / "firsts.xlsx", rows))
            problems = []
        except Exception as failure:  # noqa: BLE001 - the problems are what is checked
            problems = [(p.row, p.column) for p in failure.problems]  # type: ignore[attr-defined]
        assert problems == [(5, "Entry label")]  # a different value is refused, an empty one is not
        assert import_file(session, xlsx(tmp_path / "first.xlsx", rows[:3])).counts.created == 1
        entry = session.scalars(select(JournalEntry)).one()
        assert (entry.label, entry.reference) == ("Capital", "DOC-1")
        assert [line.label for line in session.scalars(select(JournalLine).order_by(JournalLine.line_no))] == [
            "bank side", ""]


def test_jalali_and_short_years_come_back_with_their_own_periods(database, tmp_path):
    """Periods are explicit ranges: a Persian organization's Jalali months and a short first
    year mid-month come back as they were, in Persian headers too."""
    from core.excel import export_workbook, schemas
    from core.periods import create_fiscal_year
    from core.tenancy import current_organization
    from plugins.accounting.reports import verify_ledger

    source = make_org(database, "Tehran Co", chart="ir_standard", currency=None, calendar="persian",
                      first_fiscal_year=1404)
    with database.transaction(source.id) as session:
        organization = current_organization(session)
        create_fiscal_year(session, organization, start=D(2026, 3, 21), end=D(2026, 8, 9), name="1405 short")
        bank, capital = (session.scalars(select(Account.code).where(Account.header.is_(False), Account.type == kind)
                                         .order_by(Account.code)).first() for kind in ("asset", "equity"))
        post_entry(session, EntryInput("MISC", D(2026, 8, 1), [debit(bank, "1000"), credit(capital, "1000")]))
        books = export_workbook(session, tmp_path / "tehran.xlsx", schemas(session), locale="fa")
    copy = make_org(database, "Copy", chart=None, currency=source.currency, calendar="persian",
                    first_fiscal_year=1404)
    with database.transaction(copy.id) as session:
        report = import_file(session, books, locale="fa")
        assert [s.schema for s in report.sheets][:2] == ["accounts", "fiscal_years"]
        assert verify_ledger(session) == []
    original, copied = canonical_dump(database, source.id), canonical_dump(database, copy.id)
    for part in ("years", "periods", "entries", "balances"):
        assert copied[part] == original[part], part
    assert [p[2] for p in copied["periods"] if p[0] == "1405 short"] == [
        "1405-01", "1405-02", "1405-03", "1405-04", "1405-05"]


def test_entries_in_a_closed_year_or_no_year_are_refused_with_the_ledgers_words(database, tmp_path):
    org = make_org(database, "Closed", chart="example_tiny", first_fiscal_year=LAST_YEAR)
    owner = make_user(database, org, "owner@closed.test")
    with database.transaction(org.id) as session:
        post_entry(session, EntryInput("MISC", D(LAST_YEAR, 1, 2), [debit("100", "1"), credit("600", "1")]))
        close_fiscal_year(session, str(LAST_YEAR), actor=owner)
    rows = [["Reference", "Date", "Journal", "Account", "Debit", "Credit"]]
    for reference, day in (("A", D(LAST_YEAR, 5, 1)), ("B", D(THIS_YEAR + 1, 5, 1))):
        rows += [[reference, day, "MISC", "100", 1, None], [reference, day, "MISC", "600", None, 1]]
    with database.transaction(org.id) as session:
        try:
            import_file(session, xlsx(tmp_path / "closed.xlsx", rows))
            problems = []
        except Exception as failure:  # noqa: BLE001 - the problems are what is checked
            problems = [(p.row, p.reason()) for p in failure.problems]  # type: ignore[attr-defined]
    assert problems == [(2, f"The fiscal year {LAST_YEAR} is closed."),
                        (4, f"No fiscal year covers {THIS_YEAR + 1}-05-01.")]
