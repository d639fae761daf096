"""Kernel pages: sign in and out, home with the organization switcher, language choice."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from core.i18n import N_, SUPPORTED_LOCALES, translate
from core.security import BUILTIN_ROLE_LABELS, authenticate, memberships_of
from core.tenancy import Organization

bp = Blueprint("core", __name__)


def _t(msgid: str, **params: object) -> str:
    return translate(msgid, g.get("locale"), **params)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("core.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if request.method == "POST":
        user = authenticate(g.db, request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            flash(_t(N_("Wrong email or password.")), "error")
            return render_template("login.html", email=request.form.get("email", "")), 401
        g.db.commit()  # a rehashed password is kept
        session.clear()
        login_user(user)
        first = memberships_of(g.db, user)
        if first:
            session["org_id"] = first[0].org_id
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", email="")


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("core.login"))


@bp.route("/")
@login_required
def index() -> str:
    memberships = memberships_of(g.db, current_user)
    orgs = {o.id: o for o in g.db.query(Organization).filter(
        Organization.id.in_([m.org_id for m in memberships]))}
    choices = [
        (orgs[m.org_id], _t(BUILTIN_ROLE_LABELS[m.role]) if m.role in BUILTIN_ROLE_LABELS else m.role)
        for m in memberships
    ]
    current = orgs.get(session.get("org_id"))
    return render_template("index.html", choices=choices, current=current)


@bp.route("/switch", methods=["POST"])
@login_required
def switch() -> Response:
    wanted = request.form.get("org_id", "")
    member_of = {m.org_id for m in memberships_of(g.db, current_user)}
    if not wanted.isdigit() or int(wanted) not in member_of:
        abort(404)
    session["org_id"] = int(wanted)
    return redirect(url_for("core.index"))


@bp.route("/language", methods=["POST"])
def language() -> Response:
    wanted = request.form.get("locale", "")
    if wanted in SUPPORTED_LOCALES:
        session["locale"] = wanted
    return redirect(_safe_next(request.form.get("next")))
