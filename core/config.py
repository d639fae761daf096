"""Settings read from ``COMPTOIR_*`` environment variables, with embedded defaults.

The default is a SQLite file in an instance folder (``./instance``), so ``comptoir demo``
works on a fresh machine with nothing configured.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    require_upper: bool = True
    require_lower: bool = True
    require_digit: bool = True
    require_special: bool = True


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    instance_path: Path
    # Migrations run as the tables' owner; the app (database_url) should not be the owner
    # on PostgreSQL, so that row-level security applies to it.
    owner_database_url: str | None = None
    default_locale: str = "en"
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    testing: bool = False
    # Cookies only over HTTPS: on behind a TLS proxy (COMPTOIR_SECURE_COOKIES=1).
    secure_cookies: bool = False
    # Outgoing mail (password reset): COMPTOIR_SMTP_HOST/PORT/USER/PASSWORD/STARTTLS, COMPTOIR_MAIL_FROM.
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "comptoir@localhost"

    @property
    def migration_database_url(self) -> str:
        return self.owner_database_url or self.database_url


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """The configured key, or one generated once and kept in the instance folder."""
    configured = os.environ.get("COMPTOIR_SECRET_KEY")
    if configured:
        return configured
    key_file = instance_path / "secret_key"
    if key_file.is_file():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; keyword arguments win (tests, embedding)."""
    instance_path = Path(
        str(overrides.pop("instance_path", None) or os.environ.get("COMPTOIR_INSTANCE_PATH", "instance"))
    ).resolve()
    database_url = str(
        overrides.pop("database_url", None)
        or os.environ.get("COMPTOIR_DATABASE_URL")
        or f"sqlite:///{instance_path / 'comptoir.db'}"
    )
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    policy = PasswordPolicy(
        min_length=int(os.environ.get("COMPTOIR_PASSWORD_MIN_LENGTH", "8")),
        require_upper=_flag("COMPTOIR_PASSWORD_REQUIRE_UPPER", True),
        require_lower=_flag("COMPTOIR_PASSWORD_REQUIRE_LOWER", True),
        require_digit=_flag("COMPTOIR_PASSWORD_REQUIRE_DIGIT", True),
        require_special=_flag("COMPTOIR_PASSWORD_REQUIRE_SPECIAL", True),
    )
    values: dict[str, object] = {
        "database_url": database_url,
        "owner_database_url": os.environ.get("COMPTOIR_DATABASE_OWNER_URL") or None,
        "default_locale": os.environ.get("COMPTOIR_DEFAULT_LOCALE", "en"),
        "password_policy": policy,
        "instance_path": instance_path,
        "secure_cookies": _flag("COMPTOIR_SECURE_COOKIES", False),
        "smtp_host": os.environ.get("COMPTOIR_SMTP_HOST", "localhost"),
        "smtp_port": int(os.environ.get("COMPTOIR_SMTP_PORT", "25")),
        "smtp_user": os.environ.get("COMPTOIR_SMTP_USER") or None,
        "smtp_password": os.environ.get("COMPTOIR_SMTP_PASSWORD") or None,
        "smtp_starttls": _flag("COMPTOIR_SMTP_STARTTLS", False),
        "mail_from": os.environ.get("COMPTOIR_MAIL_FROM", "comptoir@localhost"),
    }
    values.update(overrides)
    if "secret_key" not in values:
        values["secret_key"] = _secret_key(instance_path)
    return Settings(**values)  # type: ignore[arg-type]
