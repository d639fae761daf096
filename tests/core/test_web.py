"""The web app through Flask's test client: sign-in, switcher, CSRF, headers, plugin gating."""
from __future__ import annotations

import re

import pytest

from core.plugins import enable_plugin
from core.web import create_app
from tests.conftest import STRONG_PASSWORD, make_org, make_user


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return create_app(settings=settings, database=database, test_config={"TESTING": True})


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


def csrf_token(client, path: str = "/login") -> str:  # noqa: ANN001
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, email: str, password: str = STRONG_PASSWORD):  # noqa: ANN001, ANN201
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def test_the_login_page(client):
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'type="password"' in html and 'name="csrf_token"' in html


def test_pages_need_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_in_shows_the_organization_and_role(client, database, org, owner):
    response = sign_in(client, "owner@acme.test")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Acme" in page and "Owner" in page


def test_wrong_password(client, org, owner):
    response = sign_in(client, "owner@acme.test", "Wrong-Password-1")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused(client, org, owner):
    response = client.post("/login", data={"email": "owner@acme.test", "password": STRONG_PASSWORD})
    assert response.status_code == 400


def test_switch_organization_only_to_ones_the_user_belongs_to(client, database, org, owner):
    second = make_org(database, "Second Co")
    with database.transaction(second.id) as session:
        from core.security import add_member

        add_member(session, owner, "clerk")
    foreign = make_org(database, "Not Mine")
    sign_in(client, "owner@acme.test")
    token = csrf_token(client, "/")
    page = client.get("/").get_data(as_text=True)
    assert "Second Co — Clerk" in page and "Not Mine" not in page
    assert client.post("/switch", data={"org_id": second.id, "csrf_token": token}).status_code == 302
    assert "<h1>Second Co</h1>" in client.get("/").get_data(as_text=True)
    assert client.post("/switch", data={"org_id": foreign.id, "csrf_token": token}).status_code == 404


def test_logout_ends_the_session(client, org, owner):
    sign_in(client, "owner@acme.test")
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_security_headers_and_cookie_flags(client, org, owner):
    response = sign_in(client, "owner@acme.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/login")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_a_disabled_plugins_pages_answer_404(client, database, org, owner):
    sign_in(client, "owner@acme.test")
    assert client.get("/example/").status_code == 404
    with database.transaction(org.id) as session:
        enable_plugin(session, "example")
    assert client.get("/example/").status_code == 200


def test_persian_pages_are_right_to_left(client, org, owner):
    token = csrf_token(client)
    client.post("/language", data={"locale": "fa", "csrf_token": token, "next": "/login"})
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in html


def test_a_user_of_one_org_cannot_reach_another_by_its_id(client, database, org, owner, other_org):
    make_user(database, other_org, "other@globex.test")
    sign_in(client, "other@globex.test")
    token = csrf_token(client, "/")
    assert client.post("/switch", data={"org_id": org.id, "csrf_token": token}).status_code == 404
