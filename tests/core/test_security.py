"""Users, passwords, memberships and roles: rights are per organization. Argon2id hashes and
the audit of membership changes: tests/reliability/test_web_baseline.py."""
from __future__ import annotations

import pytest

from core import audit
from core.config import PasswordPolicy
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.kernel import CHART_WRITE, ORG_READ, USERS_MANAGE, YEAR_REOPEN
from core.security import (
    BuiltinRole,
    add_member,
    authenticate,
    create_role,
    create_user,
    membership,
    password_problems,
    permissions_of,
    remove_member,
    require_permission,
    role_permissions,
    set_role_permissions,
)
from tests.conftest import STRONG_PASSWORD, make_user

POLICY = PasswordPolicy()


@pytest.mark.parametrize(("password", "missing"), [
    ("Sh0rt!", {"at least 8"}),
    ("alllowercase1!", {"upper-case"}),
    ("ALLUPPERCASE1!", {"lower-case"}),
    ("NoDigitsHere!", {"digit"}),
    ("NoSpecial123", {"special"}),
    ("short", {"at least 8", "upper-case", "digit", "special"}),
    ("Correct-Horse-9", set()),
    ("Ünïcødé-Pass-7", set()),
])
def test_password_policy(password, missing):
    messages = " ".join(p.translate("en") for p in password_problems(password, POLICY))
    for fragment in missing:
        assert fragment in messages
    assert bool(messages) == bool(missing)


def test_the_policy_is_configurable():
    relaxed = PasswordPolicy(min_length=12, require_special=False, require_upper=False)
    assert password_problems("lowercase12345", relaxed) == []
    assert password_problems("lowercase1", relaxed)[0].params == {"count": 12}


def test_duplicate_email_is_refused_whatever_its_case(database, org):
    make_user(database, org, "Jane@Example.com")
    with database.session(org.id) as session, pytest.raises(Conflict, match="already exists"):
        create_user(session, "jane@example.COM", STRONG_PASSWORD, policy=POLICY)


def test_a_weak_password_and_a_bad_email_are_reported_together(database):
    with database.session() as session, pytest.raises(ValidationError) as caught:
        create_user(session, "not-an-email", "weak", policy=POLICY)
    fields = [e.field for e in caught.value.errors]
    assert fields[0] == "email" and fields.count("password") == 4
    assert "not a valid email" in caught.value.translate("en")
    assert "caractères" in caught.value.translate("fr")


def test_authenticate(database, org):
    make_user(database, org, "a@acme.test")
    with database.session() as session:
        assert authenticate(session, "A@acme.test", STRONG_PASSWORD).email == "a@acme.test"
        assert authenticate(session, "a@acme.test", "Wrong-Pass-1") is None
        assert authenticate(session, "nobody@acme.test", STRONG_PASSWORD) is None


def test_same_person_different_role_in_each_organization(database, org, other_org):
    user = make_user(database, org, "both@example.test", "owner")
    with database.transaction(other_org.id) as session:
        add_member(session, user, "readonly")
    with database.session(org.id) as session:
        rights = permissions_of(session, user)
        assert {USERS_MANAGE, CHART_WRITE, YEAR_REOPEN} <= rights
    with database.session(other_org.id) as session:
        rights = permissions_of(session, user)
        assert ORG_READ in rights and CHART_WRITE not in rights and USERS_MANAGE not in rights
        with pytest.raises(PermissionDenied):
            require_permission(session, user, CHART_WRITE)


@pytest.mark.parametrize(("role", "allowed", "refused"), [
    ("owner", {YEAR_REOPEN, USERS_MANAGE, CHART_WRITE}, set()),
    ("admin", {USERS_MANAGE, CHART_WRITE}, {YEAR_REOPEN}),
    ("accountant", {CHART_WRITE}, {USERS_MANAGE, YEAR_REOPEN}),
    ("clerk", {ORG_READ}, {CHART_WRITE, USERS_MANAGE}),
    ("readonly", {ORG_READ}, {CHART_WRITE, USERS_MANAGE}),
])
def test_builtin_roles(database, org, role, allowed, refused):
    with database.session(org.id) as session:
        rights = role_permissions(session, role)
    assert allowed <= rights and not (refused & rights)


def test_a_non_member_has_no_rights(database, org, other_org):
    user = make_user(database, org, "only-acme@example.test")
    with database.session(other_org.id) as session:
        assert permissions_of(session, user) == frozenset()
        assert membership(session, user) is None


def test_custom_role(database, org, owner):
    clerk = make_user(database, org, "clerk@acme.test", "clerk")
    with database.transaction(org.id) as session:
        create_role(session, "auditor", "External auditor", [ORG_READ, "core.audit.read"], actor=owner)
        add_member(session, clerk, "auditor", actor=owner)
    with database.transaction(org.id) as session:
        assert permissions_of(session, clerk) == {ORG_READ, "core.audit.read"}
        set_role_permissions(session, "auditor", [ORG_READ], actor=owner)
    with database.session(org.id) as session:
        assert permissions_of(session, clerk) == {ORG_READ}
        actions = [e.action for e in audit.events(session)]
        assert {"role.created", "role.permissions_changed", "membership.role_changed"} <= set(actions)


def test_custom_role_errors(database, org):
    clerk = make_user(database, org, "x@acme.test", "clerk")
    with database.session(org.id) as session:
        with pytest.raises(ValidationError) as caught:
            create_role(session, "owner", "Fake owner", ["no.such.permission"])
        assert {e.field for e in caught.value.errors} == {"code", "permissions"}
        with pytest.raises(ValidationError):
            add_member(session, clerk, "ghost-role")


def test_a_custom_role_of_another_organization_is_unknown_here(database, org, other_org):
    with database.transaction(org.id) as session:
        create_role(session, "auditor", "Auditor", [ORG_READ])
    with database.session(other_org.id) as session:
        assert role_permissions(session, "auditor") == frozenset()


def test_the_last_owner_cannot_leave(database, org, owner):
    with database.session(org.id) as session:
        with pytest.raises(ValidationError, match="at least one owner"):
            remove_member(session, owner)
        with pytest.raises(ValidationError):
            add_member(session, owner, BuiltinRole.CLERK)


def test_removing_a_non_member(database, org, other_org, owner):
    with database.session(other_org.id) as session, pytest.raises(NotFound):
        remove_member(session, owner)
