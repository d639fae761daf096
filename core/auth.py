"""Signing in and proving who you are: rate-limited sign-ins, session epochs, password
resets by email, and API tokens scoped to one organization.

These are global identity tables (like ``user_account`` and ``membership``): a sign-in or
a token is looked up before any organization is chosen. Secrets are never stored: reset
tokens and API tokens are kept as SHA-256 digests, and nothing here logs a password.
The limits are counted in the database, so every worker of a server sees the same count.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import BigInteger, ForeignKey, Index, String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.config import PasswordPolicy, Settings
from core.db import BigInt, Base, Timestamp, tenant, utcnow
from core.errors import ComptoirError, FieldError, NotFound, ValidationError
from core.i18n import N_, translate
from core.security import User, authenticate, find_user, membership, set_password, verify_password

LOGIN_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
RESET_VALIDITY = dt.timedelta(days=7)
MAX_RESETS_PER_HOUR = 3  # per user: "forgot password" cannot flood a mailbox
API_TOKEN_PREFIX = "cpt_"


class TooManyAttempts(ComptoirError):
    http_status = 429
    default_msgid = N_("Too many failed sign-ins. Try again in a few minutes.")


# --- models ---------------------------------------------------------------------------------------

class LoginAttempt(Base):
    """One sign-in attempt: the record of sign-ins and the counter of the rate limit."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index(None, "email", "at"), Index(None, "address", "at"))

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    at: Mapped[Timestamp] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"))
    succeeded: Mapped[bool]
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class SessionEpoch(Base):
    """A user's session generation: signing out or changing the password moves it on, and a
    session cookie of an earlier generation is refused."""

    __tablename__ = "session_epoch"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"),
                                         primary_key=True)
    epoch: Mapped[str] = mapped_column(String(32))


class PasswordResetToken(Base):
    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    expires_at: Mapped[Timestamp]
    used_at: Mapped[Timestamp | None]


class ApiToken(Base):
    """A user's key to the JSON API of one organization; it acts with the user's role there."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to recognize it in a list
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    revoked_at: Mapped[Timestamp | None]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes; every stored moment is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# --- signing in -------------------------------------------------------------------------------------

def _recent_failures(session: Session, since: dt.datetime, *, email: str | None = None,
                     address: str | None = None) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since,
                                                                  LoginAttempt.succeeded.is_(False))
    if email is not None:
        last_success = session.scalar(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)))
        if last_success is not None:
            query = query.where(LoginAttempt.at > last_success)
        query = query.where(LoginAttempt.email == email)
    if address is not None:
        query = query.where(LoginAttempt.address == address)
    return session.scalar(query) or 0


def sign_in(session: Session, email: str, password: str, *, address: str, user_agent: str = "",
            now: dt.datetime | None = None) -> User | None:
    """The user with these credentials, or None; every attempt is recorded.

    Raises :class:`TooManyAttempts` — without checking the password — once an account had
    ``MAX_FAILURES_PER_ACCOUNT`` failures since its last success within ``LOGIN_WINDOW``, or
    an address ``MAX_FAILURES_PER_ADDRESS``. The caller commits (the attempt is kept even
    when the sign-in fails).
    """
    now = now or utcnow()
    email = email.strip().lower()[:254]
    since = now - LOGIN_WINDOW
    if (_recent_failures(session, since, email=email) >= MAX_FAILURES_PER_ACCOUNT
            or _recent_failures(session, since, address=address) >= MAX_FAILURES_PER_ADDRESS):
        session.add(LoginAttempt(at=now, email=email, address=address[:64], succeeded=False,
                                 user_agent=user_agent[:200]))
        raise TooManyAttempts()
    user = authenticate(session, email, password)
    session.add(LoginAttempt(at=now, email=email, address=address[:64], user_id=user.id if user else None,
                             succeeded=user is not None, user_agent=user_agent[:200]))
    return user


def record_sign_in(session: Session, user: User, org_id: int, *, address: str) -> None:
    """The sign-in in the audit log of the organization the user lands in."""
    with tenant(session, org_id):
        audit.record(session, "user.signed_in", target=user.email, actor=user, address=address)
        session.flush()


def login_attempts(session: Session, email: str, limit: int = 50) -> list[LoginAttempt]:
    return list(session.scalars(select(LoginAttempt).where(LoginAttempt.email == email.strip().lower())
                                .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(limit)))


# --- session epochs -----------------------------------------------------------------------------------

def session_epoch(session: Session, user: User) -> str:
    row = session.get(SessionEpoch, user.id)
    if row is None:
        row = SessionEpoch(user_id=user.id, epoch=secrets.token_hex(16))
        session.add(row)
        session.flush()
    return row.epoch


def end_sessions(session: Session, user: User) -> None:
    """Every session of ``user`` issued so far stops working (sign-out, password change)."""
    row = session.get(SessionEpoch, user.id)
    if row is None:
        session.add(SessionEpoch(user_id=user.id, epoch=secrets.token_hex(16)))
    else:
        row.epoch = secrets.token_hex(16)
    session.flush()


def epoch_is_current(current: str | None, presented: str | None) -> bool:
    """A session cookie's epoch against the user's current one (``SessionEpoch.epoch``): a cookie
    from before a sign-out or a password change names an old epoch."""
    return current is not None and presented is not None and secrets.compare_digest(current, presented)


# --- passwords ------------------------------------------------------------------------------------------

def change_password(session: Session, user: User, current: str, new: str, *, policy: PasswordPolicy) -> None:
    """Replace the password after checking the current one; other sessions end."""
    problems = [] if verify_password(user.password_hash, current) else [
        FieldError("current_password", N_("The current password is wrong."))]
    try:
        set_password(session, user, new, policy=policy)
    except ValidationError as error:
        problems.extend(error.errors)
    if problems:
        raise ValidationError(problems)
    end_sessions(session, user)


def issue_reset_token(session: Session, email: str, *, now: dt.datetime | None = None) -> tuple[User, str] | None:
    """A new single-use reset token for the user with ``email`` (None: no such active user, or
    ``MAX_RESETS_PER_HOUR`` links were already sent to them within the hour).

    Returns the user and the token in clear, to be sent to them; only its digest is stored.
    """
    user = find_user(session, email)
    if user is None or not user.active:
        return None
    now = now or utcnow()
    recent = session.scalar(select(func.count()).select_from(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.created_at > now - dt.timedelta(hours=1)))
    if recent >= MAX_RESETS_PER_HOUR:
        return None
    token = secrets.token_urlsafe(32)
    session.add(PasswordResetToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                                   expires_at=now + RESET_VALIDITY))
    session.flush()
    return user, token


def _usable_reset(session: Session, token: str, now: dt.datetime) -> PasswordResetToken:
    row = session.scalars(select(PasswordResetToken).where(
        PasswordResetToken.token_hash == _digest(token))).one_or_none()
    if row is None or row.used_at is not None or _aware(row.expires_at) <= now:
        raise NotFound(N_("This password reset link is invalid or has expired."))
    return row


def check_reset_token(session: Session, token: str, *, now: dt.datetime | None = None) -> User:
    row = _usable_reset(session, token, now or utcnow())
    return session.get_one(User, row.user_id)


def reset_password(session: Session, token: str, new: str, *, policy: PasswordPolicy,
                   now: dt.datetime | None = None) -> User:
    """Set a new password with a reset token; the token and the user's sessions are spent."""
    now = now or utcnow()
    row = _usable_reset(session, token, now)
    user = session.get_one(User, row.user_id)
    set_password(session, user, new, policy=policy)
    row.used_at = now
    # Every other reset link of the user dies with this one.
    session.execute(update(PasswordResetToken).where(PasswordResetToken.user_id == user.id,
                                                     PasswordResetToken.used_at.is_(None))
                    .values(used_at=now))
    end_sessions(session, user)
    return user


def send_reset_email(settings: Settings, user: User, link: str, locale: str | None = None) -> None:
    """Email the reset ``link`` to the user, through the configured SMTP server."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = user.email
    message["Subject"] = translate(N_("Reset your Comptoir password"), locale)
    message.set_content(translate(
        N_("Someone asked to reset the password of %(email)s on Comptoir.\n\n"
           "To choose a new password, open this link within 7 days (it works once):\n%(link)s\n\n"
           "If it was not you, ignore this message: your password stays the same."),
        locale, email=user.email, link=link))
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


# --- API tokens ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenIdentity:
    user: User
    org_id: int
    token_id: int


def user_by_email(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise NotFound(N_("No user has the email %(email)s."), email=email)
    return user


def create_api_token(session: Session, user: User, org_id: int, name: str) -> tuple[ApiToken, str]:
    """A token for ``user`` in organization ``org_id`` (a member there). Returns the row and the
    token in clear — shown once, never stored."""
    problems = []
    if not name.strip():
        problems.append(FieldError("name", N_("The token needs a name.")))
    if membership(session, user, org_id) is None:
        problems.append(FieldError("org", N_("%(email)s is not a member of this organization."),
                                   {"email": user.email}))
    if problems:
        raise ValidationError(problems)
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, org_id=org_id, name=name.strip()[:100], token_hash=_digest(secret),
                   hint=secret[:10])
    session.add(row)
    session.flush()
    with tenant(session, org_id):
        audit.record(session, "api_token.created", target=row.name, actor=user, hint=row.hint)
        session.flush()
    return row, secret


def api_tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .order_by(ApiToken.created_at, ApiToken.id)))


def revoke_api_token(session: Session, user: User, token_id: int) -> ApiToken:
    row = session.scalars(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id,
                                                 ApiToken.revoked_at.is_(None))).one_or_none()
    if row is None:
        raise NotFound(N_("There is no token %(id)s."), id=token_id)
    row.revoked_at = utcnow()
    with tenant(session, row.org_id):
        audit.record(session, "api_token.revoked", target=row.name, actor=user, hint=row.hint)
        session.flush()
    return row


def identify_api_token(session: Session, secret: str) -> TokenIdentity | None:
    """Who a presented token speaks for: an active user still a member of the token's organization."""
    if not secret.startswith(API_TOKEN_PREFIX):
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(secret),
                                                 ApiToken.revoked_at.is_(None))).one_or_none()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or membership(session, user, row.org_id) is None:
        return None
    return TokenIdentity(user, row.org_id, row.id)


def forget_old_attempts(session: Session, before: dt.datetime) -> int:
    """Drop sign-in records older than ``before`` (housekeeping; the audit log keeps successes)."""
    return session.execute(delete(LoginAttempt).where(LoginAttempt.at < before)).rowcount or 0
