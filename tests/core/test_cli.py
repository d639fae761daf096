"""The `comptoir` command line, run for real: commands, --org matching, one-line errors."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STRONG_PASSWORD


def test_db_upgrade_is_idempotent(comptoir):
    code, out, _ = comptoir("db", "upgrade")
    assert code == 0 and "up to date" in out


@pytest.mark.parametrize("template", ["generic_service", "generic_trading", "generic_manufacturing",
                                      "fr_pcg", "ch_pme", "mx_sat", "ir_standard"])
def test_org_create_with_each_template(comptoir, template):
    currency = [] if template[:7] != "generic" else ["--currency", "USD"]
    code, out, err = comptoir("org", "create", f"Org {template}", "--chart", template, *currency)
    assert code == 0, err
    assert "created with the code" in out
    code, out, _ = comptoir("org", "list")
    assert f"Org {template}" in out and template in out


def test_org_create_branch_and_matching_by_name(comptoir):
    assert comptoir("org", "create", "Holding SA", "--country", "CH", "--currency", "CHF", "--chart", "ch_pme",
                    "--code", "hold")[0] == 0
    code, _, err = comptoir("org", "create", "Lausanne", "--chart", "ch_pme", "--parent", "HOLDING sa")
    assert code == 0, err
    _, out, _ = comptoir("org", "list")
    line = next(line for line in out.splitlines() if line.startswith("lausanne"))
    assert line.endswith("\thold")


def test_user_create_with_password_on_stdin(comptoir):
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    code, out, err = comptoir("user", "create", "ann@acme.test", "--org", "ACME", "--role", "accountant",
                              "--password-stdin", stdin=STRONG_PASSWORD + "\n")
    assert code == 0, err
    assert "ann@acme.test is accountant of ACME" in out


def test_weak_password_is_one_line_on_stderr(comptoir):
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    code, out, err = comptoir("user", "create", "bob@acme.test", "--org", "acme", "--password-stdin", stdin="weak\n")
    assert code == 1 and out == ""
    assert err.startswith("Error: The password must have at least 8 characters.")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_duplicate_email_error(comptoir):
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    comptoir("user", "create", "c@acme.test", "--org", "acme", "--password-stdin", stdin=STRONG_PASSWORD)
    # an existing user is reused (added to the organization), not duplicated
    code, out, _ = comptoir("user", "create", "C@acme.test", "--org", "acme", "--role", "clerk",
                            "--password-stdin", stdin=STRONG_PASSWORD)
    assert code == 0 and "is clerk of acme" in out


def test_unknown_org_and_chart_errors(comptoir):
    code, _, err = comptoir("plugin", "list", "--org", "nowhere")
    assert code == 1 and err.strip() == "Error: Organization nowhere was not found."
    code, _, err = comptoir("org", "create", "X", "--chart", "xx")
    assert code == 1 and "There is no chart template xx" in err


def test_plugin_enable_disable(comptoir):
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    code, out, _ = comptoir("plugin", "list", "--org", "acme")
    assert code == 0 and "accounting\t0.1.0\tAccounting\t-\tenabled" in out
    code, out, _ = comptoir("plugin", "enable", "--org", "acme", "payroll")
    assert code == 0 and "Enabled: payroll" in out
    code, out, _ = comptoir("plugin", "disable", "--org", "acme", "accounting", "--yes")
    assert code == 0 and "plugins that require it: payroll" in out
    _, out, _ = comptoir("plugin", "list", "--org", "acme")
    assert "payroll\t0.1.0\tPayroll\taccounting\tdisabled" in out


def test_plugin_disable_can_be_declined(comptoir):
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    code, _, err = comptoir("plugin", "disable", "--org", "acme", "accounting", stdin="n\n")
    assert code == 1 and "Cancelled" in err
    _, out, _ = comptoir("plugin", "list", "--org", "acme")
    assert "accounting\t0.1.0\tAccounting\t-\tenabled" in out


def test_chart_templates_and_update(comptoir):
    code, out, _ = comptoir("chart", "templates")
    assert code == 0 and "fr_pcg\tv" in out and "ir_standard" in out
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    code, out, _ = comptoir("chart", "update", "--org", "acme", "--dry-run")
    assert code == 0 and "Nothing to change" in out


def test_fiscal_year_commands(comptoir):
    comptoir("org", "create", "Acme", "--chart", "fr_pcg", "--code", "acme")
    code, out, _ = comptoir("fiscal-year", "list", "--org", "acme")
    first_period = out.splitlines()[1].split()[0]
    assert code == 0
    assert comptoir("fiscal-year", "lock", "--org", "acme", first_period)[0] == 0
    _, out, _ = comptoir("fiscal-year", "list", "--org", "acme")
    assert "locked" in out.splitlines()[1]
    code, out, _ = comptoir("fiscal-year", "create", "--org", "acme")
    assert code == 0 and "Fiscal year" in out
    code, _, err = comptoir("fiscal-year", "create", "--org", "acme", "--start", "2020-01-01", "--end", "2019-01-01")
    assert code == 1 and "ends before it starts" in err


def test_demo_prints_credentials_that_work(comptoir, settings):
    code, out, err = comptoir("demo")
    assert code == 0, err
    password = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    from core.db import Database
    from core.security import authenticate

    db = Database(settings.database_url)
    with db.session() as session:
        assert authenticate(session, "demo@comptoir.example", password) is not None
    db.dispose()
    assert comptoir("demo")[0] == 0  # running it again refreshes, never duplicates


def test_messages_follow_the_locale(comptoir, monkeypatch):
    monkeypatch.setenv("COMPTOIR_LOCALE", "fr")
    code, _, err = comptoir("plugin", "list", "--org", "nowhere")
    assert code == 1 and "introuvable" in err


def test_the_installed_console_script(settings, tmp_path):
    script = Path(sys.executable).with_name("comptoir")
    env = {**os.environ, "COMPTOIR_DATABASE_URL": settings.database_url, "COMPTOIR_SECRET_KEY": "test",
           "COMPTOIR_INSTANCE_PATH": str(tmp_path), "COMPTOIR_LOCALE": "en"}
    if settings.owner_database_url:
        env["COMPTOIR_DATABASE_OWNER_URL"] = settings.owner_database_url
    done = subprocess.run([str(script), "org", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    failed = subprocess.run([str(script), "user", "create", "x@y.z", "--org", "missing", "--password-stdin"],
                            env=env, input="Pass-word-1\n", capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.strip() == "Error: Organization missing was not found."


def test_comptoir_run_serves_the_login_page(settings, tmp_path):
    """The README's first command ends with `comptoir run`: it must serve the web UI."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(sys.executable).with_name("comptoir")
    env = {**os.environ, "COMPTOIR_DATABASE_URL": settings.database_url, "COMPTOIR_SECRET_KEY": "test",
           "COMPTOIR_INSTANCE_PATH": str(tmp_path)}
    server = subprocess.Popen([str(script), "run", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200
                    assert 'type="password"' in response.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("comptoir run did not answer")
    finally:
        server.terminate()
        server.wait(timeout=10)
