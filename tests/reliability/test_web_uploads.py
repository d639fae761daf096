"""Uploads through the web: over the size limit → 413 before anything is stored; a file is
judged by its bytes, not its name; nothing is written in either case."""
from __future__ import annotations

import io

import pytest

from tests.core.excel.helpers import table_counts
from tests.webtools import make_app, signed_in

LIMIT = 20 * 1024 * 1024


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


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
