"""`comptoir ledger verify`: exit 0 on an intact ledger, 1 naming what differs."""
from __future__ import annotations

from sqlalchemy import text

from plugins.accounting.services import post_entries
from plugins.accounting.testing import sale
from tests.conftest import make_org


def test_verify_an_intact_then_a_tampered_ledger(comptoir, database, owner_engine):
    org = make_org(database, "Verified", chart="fr_pcg", code="verified")
    with database.transaction(org.id) as session:
        post_entries(session, [sale(session, "10.00"), sale(session, "20.00")])
    code, out, err = comptoir("ledger", "verify", "--org", "verified")
    assert code == 0 and "intact" in out, err
    with owner_engine.connect() as raw:
        raw.execute(text("UPDATE account_balance SET debit = debit + 1 WHERE org_id = :o "
                         "AND debit > 0"), {"o": org.id})
        raw.commit()
    code, out, err = comptoir("ledger", "verify", "--org", "verified")
    assert code == 1
    assert "The balance of account 512" in err and "differs from its lines" in err


def test_close_and_reopen_from_the_command_line(comptoir, database):
    from tests.conftest import make_user

    org = make_org(database, "Yearly", chart="fr_pcg", code="yearly", first_fiscal_year=2026)
    make_user(database, org, "owner@yearly.test", "owner")
    make_user(database, org, "clerk@yearly.test", "clerk")
    with database.transaction(org.id) as session:
        post_entries(session, [sale(session, "10.00")])
    code, out, err = comptoir("ledger", "close-year", "--org", "yearly", "2026")
    assert code == 0 and "2026 is closed" in out, err
    code, _, err = comptoir("ledger", "reopen-year", "--org", "yearly", "2026", "--user", "clerk@yearly.test")
    assert code == 1 and "permission" in err
    code, out, err = comptoir("ledger", "reopen-year", "--org", "yearly", "2026", "--user", "owner@yearly.test")
    assert code == 0 and "reopened" in out, err
    assert comptoir("ledger", "verify", "--org", "yearly")[0] == 0
