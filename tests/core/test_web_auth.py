"""Signing in and out for real: a success resets the failure count, password change, password
reset through a real local SMTP server, the language and organization switchers. Rate limits,
the audit record, cookie flags and sessions that end on sign-out:
tests/reliability/test_web_baseline.py."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import select

from core.auth import (
    MAX_FAILURES_PER_ACCOUNT,
    PasswordResetToken,
    issue_reset_token,
    reset_password,
)
from core.config import PasswordPolicy
from core.errors import NotFound
from core.security import authenticate
from tests.conftest import STRONG_PASSWORD, make_user
from tests.webtools import csrf_token, make_app, sign_in, smtp_server


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


def test_a_success_resets_the_account_count(client, org, owner):
    for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
        sign_in(client, "owner@acme.test", "Wrong-Password-1")
    assert sign_in(client, "owner@acme.test").status_code == 302
    for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
        assert sign_in(client, "owner@acme.test", "Wrong-Password-1").status_code == 401
    assert sign_in(client, "owner@acme.test").status_code == 302


def test_change_password(client, database, org, owner):
    sign_in(client, "owner@acme.test")
    other = client.application.test_client()
    sign_in(other, "owner@acme.test")
    token = csrf_token(client, "/account/password")
    wrong = client.post("/account/password", data={"csrf_token": token, "current_password": "Nope-Nope-1",
                                                   "new_password": "short", "confirm_password": "short"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert "The current password is wrong." in page and "at least 8 characters" in page
    response = client.post("/account/password", data={"csrf_token": token, "current_password": STRONG_PASSWORD,
                                                      "new_password": "Brand-New-Pass-7",
                                                      "confirm_password": "Brand-New-Pass-7"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one ended
    with database.transaction() as session:
        assert authenticate(session, "owner@acme.test", "Brand-New-Pass-7") is not None


def test_forgot_password_sends_a_single_use_link_by_email(app, client, settings, database, org, owner):
    with smtp_server() as (inbox, port):
        app.extensions["comptoir.settings"] = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port,
                                                                  mail_from="books@acme.test")
        token = csrf_token(client, "/forgot")
        unknown = client.post("/forgot", data={"csrf_token": token, "email": "nobody@acme.test"})
        known = client.post("/forgot", data={"csrf_token": token, "email": "owner@acme.test"})
        assert unknown.status_code == known.status_code == 302
        assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "owner@acme.test" and message["From"] == "books@acme.test"
    assert message["Subject"] == "Reset your Comptoir password"
    link = re.search(r"http://localhost/reset/(\S+)", message.get_payload(decode=True).decode()).group(1)
    with database.transaction() as session:
        stored = session.scalars(select(PasswordResetToken)).one()
        assert stored.token_hash != link and link not in stored.token_hash  # only a digest is kept
    page = client.get(f"/reset/{link}")
    assert page.status_code == 200 and "owner@acme.test" in page.get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, f"/reset/{link}"), "new_password": "Reset-Pass-42",
            "confirm_password": "Reset-Pass-42"}
    assert client.post(f"/reset/{link}", data=form).status_code == 302
    assert sign_in(client, "owner@acme.test", "Reset-Pass-42").status_code == 302
    again = client.post(f"/reset/{link}", data={**form, "csrf_token": csrf_token(client, "/")})
    assert again.status_code == 404  # single use


def test_a_reset_token_is_valid_seven_days(database, org, owner):
    issued_at = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    with database.transaction() as session:
        _user, token = issue_reset_token(session, "owner@acme.test", now=issued_at)
    with database.transaction() as session, pytest.raises(NotFound):
        reset_password(session, token, "Too-Late-Pass-1", policy=PasswordPolicy(),
                       now=issued_at + dt.timedelta(days=7, seconds=1))
    with database.transaction() as session:
        reset_password(session, token, "In-Time-Pass-1", policy=PasswordPolicy(),
                       now=issued_at + dt.timedelta(days=6, hours=23))
        assert authenticate(session, "owner@acme.test", "In-Time-Pass-1") is not None


def test_the_language_is_kept_as_the_users_preference(client, database, org, owner):
    sign_in(client, "owner@acme.test")
    client.post("/language", data={"locale": "fa", "csrf_token": csrf_token(client, "/"), "next": "/"})
    again = client.application.test_client()
    sign_in(again, "owner@acme.test")
    html = again.get("/").get_data(as_text=True)
    assert 'dir="rtl"' in html and 'lang="fa"' in html


def test_the_switcher_shows_each_role_and_the_menu_follows_permissions(app, database, org, owner, other_org):
    from core.security import add_member

    with database.transaction(other_org.id) as session:
        add_member(session, owner, "readonly")
    client = app.test_client()
    sign_in(client, "owner@acme.test")
    html = client.get("/").get_data(as_text=True)
    assert "Acme — Owner" in html and "Globex — Read-only" in html
    assert "Users and roles" in html and "Journal entries" in html
    client.post("/switch", data={"org_id": other_org.id, "csrf_token": csrf_token(client, "/")})
    html = client.get("/").get_data(as_text=True)
    assert "Users and roles" not in html and "Journal entries" in html


def test_a_clerk_sees_no_settings_menu(app, database, org):
    make_user(database, org, "clerk@acme.test", "clerk")
    client = app.test_client()
    sign_in(client, "clerk@acme.test")
    html = client.get("/").get_data(as_text=True)
    assert "Chart of accounts" in html and "Plugins" not in html and "Fiscal years" not in html


def test_reset_links_are_limited_per_hour(database, org, owner):
    from core.auth import MAX_RESETS_PER_HOUR

    moment = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    with database.transaction() as session:
        for minute in range(MAX_RESETS_PER_HOUR):
            assert issue_reset_token(session, "owner@acme.test", now=moment + dt.timedelta(minutes=minute))
        assert issue_reset_token(session, "owner@acme.test", now=moment + dt.timedelta(minutes=30)) is None
        assert issue_reset_token(session, "owner@acme.test", now=moment + dt.timedelta(minutes=61)) is not None
