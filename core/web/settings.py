"""Kernel pages of an organization: chart of accounts, users and roles, plugins, fiscal years
and period locks, Excel import, and the user's API tokens."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from core import chart, kernel, periods
from core.auth import api_tokens_of, create_api_token, revoke_api_token
from core.chart import AccountSubtype, AccountType
from core.db import fetch
from core.errors import ComptoirError, ValidationError
from core.i18n import N_
from core.plugins import disable_plugin, enable_plugin, enabled_plugins, get_registry
from core.security import BuiltinRole, add_member, find_user, remove_member
from core.security import members as org_members
from core.tenancy import current_organization
from core.web.access import SIGNED_IN, actor, can, requires, t

bp = Blueprint("settings", __name__, url_prefix="/org")


def _done(message: str, endpoint: str, **values: Any) -> Response:
    g.db.commit()
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def _refused(error: ComptoirError, endpoint: str, **values: Any) -> Response:
    g.db.rollback()
    flash(error.translate(g.locale), "error")
    return redirect(url_for(endpoint, **values))


# --- chart of accounts --------------------------------------------------------------------------

@bp.route("/accounts")
@requires(kernel.CHART_READ)
def accounts() -> str:
    show_deprecated = request.args.get("deprecated") == "1"
    return render_template("accounts.html", accounts=chart.list_accounts(g.db, include_deprecated=show_deprecated),
                           show_deprecated=show_deprecated, types=list(AccountType), subtypes=list(AccountSubtype),
                           can_write=can(kernel.CHART_WRITE), errors={}, form={},
                           crumbs=[(t(N_("Chart of accounts")), None)])


@bp.route("/accounts", methods=["POST"])
@requires(kernel.CHART_WRITE)
def create_account() -> str | Response | tuple[str, int]:
    from core.web import field_errors

    form = request.form
    try:
        account = chart.create_account(g.db, form.get("code", ""), form.get("name", ""),
                                       type=form.get("type") or None, subtype=form.get("subtype") or "general",
                                       parent=form.get("parent") or None, currency=form.get("currency") or None,
                                       reconcilable=form.get("reconcilable") == "on", actor=actor())
    except ValidationError as error:
        g.db.rollback()
        return render_template("accounts.html", accounts=chart.list_accounts(g.db, include_deprecated=False),
                               show_deprecated=False, types=list(AccountType), subtypes=list(AccountSubtype),
                               can_write=True, errors=field_errors(error), form=form,
                               crumbs=[(t(N_("Chart of accounts")), None)]), 422
    except ComptoirError as error:
        return _refused(error, "settings.accounts")
    return _done(t(N_("Account %(code)s created."), code=account.code), "settings.accounts")


@bp.route("/accounts/<int:account_id>/deprecate", methods=["POST"])
@requires(kernel.CHART_WRITE)
def deprecate_account(account_id: int) -> Response:
    account = fetch(g.db, chart.Account, account_id, what="Account")
    chart.deprecate_account(g.db, account.code, actor=actor())
    return _done(t(N_("Account %(code)s deprecated."), code=account.code), "settings.accounts")


# --- users and roles ---------------------------------------------------------------------------

def _member(membership_id: int) -> Any:
    """A membership of the current organization (another organization's id is not found)."""
    for user, member in org_members(g.db):
        if member.id == membership_id:
            return user, member
    abort(404)


@bp.route("/members")
@requires(kernel.USERS_MANAGE)
def members() -> str:
    return render_template("members.html", members=org_members(g.db), roles=list(BuiltinRole),
                           crumbs=[(t(N_("Users and roles")), None)])


@bp.route("/members", methods=["POST"])
@requires(kernel.USERS_MANAGE)
def add_member_view() -> Response:
    user = find_user(g.db, request.form.get("email", ""))
    if user is None:
        flash(t(N_("No user has the email %(email)s; create them with comptoir user create."),
                email=request.form.get("email", "")), "error")
        return redirect(url_for("settings.members"))
    try:
        add_member(g.db, user, request.form.get("role", ""), actor=actor())
    except ComptoirError as error:
        return _refused(error, "settings.members")
    return _done(t(N_("%(email)s is a member."), email=user.email), "settings.members")


@bp.route("/members/<int:membership_id>/role", methods=["POST"])
@requires(kernel.USERS_MANAGE)
def change_role(membership_id: int) -> Response:
    user, _member_row = _member(membership_id)
    try:
        add_member(g.db, user, request.form.get("role", ""), actor=actor())
    except ComptoirError as error:
        return _refused(error, "settings.members")
    return _done(t(N_("The role of %(email)s was changed."), email=user.email), "settings.members")


@bp.route("/members/<int:membership_id>/remove", methods=["POST"])
@requires(kernel.USERS_MANAGE)
def remove_member_view(membership_id: int) -> Response:
    user, _member_row = _member(membership_id)
    try:
        remove_member(g.db, user, actor=actor())
    except ComptoirError as error:
        return _refused(error, "settings.members")
    return _done(t(N_("%(email)s is no longer a member."), email=user.email), "settings.members")


# --- plugins -----------------------------------------------------------------------------------------

@bp.route("/plugins")
@requires(kernel.PLUGINS_MANAGE)
def plugins() -> str:
    registry = get_registry()
    return render_template("plugins.html", manifests=[m for n, m in registry.manifests.items() if n != "core"],
                           enabled=enabled_plugins(g.db), crumbs=[(t(N_("Plugins")), None)])


@bp.route("/plugins/<name>/<action>", methods=["POST"])
@requires(kernel.PLUGINS_MANAGE)
def change_plugin(name: str, action: str) -> Response:
    if name not in get_registry().manifests or name == "core" or action not in ("enable", "disable"):
        abort(404)
    try:
        if action == "enable":
            enable_plugin(g.db, name, actor=actor())
        else:
            disable_plugin(g.db, name, actor=actor())
    except ComptoirError as error:
        return _refused(error, "settings.plugins")
    message = N_("Plugin %(name)s enabled.") if action == "enable" else N_("Plugin %(name)s disabled.")
    return _done(t(message, name=name), "settings.plugins")


# --- fiscal years and period locks ----------------------------------------------------------------

@bp.route("/fiscal-years")
@requires(kernel.PERIODS_MANAGE)
def fiscal_years() -> str:
    years = [(year, periods.periods_of(g.db, year)) for year in reversed(periods.list_fiscal_years(g.db))]
    return render_template("fiscal_years.html", years=years, crumbs=[(t(N_("Fiscal years")), None)])


@bp.route("/fiscal-years", methods=["POST"])
@requires(kernel.PERIODS_MANAGE)
def create_fiscal_year() -> Response:
    try:
        year = periods.create_next_fiscal_year(g.db, current_organization(g.db), actor=actor())
    except ComptoirError as error:
        return _refused(error, "settings.fiscal_years")
    return _done(t(N_("Fiscal year %(year)s created."), year=year.name), "settings.fiscal_years")


@bp.route("/periods/<int:period_id>/<action>", methods=["POST"])
@requires(kernel.PERIODS_MANAGE)
def lock_period(period_id: int, action: str) -> Response:
    if action not in ("lock", "unlock"):
        abort(404)
    period = fetch(g.db, periods.Period, period_id, what="Period")
    try:
        periods.set_period_lock(g.db, period.name, action == "lock", actor=actor())
    except ComptoirError as error:
        return _refused(error, "settings.fiscal_years")
    message = N_("Period %(period)s locked.") if action == "lock" else N_("Period %(period)s unlocked.")
    return _done(t(message, period=period.name), "settings.fiscal_years")


# --- API tokens (the user's own, for the current organization) -------------------------------------

@bp.route("/tokens")
@requires(SIGNED_IN)
def tokens() -> str:
    return _tokens_page(None)


def _tokens_page(new_token: str | None) -> str:
    return render_template("tokens.html", tokens=api_tokens_of(g.db, g.user), new_token=new_token,
                           crumbs=[(t(N_("API tokens")), None)])


@bp.route("/tokens", methods=["POST"])
@requires(SIGNED_IN)
def create_token() -> str | Response:
    if g.membership is None:
        abort(404)
    try:
        _row, secret = create_api_token(g.db, g.user, g.membership.org_id, request.form.get("name", ""))
    except ComptoirError as error:
        return _refused(error, "settings.tokens")
    g.db.commit()
    return _tokens_page(secret)  # shown once, in this answer only: never in a cookie, never stored


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(SIGNED_IN)
def revoke_token(token_id: int) -> Response:
    revoke_api_token(g.db, g.user, token_id)
    return _done(t(N_("The token was revoked.")), "settings.tokens")


# --- Excel import: upload, preview, confirm ----------------------------------------------------------

def _uploads() -> Path:
    folder = Path(current_app.extensions["comptoir.settings"].instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload_path(key: str) -> Path:
    """An upload of this user's session (anything else is not found)."""
    pending = session.get("imports", {})
    if key not in pending or pending[key]["org_id"] != g.membership.org_id:
        abort(404)
    return _uploads() / pending[key]["file"]


@bp.route("/import")
@requires(kernel.EXCEL_IMPORT)
def import_workbook() -> str:
    from core.excel.schema import schemas as schemas_for

    return render_template("import.html", schemas=schemas_for(g.db), report=None, problems=None,
                           crumbs=[(t(N_("Import")), None)])


@bp.route("/import", methods=["POST"])
@requires(kernel.EXCEL_IMPORT)
def upload_workbook() -> str | tuple[str, int] | Response:
    from core.excel.importer import ImportFailed, import_file
    from core.excel.readers import WorkbookRefused
    from core.excel.schema import schemas as schemas_for

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(t(N_("Choose a file to import.")), "error")
        return redirect(url_for("settings.import_workbook"))
    key = secrets.token_urlsafe(16)
    suffix = Path(upload.filename).suffix.lower()[:8]
    target = _uploads() / f"{key}{suffix}"
    upload.save(target)
    pending = session.get("imports", {})
    pending[key] = {"file": target.name, "name": upload.filename[:200], "org_id": g.membership.org_id,
                    "schema": request.form.get("schema") or None}
    session["imports"] = pending
    page = {"schemas": schemas_for(g.db), "crumbs": [(t(N_("Import")), None)], "key": key, "name": upload.filename}
    try:
        report = import_file(g.db, target, schema=pending[key]["schema"], locale=g.locale, dry_run=True,
                             errors_path=_uploads() / f"{key}.errors.xlsx", actor=actor())
    except ImportFailed as failed:
        g.db.rollback()
        return render_template("import.html", report=None, problems=failed.problems, **page), 422
    except (WorkbookRefused, ComptoirError) as error:
        g.db.rollback()
        flash(error.translate(g.locale), "error")
        return redirect(url_for("settings.import_workbook"))
    g.db.rollback()  # a dry run writes nothing
    return render_template("import.html", report=report, problems=None, **page)


@bp.route("/import/<key>/confirm", methods=["POST"])
@requires(kernel.EXCEL_IMPORT)
def confirm_import(key: str) -> Response:
    from core.excel.importer import ImportFailed, import_file

    path = _upload_path(key)
    schema = session["imports"][key]["schema"]
    try:
        report = import_file(g.db, path, schema=schema, locale=g.locale, actor=actor())
    except ImportFailed as failed:
        return _refused(failed, "settings.import_workbook")
    counts = report.counts
    pending = session["imports"]
    pending.pop(key)
    session["imports"] = pending
    path.unlink(missing_ok=True)
    return _done(t(N_("Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged."),
                   created=counts.created, updated=counts.updated, unchanged=counts.unchanged),
                 "settings.import_workbook")


@bp.route("/import/<key>/errors.xlsx")
@requires(kernel.EXCEL_IMPORT)
def import_errors(key: str) -> Response:
    _upload_path(key)
    path = _uploads() / f"{key}.errors.xlsx"
    if not path.is_file():
        abort(404)
    name = Path(session["imports"][key]["name"]).stem + ".errors.xlsx"
    return send_file(path, as_attachment=True, download_name=name)
