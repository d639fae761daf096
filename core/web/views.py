"""Kernel pages: sign in and out, passwords, home with the organization switcher, language."""
from __future__ import annotations

import logging
import smtplib

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from core.auth import (
    TooManyAttempts,
    change_password,
    check_reset_token,
    end_sessions,
    issue_reset_token,
    record_sign_in,
    reset_password,
    send_reset_email,
    session_epoch,
    sign_in,
)
from core.errors import NotFound, ValidationError
from core.i18n import N_, SUPPORTED_LOCALES
from core.security import memberships_of
from core.web.access import PUBLIC, SIGNED_IN, requires, t

bp = Blueprint("core", __name__)
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("core.index")


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _settings():  # noqa: ANN202 - core.config.Settings
    return current_app.extensions["comptoir.settings"]


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("login.html", email="")
    email = request.form.get("email", "")
    try:
        user = sign_in(g.db, email, request.form.get("password", ""), address=_client_address(),
                       user_agent=request.headers.get("User-Agent", ""))
    except TooManyAttempts as error:
        g.db.commit()
        flash(error.translate(g.locale), "error")
        return render_template("login.html", email=email), 429
    if user is None:
        g.db.commit()
        flash(t(N_("Wrong email or password.")), "error")
        return render_template("login.html", email=email), 401
    epoch = session_epoch(g.db, user)
    first = memberships_of(g.db, user)
    if first:
        record_sign_in(g.db, user, first[0].org_id, address=_client_address())
    g.db.commit()  # the attempt, the audit record and a rehashed password are kept
    session.clear()
    login_user(user)
    session.permanent = True
    session["epoch"] = epoch
    if first:
        session["org_id"] = first[0].org_id
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
@requires(SIGNED_IN)
def logout() -> Response:
    end_sessions(g.db, g.user)  # the cookie, even replayed, names a finished epoch
    g.db.commit()
    logout_user()
    session.clear()
    return redirect(url_for("core.login"))


@bp.route("/")
@requires(SIGNED_IN)
def index() -> str:
    return render_template("index.html")


@bp.route("/switch", methods=["POST"])
@requires(SIGNED_IN)
def switch() -> Response:
    wanted = request.form.get("org_id", "")
    member_of = {m.org_id for m in memberships_of(g.db, g.user)}
    if not wanted.isdigit() or int(wanted) not in member_of:
        abort(404)
    session["org_id"] = int(wanted)
    return redirect(url_for("core.index"))


@bp.route("/language", methods=["POST"])
@requires(PUBLIC)
def language() -> Response:
    wanted = request.form.get("locale", "")
    if wanted in SUPPORTED_LOCALES:
        session["locale"] = wanted
        if g.user is not None:  # the user's preference, for their next sessions and emails
            g.user.locale = wanted
            g.db.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/account/password", methods=["GET", "POST"])
@requires(SIGNED_IN)
def password() -> str | Response | tuple[str, int]:
    errors: dict[str | None, list[str]] = {}
    if request.method == "POST":
        from core.web import field_errors

        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors = {"confirm_password": [t(N_("The two new passwords differ."))]}
        else:
            try:
                change_password(g.db, g.user, request.form.get("current_password", ""), new,
                                policy=_settings().password_policy)
            except ValidationError as error:
                errors = field_errors(error)
            else:
                epoch = session_epoch(g.db, g.user)
                g.db.commit()
                session["epoch"] = epoch  # this session goes on; every other one ends
                flash(t(N_("Your password was changed.")), "success")
                return redirect(url_for("core.index"))
        return render_template("password.html", errors=errors), 422
    return render_template("password.html", errors=errors)


@bp.route("/forgot", methods=["GET", "POST"])
@requires(PUBLIC)
def forgot() -> str | Response:
    if request.method == "POST":
        issued = issue_reset_token(g.db, request.form.get("email", ""))
        if issued is not None:
            user, token = issued
            g.db.commit()
            link = url_for("core.reset", token=token, _external=True)
            try:
                send_reset_email(_settings(), user, link, user.locale)
            except (OSError, smtplib.SMTPException):
                log.exception("the password reset email could not be sent")
        # The same answer whether or not the address is known: no one learns who has an account.
        flash(t(N_("If this address belongs to an account, a link to choose a new password was sent to it.")),
              "success")
        return redirect(url_for("core.login"))
    return render_template("forgot.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def reset(token: str) -> str | Response | tuple[str, int]:
    try:
        user = check_reset_token(g.db, token)
    except NotFound as error:
        return render_template("error.html", message=error.translate(g.locale)), 404
    errors: dict[str | None, list[str]] = {}
    if request.method == "POST":
        from core.web import field_errors

        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors = {"confirm_password": [t(N_("The two new passwords differ."))]}
        else:
            try:
                reset_password(g.db, token, new, policy=_settings().password_policy)
            except ValidationError as error:
                errors = field_errors(error)
            else:
                g.db.commit()
                logout_user()
                session.clear()
                flash(t(N_("Your password was changed. Sign in with it.")), "success")
                return redirect(url_for("core.login"))
        return render_template("reset.html", email=user.email, errors=errors), 422
    return render_template("reset.html", email=user.email, errors=errors)
