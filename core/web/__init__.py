"""The Flask application: sign-in, the organization switcher, and the plugins' blueprints.

Each request opens one database session scoped to the organization the user selected
(and is a member of); views stay thin and call services.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, render_template, request, session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

from core.config import Settings, load_settings
from core.db import Database, set_tenant
from core.errors import ComptoirError
from core.i18n import SUPPORTED_LOCALES, is_rtl, normalize_locale, translate

csrf = CSRFProtect()
login_manager = LoginManager()


def create_app(settings: Settings | None = None, database: Database | None = None,
               test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory."""
    from core.plugins import get_registry

    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["comptoir.settings"] = settings
    app.extensions["comptoir.db"] = database or Database(settings.database_url)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "core.login"

    from core.web.views import bp

    app.register_blueprint(bp)
    registry = get_registry()
    for result in registry.hook.comptoir_register_blueprints():
        for blueprint in result or []:
            app.register_blueprint(blueprint)
    _plugin_of_blueprint = {
        bp_.name: name
        for name in registry.manifests
        for result in registry.call_only(name, "comptoir_register_blueprints")()
        for bp_ in result or []
    }

    @app.before_request
    def _open_session() -> None:
        database: Database = app.extensions["comptoir.db"]
        # Reads do not take SQLite's write lock, so concurrent page views never wait on it.
        g.db = database.session(readonly=request.method in ("GET", "HEAD", "OPTIONS"))
        g.locale = _request_locale()
        g.membership = None
        if current_user.is_authenticated and current_org_id() is not None:
            from core.security import membership

            g.membership = membership(g.db, current_user, current_org_id())
            if g.membership is None:
                session.pop("org_id", None)
            else:
                set_tenant(g.db, g.membership.org_id)
        blueprint = request.blueprint
        plugin = _plugin_of_blueprint.get(blueprint or "")
        if plugin is not None:
            from core.plugins import require_plugin

            if g.membership is None:
                abort(404)
            require_plugin(g.db, plugin)

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
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        return response

    @app.errorhandler(ComptoirError)
    def _business_error(error: ComptoirError) -> tuple[str, int]:
        return render_template("error.html", message=error.translate(g.get("locale"))), error.http_status

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        locale = g.get("locale", "en")
        return {
            "_": lambda msgid, **params: translate(msgid, locale, **params),
            "locale": locale,
            "rtl": is_rtl(locale),
            "locales": SUPPORTED_LOCALES,
        }

    return app


def _request_locale() -> str:
    chosen = session.get("locale")
    if chosen:
        return normalize_locale(chosen)
    if current_user and current_user.is_authenticated:
        return normalize_locale(current_user.locale)
    return normalize_locale(request.accept_languages.best_match(SUPPORTED_LOCALES))


def current_org_id() -> int | None:
    return session.get("org_id")


@login_manager.user_loader
def _load_user(user_id: str) -> Any:
    from core.security import User

    db_session = g.get("db")
    if db_session is None or not user_id.isdigit():
        return None
    user = db_session.get(User, int(user_id))
    return user if user is not None and user.active else None

