"""People and rights: users, memberships (user × organization × role), roles, permissions.

A user is global (one email, one password); what they may do is decided per membership,
so the same person can be owner of one organization and read-only in another.
Users and memberships are kernel identity tables reached only through this module.
"""
from __future__ import annotations

import enum
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.config import PasswordPolicy
from core.db import BigInt, Base, OrgOwned, Timestamp, require_tenant, utcnow
from core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationError
from core.i18n import N_, SUPPORTED_LOCALES


class BuiltinRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"
    CLERK = "clerk"
    READONLY = "readonly"


BUILTIN_ROLE_LABELS = {
    BuiltinRole.OWNER: N_("Owner"),
    BuiltinRole.ADMIN: N_("Administrator"),
    BuiltinRole.ACCOUNTANT: N_("Accountant"),
    BuiltinRole.CLERK: N_("Clerk"),
    BuiltinRole.READONLY: N_("Read-only"),
}

EVERYONE = frozenset(BuiltinRole)
MANAGERS = frozenset({BuiltinRole.OWNER, BuiltinRole.ADMIN})
BOOKKEEPERS = MANAGERS | {BuiltinRole.ACCOUNTANT}
STAFF = BOOKKEEPERS | {BuiltinRole.CLERK}


@dataclass(frozen=True)
class Permission:
    """A right a plugin declares. The owner holds every permission; ``roles`` lists the other
    built-in roles holding it by default."""

    code: str  # "<plugin>.<verb>", e.g. "accounting.post"
    label: str  # message id
    roles: frozenset[BuiltinRole] = frozenset({BuiltinRole.OWNER})


# --- models -------------------------------------------------------------------------------

class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    # flask-login's protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Membership(Base):
    """A user's place in an organization. ``role`` is a built-in role or a custom role code."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class Role(OrgOwned, Base):
    """A custom role of one organization, made of permissions."""

    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class RolePermission(OrgOwned, Base):
    __tablename__ = "role_permission"
    __table_args__ = (
        UniqueConstraint("org_id", "role_id", "permission"),
        ForeignKeyConstraint(["org_id", "role_id"], ["role.org_id", "role.id"], ondelete="CASCADE"),
    )

    role_id: Mapped[int] = mapped_column(BigInteger)
    permission: Mapped[str] = mapped_column(String(100))


# --- passwords ------------------------------------------------------------------------------

# Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
_SPECIALS = set(string.punctuation) | {" "}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, policy: PasswordPolicy) -> list[FieldError]:
    """Every way ``password`` falls short of ``policy`` (empty: it is acceptable)."""
    problems = []
    if len(password) < policy.min_length:
        problems.append(FieldError("password", N_("The password must have at least %(count)s characters."),
                                   {"count": policy.min_length}))
    if policy.require_upper and not any(c.isupper() for c in password):
        problems.append(FieldError("password", N_("The password must contain an upper-case letter.")))
    if policy.require_lower and not any(c.islower() for c in password):
        problems.append(FieldError("password", N_("The password must contain a lower-case letter.")))
    if policy.require_digit and not any(c.isdigit() for c in password):
        problems.append(FieldError("password", N_("The password must contain a digit.")))
    if policy.require_special and not any(c in _SPECIALS or not c.isalnum() for c in password):
        problems.append(FieldError("password", N_("The password must contain a special character.")))
    return problems


# --- users ------------------------------------------------------------------------------------

def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == normalize_email(email))).one_or_none()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User %(id)s was not found."), id=user_id)
    return user


def create_user(session: Session, email: str, password: str, *, policy: PasswordPolicy,
                name: str = "", locale: str = "en") -> User:
    """A new user; refuses a malformed or taken email and a weak password (all problems at once)."""
    email = normalize_email(email)
    problems: list[FieldError] = []
    if not EMAIL_RE.match(email):
        problems.append(FieldError("email", N_("%(email)s is not a valid email address."), {"email": email}))
    problems.extend(password_problems(password, policy))
    if locale not in SUPPORTED_LOCALES:
        problems.append(FieldError("locale", N_("Unsupported language %(locale)s."), {"locale": locale}))
    if problems:
        raise ValidationError(problems)
    if find_user(session, email) is not None:
        raise Conflict(N_("A user with the email %(email)s already exists."), email=email)
    user = User(email=email, name=name, password_hash=hash_password(password), locale=locale)
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a concurrent sign-up took the email
        raise Conflict(N_("A user with the email %(email)s already exists."), email=email) from None
    return user


def set_password(session: Session, user: User, password: str, *, policy: PasswordPolicy) -> None:
    problems = password_problems(password, policy)
    if problems:
        raise ValidationError(problems)
    user.password_hash = hash_password(password)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Upgrades an outdated hash."""
    user = find_user(session, email)
    if user is None:
        hash_password(password)  # same cost as a real check: no user enumeration by timing
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# --- roles and memberships --------------------------------------------------------------------

def role_permissions(session: Session, role: str) -> frozenset[str]:
    """The permissions of ``role`` in the session's organization."""
    from core.plugins import get_registry

    registry = get_registry()
    if role in BuiltinRole.__members__.values():
        builtin = BuiltinRole(role)
        return frozenset(
            code for code, p in registry.permissions.items()
            if builtin is BuiltinRole.OWNER or builtin in p.roles
        )
    custom = session.scalars(select(Role).where(Role.code == role)).one_or_none()
    if custom is None:
        return frozenset()
    codes = session.scalars(select(RolePermission.permission).where(RolePermission.role_id == custom.id))
    return frozenset(codes) & frozenset(registry.permissions)


def _check_role(session: Session, role: str) -> None:
    if role in BuiltinRole.__members__.values():
        return
    if session.scalars(select(Role.id).where(Role.code == role)).first() is None:
        raise ValidationError(FieldError("role", N_("There is no role %(role)s."), {"role": role}))


def create_role(session: Session, code: str, name: str, permissions: Iterable[str], *,
                actor: User | str | None = None) -> Role:
    """A custom role of the session's organization."""
    from core.plugins import get_registry

    require_tenant(session)
    code = code.strip().lower()
    problems = []
    if not re.fullmatch(r"[a-z][a-z0-9_\-]{1,63}", code):
        problems.append(FieldError("code", N_("A role code uses lower-case letters, digits, - and _.")))
    elif code in BuiltinRole.__members__.values():
        problems.append(FieldError("code", N_("%(role)s is a built-in role."), {"role": code}))
    known = get_registry().permissions
    wanted = sorted(set(permissions))
    for permission in wanted:
        if permission not in known:
            problems.append(FieldError("permissions", N_("There is no permission %(permission)s."),
                                       {"permission": permission}))
    if problems:
        raise ValidationError(problems)
    if session.scalars(select(Role.id).where(Role.code == code)).first() is not None:
        raise Conflict(N_("The role %(role)s already exists."), role=code)
    role = Role(code=code, name=name)
    session.add(role)
    session.flush()
    session.add_all(RolePermission(role_id=role.id, permission=p) for p in wanted)
    audit.record(session, "role.created", target=code, actor=actor, permissions=wanted)
    return role


def set_role_permissions(session: Session, code: str, permissions: Iterable[str], *,
                         actor: User | str | None = None) -> None:
    from core.plugins import get_registry

    role = session.scalars(select(Role).where(Role.code == code)).one_or_none()
    if role is None:
        raise NotFound(N_("There is no role %(role)s."), role=code)
    wanted = set(permissions)
    unknown = wanted - set(get_registry().permissions)
    if unknown:
        raise ValidationError(FieldError("permissions", N_("There is no permission %(permission)s."),
                                         {"permission": ", ".join(sorted(unknown))}))
    current = {rp.permission: rp for rp in session.scalars(
        select(RolePermission).where(RolePermission.role_id == role.id))}
    for permission in set(current) - wanted:
        session.delete(current[permission])
    session.add_all(RolePermission(role_id=role.id, permission=p) for p in sorted(wanted - set(current)))
    audit.record(session, "role.permissions_changed", target=code, actor=actor,
                 added=sorted(wanted - set(current)), removed=sorted(set(current) - wanted))


def membership(session: Session, user: User, org_id: int | None = None) -> Membership | None:
    org_id = org_id if org_id is not None else require_tenant(session)
    return session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.org_id == org_id)
    ).one_or_none()


def add_member(session: Session, user: User, role: str, *, actor: User | str | None = None) -> Membership:
    """Give ``user`` ``role`` in the session's organization (changing it if already a member)."""
    org_id = require_tenant(session)
    _check_role(session, role)
    existing = membership(session, user, org_id)
    if existing is not None:
        if existing.role != role:
            _guard_last_owner(session, existing, role)
            audit.record(session, "membership.role_changed", target=user.email, actor=actor,
                         old=existing.role, new=role)
            existing.role = role
        return existing
    member = Membership(user_id=user.id, org_id=org_id, role=role)
    session.add(member)
    session.flush()
    audit.record(session, "membership.added", target=user.email, actor=actor, role=role)
    return member


def remove_member(session: Session, user: User, *, actor: User | str | None = None) -> None:
    existing = membership(session, user)
    if existing is None:
        raise NotFound(N_("%(email)s is not a member of this organization."), email=user.email)
    _guard_last_owner(session, existing, None)
    session.delete(existing)
    audit.record(session, "membership.removed", target=user.email, actor=actor, role=existing.role)


def _guard_last_owner(session: Session, member: Membership, new_role: str | None) -> None:
    if member.role != BuiltinRole.OWNER or new_role == BuiltinRole.OWNER:
        return
    owners = session.scalar(select(func.count()).select_from(Membership).where(
        Membership.org_id == member.org_id, Membership.role == BuiltinRole.OWNER))
    if owners <= 1:
        raise ValidationError(FieldError("role", N_("An organization keeps at least one owner.")))


def members(session: Session) -> list[tuple[User, Membership]]:
    """The users of the session's organization with their membership."""
    org_id = require_tenant(session)
    rows = session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id).order_by(User.email)
    )
    return [(u, m) for u, m in rows]


def memberships_of(session: Session, user: User) -> list[Membership]:
    """Every organization the user belongs to (for the organization switcher)."""
    return list(session.scalars(select(Membership).where(Membership.user_id == user.id)))


def permissions_of(session: Session, user: User) -> frozenset[str]:
    """What ``user`` may do in the session's organization (nothing if not a member)."""
    from core.plugins import enabled_plugins

    member = membership(session, user)
    if member is None or not user.active:
        return frozenset()
    return granted_permissions(session, member.role, enabled_plugins(session))


def granted_permissions(session: Session, role: str, enabled: set[str]) -> frozenset[str]:
    """What ``role`` may do where the plugins ``enabled`` are on: a disabled plugin's
    permissions grant nothing in the organization."""
    from core.plugins import get_registry

    owners = get_registry().permission_plugin
    return frozenset(p for p in role_permissions(session, role) if owners.get(p) in enabled)


def has_permission(session: Session, user: User, permission: str) -> bool:
    return permission in permissions_of(session, user)


def require_permission(session: Session, user: User, permission: str) -> None:
    """The one permission check every edge uses."""
    if not has_permission(session, user, permission):
        raise PermissionDenied(N_("You do not have the permission %(permission)s."), permission=permission)
