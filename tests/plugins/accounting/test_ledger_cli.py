"""`comptoir ledger close-year` and `reopen-year`. `ledger verify` on a tampered ledger:
tests/reliability/test_ledger_integrity.py."""
from __future__ import annotations

from plugins.accounting.services import post_entries
from plugins.accounting.testing import sale
from tests.conftest import make_org


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
