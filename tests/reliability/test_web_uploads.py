"""Uploads through the web: over the size limit → 413 before anything is stored; a file is
judged by its bytes, not its name; nothing is written in either case. An upload and its
annotated error workbook belong to the session that sent it: another one gets 404."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.core.excel.helpers import table_counts, xlsx_upload
from tests.webtools import signed_in

LIMIT = 20 * 1024 * 1024


def _uploads(settings) -> list[str]:  # noqa: ANN001
    folder = settings.instance_path / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_upload_over_the_limit_is_refused_with_413_and_not_stored(app, settings, database, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    before = table_counts(database, org.id), _uploads(settings)
    response = client.post("/org/import", data={"csrf_token": token, "schema": "accounts",
                                                "file": (io.BytesIO(b"\0" * (LIMIT + 1)), "big.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert (table_counts(database, org.id), _uploads(settings)) == before


def test_an_image_named_xlsx_is_told_by_its_content(app, settings, database, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    before = table_counts(database, org.id)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    response = client.post("/org/import", data={"csrf_token": token, "schema": "accounts",
                                                "file": (io.BytesIO(png), "chart.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "This is not a spreadsheet (it looks like a PNG image)." in response.get_data(as_text=True)
    assert table_counts(database, org.id) == before


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("get", "/api/v1/reports/general-ledger?account=%00", {}),
    ("post", "/api/v1/accounts", {"data": '{"code": "9\\u0000", "name": "x", "type": "asset"}',
                                  "content_type": "application/json"}),
])
def test_a_nul_character_is_a_bad_request_on_every_database(app, database, org, owner, method, path, kwargs):
    """PostgreSQL cannot store NUL in text: refused at the door with 400, not a 500 from deep inside."""
    from core.auth import create_api_token

    with database.transaction() as session:
        _row, token = create_api_token(session, owner, org.id, "nul")
    before = table_counts(database, org.id)
    response = getattr(app.test_client(), method)(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Text may not contain NUL characters."
    assert table_counts(database, org.id) == before


def test_import_errors_give_back_the_annotated_workbook(app, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    upload = xlsx_upload([("code", "name", "type"), ("4700", "", "income"), ("4710", "Royalties", "planet")], "Accounts")
    response = client.post("/org/import", data={"csrf_token": token, "schema": "accounts",
                                                "file": (upload, "chart.xlsx")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was imported" in html
    link = re.search(r'href="(/org/import/[^"]+/errors.xlsx)"', html).group(1)
    annotated = client.get(link)
    assert annotated.status_code == 200 and "chart.errors.xlsx" in annotated.headers["Content-Disposition"]
    assert len(load_workbook(io.BytesIO(annotated.data)).sheetnames) >= 2
    other, _ = signed_in(app, "owner@acme.test")
    assert other.get(link).status_code == 404  # another session's upload
