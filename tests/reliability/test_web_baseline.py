"""Web baseline, OWASP ASVS level 2 where it applies (issue 7): cookie flags and security
headers, a session cookie refused after sign-out, sign-in limited per account and per address
(counted in the database), Argon2id password hashes, and an audit of sign-ins and membership
changes that keeps no secret. A state change without a CSRF token: test_web_routes.py;
uploads: test_web_uploads.py."""
from __future__ import annotations

import dataclasses

from core import audit
from core.auth import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS, login_attempts
from core.security import add_member, hash_password, remove_member
from tests.conftest import STRONG_PASSWORD, make_user
from tests.webtools import csrf_token, make_app, sign_in


def test_session_cookie_flags_and_headers(app, settings, database, org, owner):
    secure = make_app(dataclasses.replace(settings, secure_cookies=True), database).test_client()
    cookie = sign_in(secure, "owner@acme.test").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = secure.get("/")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_a_session_cookie_replayed_after_sign_out_is_refused(client, org, owner):
    sign_in(client, "owner@acme.test")
    stolen = client.get_cookie("comptoir_session").value
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    client.set_cookie("comptoir_session", stolen)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_account_is_locked_after_repeated_failures_even_for_the_right_password(client, org, owner):
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert sign_in(client, "owner@acme.test", "Wrong-Password-1").status_code == 401
    response = sign_in(client, "owner@acme.test")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_an_address_is_limited_across_accounts_and_another_address_is_not(app, database, org, owner):
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    for number in range(MAX_FAILURES_PER_ADDRESS):
        sign_in(attacker, f"guess{number}@acme.test", "Wrong-Password-1")
    assert sign_in(attacker, "owner@acme.test").status_code == 429
    assert sign_in(app.test_client(), "owner@acme.test").status_code == 302


def test_passwords_are_hashed_with_argon2id():
    hashed = hash_password(STRONG_PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert STRONG_PASSWORD not in hashed


def test_every_attempt_is_recorded_without_the_password(client, database, org, owner):
    sign_in(client, "owner@acme.test", "Wrong-Password-1")
    sign_in(client, "owner@acme.test")
    with database.transaction() as session:
        attempts = login_attempts(session, "owner@acme.test")
        assert [a.succeeded for a in attempts] == [True, False]
        assert attempts[0].address == "127.0.0.1"
        columns = {c.name for c in attempts[0].__table__.columns}
        assert not columns & {"password", "password_hash"}
    with database.transaction(org.id) as session:
        (event,) = audit.events(session, action="user.signed_in")
        assert event.target == "owner@acme.test" and event.user_id == owner.id
        assert "Correct" not in event.details and event.detail_values == {"address": "127.0.0.1"}


def test_membership_changes_are_audited_without_secrets(database, org, owner):
    user = make_user(database, org, "member@acme.test", "clerk")
    with database.transaction(org.id) as session:
        add_member(session, user, "accountant", actor=owner)
        remove_member(session, user, actor=owner)
    with database.session(org.id) as session:
        events = audit.events(session)
        changed = next(e for e in events if e.action == "membership.role_changed")
        assert changed.actor == owner.email and changed.user_id == owner.id
        assert changed.detail_values == {"old": "clerk", "new": "accountant"}
        assert any(e.action == "membership.removed" for e in events)
        assert all(STRONG_PASSWORD not in e.details and "argon2" not in e.details for e in events)
