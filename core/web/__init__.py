"""The Flask application: sign-in, the layout, the organization switcher, the plugins'
blueprints and the JSON API.

Each request opens one database session scoped to the organization the user selected
(and is a member of) — or, for ``/api/``, the organization of the bearer token; views stay
thin and call services. Pages use the signed session cookie (with CSRF tokens on every
form); the API uses only its bearer token, never the cookie.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from flask import Flask, abort, g, jsonify, render_template, request, session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from core.config import Settings, load_settings
from core.db import Database, set_tenant
from core.errors import ComptoirError, ValidationError
from core.web.access import PUBLIC
from core.i18n import N_, SUPPORTED_LOCALES, format_day, is_rtl, native_digits, normalize_locale, translate

csrf = CSRFProtect()
login_manager = LoginManager()
log = logging.getLogger(__name__)

LOCALE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "fa": "فارسی"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def create_app(settings: Settings | None = None, database: Database | None = None,
               test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory."""
    from core.plugins import get_registry
    from core.web.api import ApiBlueprint

    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="comptoir_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["comptoir.settings"] = settings
    app.extensions["comptoir.db"] = database or Database(settings.database_url)
    # Ids are 64-bit: a larger number in a URL is simply not found, before any database sees it.
    app.url_map.converters["int"] = ObjectId
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "core.login"

    from core.web.api import kernel_api
    from core.web.settings import bp as settings_bp
    from core.web.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(kernel_api)
    registry = get_registry()
    plugin_of_blueprint: dict[str, str] = {}
    for name in registry.manifests:
        for result in registry.call_only(name, "comptoir_register_blueprints")():
            for blueprint in result or []:
                app.register_blueprint(blueprint)
                plugin_of_blueprint[blueprint.name] = name
    for blueprint in app.blueprints.values():
        if isinstance(blueprint, ApiBlueprint):
            csrf.exempt(blueprint)  # bearer tokens, never cookies: nothing to forge
    app.extensions["comptoir.plugin_of_blueprint"] = plugin_of_blueprint

    @app.before_request
    def _identify() -> None:
        database: Database = app.extensions["comptoir.db"]
        # Reads do not take SQLite's write lock, so concurrent page views never wait on it.
        g.db = database.session(readonly=request.method in ("GET", "HEAD", "OPTIONS"))
        g.api = request.path.startswith("/api/")
        g.user = None
        g.membership = None
        if g.api:
            _identify_token()
            view = app.view_functions.get(request.endpoint or "")
            if g.user is None and view is not None and getattr(view, "permission", None) != PUBLIC:
                abort(401)
        else:
            g.locale = _request_locale()
            if current_user.is_authenticated:
                g.user = current_user._get_current_object()
                org_id = session.get("org_id")
                if org_id is not None:
                    g.membership = _membership(g.user, org_id)
                    if g.membership is None:
                        session.pop("org_id", None)
        if g.membership is not None:
            set_tenant(g.db, g.membership.org_id)
        plugin = plugin_of_blueprint.get(request.blueprint or "")
        if plugin is not None and (g.membership is None or not _plugin_enabled(plugin)):
            abort(404)

    @app.before_request
    def _refuse_nul_characters() -> None:
        """No text a user sends may hold a NUL character: PostgreSQL cannot store one, so it
        would fail deep inside a service; it is a bad request, said at the door."""
        pairs = list(request.args.items(multi=True))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            pairs += request.form.items(multi=True)
        texts = [request.path, *(text for pair in pairs for text in pair)]
        body = request.get_data(cache=True) if request.is_json else b""
        if any("\x00" in text for text in texts) or b"\x00" in body or b"\\u0000" in body:
            abort(400, description=translate(N_("Text may not contain NUL characters."), g.get("locale")))

    @app.teardown_request
    def _close_session(exc: BaseException | None) -> None:
        db_session = g.pop("db", None)
        if db_session is not None:
            if exc is not None:
                db_session.rollback()
            db_session.close()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if g.get("user") is not None and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"  # books are not for shared caches
        return response

    @app.errorhandler(ComptoirError)
    def _business_error(error: ComptoirError) -> Any:
        if g.get("api"):
            from core.web.api import error_response

            return error_response(error)
        return render_template("error.html", message=error.translate(g.get("locale"))), error.http_status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if g.get("api") or request.path.startswith("/api/"):
            code = (error.name or "error").lower().replace(" ", "_")
            return jsonify({"error": {"code": code, "message": error.description}}), error.code
        return error

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        from core.web.layout import layout

        locale = g.get("locale", "en")
        return {
            "_": lambda msgid, **params: translate(msgid, locale, **params),
            "locale": locale,
            "rtl": is_rtl(locale),
            "locales": SUPPORTED_LOCALES,
            "locale_names": LOCALE_NAMES,
            "layout": layout,
        }

    app.add_template_filter(_money_filter, "money")
    app.add_template_filter(_number_filter, "number")
    app.add_template_filter(_amount_filter, "amount")
    app.add_template_filter(_day_filter, "day")
    app.add_template_filter(lambda text: native_digits(str(text), g.get("locale")), "digits")
    return app


MAX_ID = 2**63 - 1


class ObjectId(IntegerConverter):
    """``<int:…>`` in every route: 1 to 2⁶³−1 (a BIGINT), anything else does not match (404)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


@dataclass(frozen=True)
class _Statements:
    user: Any
    membership: Any


@cache
def _statements() -> _Statements:
    """The reads every signed-in request makes, built once (building one costs about as much as
    running it)."""
    from sqlalchemy import bindparam, select

    from core.auth import SessionEpoch
    from core.security import Membership, User
    from core.tenancy import Organization

    return _Statements(
        user=select(User, SessionEpoch.epoch).join(SessionEpoch, SessionEpoch.user_id == User.id)
        .where(User.id == bindparam("user_id")),
        membership=select(Membership, Organization).join(Organization, Organization.id == Membership.org_id)
        .where(Membership.user_id == bindparam("user_id"), Membership.org_id == bindparam("org_id")),
    )


def _plugin_enabled(plugin: str) -> bool:
    from core.web.access import enabled_here

    return plugin in enabled_here()


def _membership(user: Any, org_id: int) -> Any:
    """The user's membership of ``org_id`` (None: not a member), as ``core.security.membership``,
    with its organization read by the same query and held on ``g`` for the request: the
    services that ask for it (``current_organization``) then find it in the session instead of
    reading it again."""
    row = g.db.execute(_statements().membership, {"user_id": user.id, "org_id": org_id}).first()
    if row is None:
        return None
    g.organization = row[1]
    return row[0]


def _identify_token() -> None:
    from core.auth import identify_api_token

    g.locale = normalize_locale(request.accept_languages.best_match(SUPPORTED_LOCALES))
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return
    identity = identify_api_token(g.db, header.removeprefix("Bearer ").strip())
    if identity is None:
        return
    g.user = identity.user
    g.membership = _membership(identity.user, identity.org_id)
    if not request.accept_languages:
        g.locale = normalize_locale(identity.user.locale)


def _request_locale() -> str:
    chosen = session.get("locale")
    if chosen:
        return normalize_locale(chosen)
    if current_user and current_user.is_authenticated:
        return normalize_locale(current_user.locale)
    return normalize_locale(request.accept_languages.best_match(SUPPORTED_LOCALES))


def _money_filter(amount: Decimal | int | None, currency: str | None = None) -> str:
    from core.money import Money, format_money, format_number

    if amount is None:
        return ""
    if currency is None:
        return format_number(Decimal(amount), g.get("locale"))
    return format_money(Money(amount, currency), g.get("locale"))


def _amount_filter(value: Decimal | None, currency: str) -> str:
    from core.money import format_amount

    return "" if value is None else format_amount(value, currency, g.get("locale"))


def _number_filter(value: Decimal | int | None) -> str:
    from core.money import format_number

    return "" if value is None else format_number(value, g.get("locale"))


def _day_filter(day: dt.date | None, form: str = "medium") -> str:
    return "" if day is None else format_day(day, g.get("locale"), form)


def url_maker(endpoint: str, name: str) -> Callable[[int], str]:
    """``url_for(endpoint, name=value)`` for many ids at the cost of one: the address is built
    once around a stand-in id, which each call replaces (a ledger page links fifty entries)."""
    from flask import url_for

    stand_in = MAX_ID  # an id the converter accepts, whose digits occur nowhere else in an address
    head, _, tail = url_for(endpoint, **{name: stand_in}).partition(str(stand_in))
    return lambda value: f"{head}{int(value)}{tail}"


def field_errors(error: ValidationError) -> dict[str | None, list[str]]:
    """A validation error's messages by field, in the request's language (for forms)."""
    found: dict[str | None, list[str]] = {}
    for problem in error.errors:
        found.setdefault(problem.field, []).append(problem.translate(g.get("locale")))
    return found


def current_org_id() -> int | None:
    member = g.get("membership")
    return member.org_id if member is not None else None


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    from core.auth import epoch_is_current

    db_session = g.get("db")
    if db_session is None or not user_id.isdigit():
        return None
    # The user and their session epoch in one read (every page asks).
    row = db_session.execute(_statements().user, {"user_id": int(user_id)}).first()
    if row is None or not epoch_is_current(row.epoch, session.get("epoch")):
        return None
    return row.User if row.User.active else None
