"""Every route of the application, found from ``app.url_map`` (a new route is covered the day
it is added): guarded by a permission, CSRF-checked, closed to other organizations, and
closed to roles that may not change anything."""
from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select

from core.auth import create_api_token
from core.db import Base, OrgOwned, tenant_tables
from core.periods import list_fiscal_years
from core.plugins import enable_plugin, get_registry
from core.security import Membership
from core.web.access import PUBLIC, SIGNED_IN
from tests.conftest import make_org, make_user, populate_everything
from tests.webtools import signed_in

# Values tried for the text parts of a route; a new text argument must be added here.
TEXT_ARGS = {"action": ["lock", "unlock", "enable", "disable"], "name": ["accounting", "trial-balance"],
             "key": ["unknown-upload"], "token": ["not-a-token"], "filename": ["comptoir.css"]}
# Personal routes a member of any role may post to: they change the user's own things.
PERSONAL = {"core.logout", "core.switch", "core.language", "core.password", "core.forgot", "core.reset",
            "core.login", "settings.create_token", "settings.revoke_token"}


def routes(app, *, with_ids: bool | None = None):  # noqa: ANN001, ANN201
    """(rule, method) of every route but static files; ``with_ids``: only those taking an id."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        has_ids = any(re.search(rf"<int:{arg}>", rule.rule) for arg in rule.arguments)
        if with_ids is not None and has_ids != with_ids:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def urls(rule, ids: list[int]) -> list[str]:  # noqa: ANN001
    """The rule filled with every combination of ``ids`` (int parts) and known values (text parts)."""
    choices = {}
    for arg in sorted(rule.arguments):
        if re.search(rf"<int:{arg}>", rule.rule):
            choices[arg] = ids
        else:
            assert arg in TEXT_ARGS, f"{rule.rule}: add values for <{arg}> to TEXT_ARGS"
            choices[arg] = TEXT_ARGS[arg]
    names = list(choices)
    filled = []
    for values in itertools.product(*(choices[n] for n in names)):
        url = rule.rule
        for name, value in zip(names, values, strict=True):
            url = re.sub(rf"<(\w+:)?{name}>", str(value), url)
        filled.append(url)
    return filled


def snapshot(owner_engine, org_id: int) -> dict[str, list]:  # noqa: ANN001
    """Every row of the organization, in every tenant table (read behind the app's back)."""
    with owner_engine.connect() as connection:
        return {t.name: sorted(map(tuple, connection.execute(t.select().where(t.c.org_id == org_id))), key=repr)
                for t in tenant_tables()}


@pytest.fixture
def acme(database):  # noqa: ANN001, ANN201
    """Organization A, with rows in every tenant table and a draft entry."""
    from plugins.accounting.services import EntryInput, create_draft, credit, debit

    org = make_org(database, "Acme A")
    with database.transaction(org.id) as session:
        enable_plugin(session, "example")
        populate_everything(session)
        create_draft(session, EntryInput("MISC", list_fiscal_years(session)[0].start_date,
                                         [debit("1020", "5"), credit("1000", "5")], label="draft of A"))
    owner = make_user(database, org, "owner@a.test", "owner")
    with database.transaction() as session:
        create_api_token(session, owner, org.id, "A's token")
    return org


def ids_of(database, org) -> list[int]:  # noqa: ANN001
    """One id of each tenant table of ``org``, and its memberships and API tokens."""
    from core.auth import ApiToken

    found = set()
    with database.session(org.id) as session:
        for mapper in Base.registry.mappers:
            if issubclass(mapper.class_, OrgOwned):
                found.update(session.scalars(select(mapper.class_.id).limit(3)))
        found.update(session.scalars(select(Membership.id).where(Membership.org_id == org.id)))
        found.update(session.scalars(select(ApiToken.id).where(ApiToken.org_id == org.id)))
    return sorted(found)


def test_every_view_declares_its_permission(app):
    declared = set(get_registry().permissions) | {PUBLIC, SIGNED_IN}
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "permission", None) in declared, f"{endpoint} has no @requires(permission)"


def test_a_post_without_csrf_token_is_refused_on_every_page(app, database, acme):
    client, _token = signed_in(app, "owner@a.test")
    ids = ids_of(database, acme)[:3]
    checked = 0
    for rule, method in routes(app):
        if method != "POST" or rule.rule.startswith("/api/"):
            continue
        for url in urls(rule, ids)[:2]:
            assert client.post(url, data={}).status_code == 400, url
            checked += 1
    assert checked > 15


def test_a_user_of_another_organization_gets_404_for_every_object(app, database, owner_engine, acme):
    other = make_org(database, "Globex B")
    with database.transaction(other.id) as session:
        enable_plugin(session, "example")
    intruder = make_user(database, other, "owner@b.test", "owner")
    with database.transaction() as session:
        _row, api_token = create_api_token(session, intruder, other.id, "B's token")
    client, token = signed_in(app, "owner@b.test")
    ids = ids_of(database, acme)
    before = snapshot(owner_engine, acme.id)
    tried = 0
    for rule, method in routes(app, with_ids=True):
        for url in urls(rule, ids):
            if url.startswith("/api/"):
                response = client.open(url, method=method, headers={"Authorization": f"Bearer {api_token}"},
                                       json={} if method == "POST" else None)
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
            tried += 1
    assert tried > 100, tried
    assert snapshot(owner_engine, acme.id) == before


@pytest.mark.parametrize("role", ["readonly"])
def test_a_read_only_member_changes_nothing(app, database, owner_engine, acme, role):
    make_user(database, acme, "reader@a.test", role)
    with database.transaction() as session:
        from core.security import find_user

        _row, api_token = create_api_token(session, find_user(session, "reader@a.test"), acme.id, "reader")
    client, token = signed_in(app, "reader@a.test")
    ids = ids_of(database, acme)
    before = snapshot(owner_engine, acme.id)
    checked = 0
    for rule, method in routes(app):
        if method not in ("POST", "PUT", "PATCH", "DELETE") or rule.endpoint in PERSONAL:
            continue
        for url in urls(rule, ids):
            if url.startswith("/api/"):
                response = client.open(url, method=method, headers={"Authorization": f"Bearer {api_token}"},
                                       json={})
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code in (403, 404), f"{method} {url}: {response.status_code}"
            checked += 1
    assert checked > 15
    assert snapshot(owner_engine, acme.id) == before
