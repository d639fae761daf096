"""Partners (several addresses each) and products through workbooks: import twice, update, export."""
from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest

from core.errors import NotFound
from core.excel.importer import ImportFailed, import_file
from core.excel.schema import ImportCounts, registered_schemas
from core.excel.writer import export_workbook
from plugins.accounting.partners import get_partner, get_product, partner_addresses


def workbook(path, rows, title="Partners"):  # noqa: ANN001, ANN201
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


PARTNER_ROWS = [
    ["Reference", "Name", "Country", "VAT number", "Email", "Payment terms (days)", "Street", "Postal code", "City",
     "Address kind"],
    ["DE1", "Berlin Maschinen GmbH", "DE", "DE136695976", "ap@berlin.test", 45, "Unter den Linden 1", "10117",
     "Berlin", "invoice"],
    ["DE1", None, None, None, None, None, "Hafenstraße 9", "20457", "Hamburg", "delivery"],
    ["FR1", "Client Paris", "FR", None, None, None, "1 rue de la Paix", "75002", "Paris", None],
]


def test_partners_with_several_addresses_import_once(fr, tmp_path):
    path = workbook(tmp_path / "partners.xlsx", PARTNER_ROWS)
    first = import_file(fr, path, schema="partners")
    assert first.counts == ImportCounts(created=2)
    partner = get_partner(fr, "DE1")
    assert (partner.vat_number, partner.payment_terms_days, partner.email) == ("DE136695976", 45, "ap@berlin.test")
    assert [(a.city, a.kind) for a in partner_addresses(fr, partner)] == [("Berlin", "invoice"),
                                                                          ("Hamburg", "delivery")]
    again = import_file(fr, path, schema="partners")
    assert again.counts == ImportCounts(unchanged=2)
    changed = [row[:] for row in PARTNER_ROWS]
    changed[1][1] = "Berlin Maschinen AG"
    updated = import_file(fr, workbook(tmp_path / "changed.xlsx", changed), schema="partners", update=True)
    assert updated.counts == ImportCounts(updated=1, unchanged=1)
    assert get_partner(fr, "DE1").name == "Berlin Maschinen AG"


def test_a_bad_vat_number_fails_the_whole_import(fr, tmp_path):
    rows = [row[:] for row in PARTNER_ROWS]
    rows[3][3] = "FR00000000000"
    with pytest.raises(ImportFailed) as failure:
        import_file(fr, workbook(tmp_path / "bad.xlsx", rows), schema="partners", errors_path=tmp_path / "e.xlsx")
    assert [(p.row, p.column) for p in failure.value.problems] == [(4, "VAT number")]
    with pytest.raises(NotFound):  # nothing was written, not even the good rows
        get_partner(fr, "DE1")


def test_products_import_and_export_round_trip(fr, tmp_path):
    path = workbook(tmp_path / "products.xlsx", [
        ["Code", "Name", "Unit price", "Sales tax"],
        ["CONSULT", "Consulting day", Decimal("650.00"), "TVA20"],
        ["BOOK", "Book", Decimal("30"), "TVA5.5"],
    ], title="Products")
    assert import_file(fr, path, schema="products").counts == ImportCounts(created=2)
    assert import_file(fr, path, schema="products").counts == ImportCounts(unchanged=2)
    assert get_product(fr, "BOOK").price == "30"
    exported = export_workbook(fr, tmp_path / "out.xlsx", [registered_schemas()["products"],
                                                            registered_schemas()["partners"]])
    sheet = openpyxl.load_workbook(exported)["Products"]
    assert [row[:4] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("BOOK", "Book", "service", 30), ("CONSULT", "Consulting day", "service", 650)]
    assert import_file(fr, exported).counts == ImportCounts(unchanged=2)
