"""The migration and backup path: a whole organization exports to one workbook and imports back
into an empty organization to the same books (DESIGN.md §7), through the real command line."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from core.chart import Account, create_account, deprecate_account
from core.excel import import_file
from core.periods import set_period_lock
from core.tenancy import find_organization
from plugins.accounting.closing import close_fiscal_year, post_opening_balances, reopen_fiscal_year
from plugins.accounting.fec import create_journal
from plugins.accounting.models import JournalEntry, JournalLine
from plugins.accounting.rates import Rate, import_rates, set_rate
from plugins.accounting.reports import trial_balance
from plugins.accounting.services import EntryInput, credit, debit, post_entries, post_entry, reverse_entry
from tests.conftest import make_org, make_user
from tests.core.excel.helpers import xlsx
from tests.tenant_dump import canonical_dump, differences

THIS_YEAR = dt.date.today().year
LAST_YEAR = THIS_YEAR - 1


def D(year: int, month: int, day: int) -> dt.date:  # noqa: N802
    return dt.date(year, month, day)


def _source_books(database, tmp_path):  # noqa: ANN001, ANN202
    """A year and a half of varied bookkeeping: every kind of record the workbook must carry."""
    from core.plugins import enable_plugin

    org = make_org(database, "Source", chart="example_tiny", first_fiscal_year=LAST_YEAR, country="FR")
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
        _invoicing(session, tmp_path)
    return org


def _invoicing(session, tmp_path) -> None:  # noqa: ANN001
    """Taxes of its own, partners, products, invoices (domestic, EU reverse charge, in dollars,
    a supplier's with self-assessed VAT, a draft), credit notes, partial payments, an exchange
    difference, an allocation undone, a bank statement, reminders and invoicing settings."""
    from plugins.accounting.debtors import record_reminders
    from plugins.accounting.invoices import (
        InvoiceInput,
        InvoiceLineInput,
        cancel_invoice,
        create_invoice,
        credit_note_input,
        post_invoice,
    )
    from plugins.accounting.invoicing_models import Allocation, InvoiceKind, PartnerKind, TaxScope
    from plugins.accounting.partners import AddressInput, PartnerInput, ProductInput, save_partner, save_product
    from plugins.accounting.payments import PaymentInput, allocate, register_payment, undo_allocation
    from plugins.accounting.printing import save_invoicing_settings
    from plugins.accounting.taxes import TaxInput, save_tax
    from plugins.accounting.treasury import import_statement

    for tax in (TaxInput("VAT20", "VAT 20 %", Decimal("20"), collected="510", deductible="410", is_default=True),
                TaxInput("VAT5.5", "VAT 5.5 %", Decimal("5.5"), collected="510", deductible="410"),
                TaxInput("RC", "Reverse charge", Decimal("0"), TaxScope.REVERSE_CHARGE, mention="Autoliquidation"),
                TaxInput("EXP", "Export", Decimal("0"), TaxScope.EXPORT, active=True),
                TaxInput("VAT19.6", "VAT 19.6 % (old)", Decimal("19.6"), collected="510", deductible="410",
                         active=False)):
        save_tax(session, tax)
    save_product(session, ProductInput("CONSULT", "Consulting day", "650.00", sale_tax="VAT20",
                                       income_account="700"))
    save_product(session, ProductInput("BOOK", "Book", "20", kind="goods", sale_tax="VAT5.5"))
    save_partner(session, PartnerInput("C-FR", "Dupont SARL", country="FR", email="compta@dupont.test",
                                       addresses=[AddressInput("1 rue de la Paix", "", "75002", "Paris", "FR"),
                                                  AddressInput("2 quai Est", "", "69002", "Lyon", "FR", "delivery")]))
    save_partner(session, PartnerInput("C-DE", "Berlin Maschinen GmbH", country="DE", vat_number="DE136695976",
                                       language="fr", receivable_account="400"))
    save_partner(session, PartnerInput("C-US", "Acme Inc", country="US", currency="USD", payment_terms_days=45))
    save_partner(session, PartnerInput("S-DE", "Lieferant GmbH", country="DE", vat_number="DE136695976",
                                       is_customer=False, is_supplier=True, kind=PartnerKind.COMPANY))
    day = D(THIS_YEAR, 2, 3)
    domestic = post_invoice(session, create_invoice(session, InvoiceInput("C-FR", day, [
        InvoiceLineInput(product="CONSULT", quantity=2), InvoiceLineInput("Books", "3", product="BOOK"),
        InvoiceLineInput("Travel", "1", "99.99", tax="VAT20")], reference="PO-77")).id)
    reverse = post_invoice(session, create_invoice(session, InvoiceInput("C-DE", day, [
        InvoiceLineInput(product="CONSULT", quantity="1.5")])).id)
    dollars = post_invoice(session, create_invoice(session, InvoiceInput("C-US", day, [
        InvoiceLineInput("Licence", 1, "1000.00")])).id)
    bill = post_invoice(session, create_invoice(session, InvoiceInput("S-DE", day, [
        InvoiceLineInput("Parts", 4, "25.00", tax="VAT20")], kind=InvoiceKind.SUPPLIER_INVOICE)).id)
    create_invoice(session, InvoiceInput("C-FR", D(THIS_YEAR, 2, 20), [InvoiceLineInput("To be confirmed", 1, "10")]))
    cancelled = post_invoice(session, create_invoice(session, InvoiceInput("C-FR", day, [
        InvoiceLineInput("Wrong customer", 1, "40", tax="VAT20")])).id)
    cancel_invoice(session, cancelled.id, date=D(THIS_YEAR, 2, 5))
    discount = post_invoice(session, create_invoice(session, credit_note_input(
        session, domestic, date=D(THIS_YEAR, 2, 10), lines=[InvoiceLineInput("Discount", 1, "50", tax="VAT20")])).id)
    allocate(session, domestic.id, "60.00", credit_note_id=discount.id)
    register_payment(session, PaymentInput("C-FR", D(THIS_YEAR, 2, 15), "500.00", allocations=[(domestic.id, "500")]))
    usd = register_payment(session, PaymentInput("C-US", D(THIS_YEAR, 3, 1), "1000.00", currency="USD",
                                                 rate=Decimal("0.9"), allocations=[(dollars.id, "1000.00")]))
    undone = session.scalars(select(Allocation).where(Allocation.payment_id == usd.id)).one()
    undo_allocation(session, undone.id)  # its exchange difference is reversed
    allocate(session, dollars.id, "400.00", payment_id=usd.id, date=D(THIS_YEAR, 3, 2))
    register_payment(session, PaymentInput("S-DE", D(THIS_YEAR, 3, 3), "30.00", direction="outbound",
                                           allocations=[(bill.id, "30")]))
    statement = tmp_path / "statement.csv"
    statement.write_text(f"Date,Amount,Label,Reference\n{D(THIS_YEAR, 3, 5).isoformat()},500.00,Transfer,{reverse.name}\n"
                         f"{D(THIS_YEAR, 3, 6).isoformat()},-12.50,Bank fees,\n", encoding="utf-8")
    import_statement(session, statement)
    record_reminders(session, D(THIS_YEAR, 6, 1))
    save_invoicing_settings(session, street="5 avenue Foch", postal_code="75016", city="Paris",
                            vat_number="FR40303265045", iban="FR7630006000011234567890189",
                            sender="factures@source.test", smtp_host="smtp.source.test", smtp_port=465,
                            smtp_username="factures", smtp_password="not-for-export", smtp_security="ssl")


def test_a_whole_organization_exports_and_imports_into_an_empty_one_to_the_same_books(comptoir, database, tmp_path):
    source = _source_books(database, tmp_path)
    books = tmp_path / "books.xlsx"
    code, out, err = comptoir("export", "--org", source.code, "--all", "-o", str(books))
    assert code == 0, err
    assert openpyxl.load_workbook(books, read_only=True).sheetnames == [
        "Accounts", "Fiscal years", "Journals", "Exchange rates", "Notes", "Taxes", "Invoicing settings", "Products",
        "Partners", "Journal entries", "Invoices", "Invoice taxes", "Payments", "Allocations", "Bank statements"]

    assert comptoir("org", "create", "Empty", "--currency", "EUR", "--country", "FR", "--code", "empty")[0] == 0
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
        "taxes: 5 created, 0 updated, 0 unchanged.",
        "invoicing_settings: 10 created, 0 updated, 0 unchanged.",
        "products: 2 created, 0 updated, 0 unchanged.",
        "partners: 4 created, 0 updated, 0 unchanged.",
        "journal_entries: 25 created, 0 updated, 0 unchanged.",
        "invoices: 8 created, 0 updated, 0 unchanged.",
        "invoice_taxes: 9 created, 0 updated, 0 unchanged.",
        "payments: 4 created, 0 updated, 0 unchanged.",
        "allocations: 6 created, 0 updated, 0 unchanged.",
        "bank_statements: 2 created, 0 updated, 0 unchanged.",
    ]
    with database.session() as session:
        copy = find_organization(session, "empty")
    original, copied = (canonical_dump(database, org_id, numbering=True) for org_id in (source.id, copy.id))
    assert differences(original, copied) == {}
    assert f"OPEN/{LAST_YEAR}/00001" in {dict(e)["name"] for e in original["journal_entry"]}
    assert original["example_note"] and original["invoice"] and original["allocation"]
    assert {(dict(a)["code"], dict(a)["deprecated"]) for a in copied["account"]} >= {("105", True)}
    assert comptoir("ledger", "verify", "--org", "empty")[0] == 0
    for year in (LAST_YEAR, THIS_YEAR):
        with database.session(source.id) as session:
            before = trial_balance(session, D(year, 1, 1), D(year, 12, 31))
        with database.session(copy.id) as session:
            assert trial_balance(session, D(year, 1, 1), D(year, 12, 31)) == before and before

    _same_invoicing((database, source.id), (database, copy.id))
    assert "not-for-export" not in _workbook_text(books)  # the SMTP password never leaves
    with database.session(copy.id) as session:
        from plugins.accounting.printing import invoicing_settings

        assert invoicing_settings(session).smtp_password == "" and invoicing_settings(session).smtp_port == 465

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
    assert names[:2] == names[2:] == [f"SAL/{THIS_YEAR}/00009", f"BK2-{THIS_YEAR}-001"]

    # Reopening the migrated closed year finds its closing to reverse, as in the source.
    owner = make_user(database, copy, "owner@copy.test")
    with database.transaction(copy.id) as session:
        set_period_lock(session, f"{THIS_YEAR}-01", False)  # the opening entry's reversal goes there
        reopen_fiscal_year(session, str(LAST_YEAR), actor=owner)
        reversals = session.scalars(select(JournalEntry).where(JournalEntry.reversal_of_id.is_not(None))).all()
        assert {session.get_one(JournalEntry, (e.org_id, e.reversal_of_id)).name for e in reversals} == {
            f"SAL/{LAST_YEAR}/00002", f"CLOSE/{LAST_YEAR}/00001", f"OPEN/{THIS_YEAR}/00001",
            f"MISC/{THIS_YEAR}/00001"}  # the exchange difference of the allocation undone


def _workbook_text(path) -> str:  # noqa: ANN001
    book = openpyxl.load_workbook(path, read_only=True)
    return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)


def _same_invoicing(*books: tuple[object, int]) -> None:
    """The copy's invoices, residuals, aged balances and VAT report are the source's; the next
    invoice of each kind and year is numbered after the restored ones, in both."""
    from plugins.accounting.debtors import aged_balance
    from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoice, post_invoice
    from plugins.accounting.invoicing_models import Invoice, InvoiceKind, Payment
    from plugins.accounting.payments import partner_credit
    from plugins.accounting.vat import vat_report

    seen = []
    for database, org_id in books:  # (database, organization id): the source, then its copy
        with database.transaction(org_id) as session:  # type: ignore[attr-defined]
            invoices = sorted((i.name or "", i.kind, i.state, i.payment_state, i.residual, i.residual_company,
                               i.closed_on, i.reminder_level) for i in session.scalars(select(Invoice)))
            payments = sorted((p.date, p.amount, p.unallocated, p.unallocated_company, p.closed_on)
                              for p in session.scalars(select(Payment)))
            aged = [[(r.code, r.name, r.buckets) for r in aged_balance(session, D(THIS_YEAR, 6, 30), side).rows]
                    for side in ("receivable", "payable")]  # partner ids differ
            vat = vat_report(session, D(THIS_YEAR, 1, 1), D(THIS_YEAR, 12, 31))
            credit = partner_credit(session, "C-US")
            new = post_invoice(session, create_invoice(session, InvoiceInput(
                "C-FR", D(THIS_YEAR, 7, 1), [InvoiceLineInput("Next", 1, "1")])).id)
            seen.append((invoices, payments, aged, vat, credit, new.name))
    assert seen[0] == seen[1]
    invoices, payments, aged, vat, credit, name = seen[0]
    states = {(i[1], i[2], i[3]) for i in invoices}
    assert {(InvoiceKind.CUSTOMER_INVOICE, "cancelled", "paid"), (InvoiceKind.CUSTOMER_INVOICE, "posted", "partial"),
            (InvoiceKind.CUSTOMER_INVOICE, "draft", "not_paid"), (InvoiceKind.SUPPLIER_INVOICE, "posted", "partial"),
            (InvoiceKind.CUSTOMER_CREDIT_NOTE, "posted", "paid")} <= states
    assert aged[0] and aged[1] and vat.rows and credit > 0
    assert name == f"INV/{THIS_YEAR}/00005"


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
    parts = ("fiscal_year", "period", "journal_entry", "journal_line", "account_balance")
    assert differences({p: original[p] for p in parts}, {p: copied[p] for p in parts}) == {}
    assert sorted(dict(p)["name"] for p in copied["period"]
                  if dict(dict(p)["fiscal_year_id"][1])["name"] == "1405 short") == [
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
