"""Who is asking, and may they: the one permission check of every page and API endpoint.

``requires(permission)`` guards a view: no signed-in user (or API token) → sign in (401
for the API); no organization selected, or the permission's plugin disabled for it → 404;
the membership's role lacks the permission → 403. The permission is kept on the view
(``view.permission``), so a test can prove that every route is guarded.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, url_for

from core.errors import PermissionDenied
from core.i18n import N_, translate

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"  # marks a view anyone may reach (sign-in, the OpenAPI document)
SIGNED_IN = "signed_in"  # any signed-in user, whatever the organization (their own account)


def t(msgid: str, **params: object) -> str:
    """``msgid`` in the language of the request."""
    return translate(msgid, g.get("locale"), **params)


def enabled_here() -> set[str]:
    """The plugins enabled for the request's organization (read once per request: the door, the
    permission check and the menu all ask)."""
    if "enabled_plugins" not in g:
        from core.plugins import enabled_plugins

        g.enabled_plugins = enabled_plugins(g.db)
    return g.enabled_plugins


def permissions() -> frozenset[str]:
    """What the current user may do in the current organization (read once per request): as
    ``core.security.permissions_of``, from the membership and the enabled plugins the request
    has already read."""
    if "permissions" not in g:
        from core.security import granted_permissions

        user, member = g.get("user"), g.get("membership")
        if user is None or member is None or not user.active:
            g.permissions = frozenset()
        else:
            g.permissions = granted_permissions(g.db, member.role, enabled_here())
    return g.permissions


def can(permission: str) -> bool:
    return permission in permissions()


def _unauthenticated() -> Any:
    if g.get("api"):
        abort(401)
    return redirect(url_for("core.login", next=request.full_path.rstrip("?")))


def requires(permission: str) -> Callable[[F], F]:
    """Guard a view with ``permission`` (a code declared through ``comptoir_register_permissions``,
    or ``PUBLIC`` / ``SIGNED_IN``)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if permission != PUBLIC:
                if g.get("user") is None:
                    return _unauthenticated()
                if permission != SIGNED_IN:
                    check(permission)
            return view(*args, **kwargs)

        guarded.permission = permission  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def check(permission: str) -> None:
    """Inside a view: 404 without an organization or when the permission's plugin is off there,
    403 when the role lacks it."""
    from core.plugins import get_registry

    if g.get("membership") is None:
        abort(404)
    plugin = get_registry().permission_plugin.get(permission)
    if plugin is None or plugin not in enabled_here():
        abort(404)
    if not can(permission):
        raise PermissionDenied(N_("You do not have the permission %(permission)s."), permission=permission)


def actor() -> Any:
    """The user to record as the author of a change."""
    return g.get("user")
