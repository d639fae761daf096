"""What every page's frame shows: the user's organizations with their role, and the menu
the enabled plugins contribute (``comptoir_menu_items``), filtered by permission."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask import g, request, url_for
from sqlalchemy import select

from core.i18n import translate
from core.plugins import MenuItem, enabled_plugins, get_registry
from core.security import BUILTIN_ROLE_LABELS, Membership
from core.tenancy import Organization
from core.web.access import permissions


@dataclass(frozen=True)
class OrgChoice:
    org_id: int
    name: str
    role: str
    current: bool


@dataclass(frozen=True)
class MenuLink:
    label: str
    url: str
    active: bool


def role_label(role: str, locale: str | None) -> str:
    return translate(BUILTIN_ROLE_LABELS[role], locale) if role in BUILTIN_ROLE_LABELS else role


def visible_menu_items() -> list[MenuItem]:
    """The menu items of the plugins enabled for the current organization that the user may use."""
    if g.get("membership") is None:
        return []
    enabled = enabled_plugins(g.db)
    allowed = permissions()
    return [item for item in get_registry().menu_items()
            if item.plugin in enabled and (item.permission is None or item.permission in allowed)]


class Layout:
    """Computed once per rendered page, only for what the template asks."""

    @cached_property
    def organizations(self) -> list[OrgChoice]:
        user = g.get("user")
        if user is None:
            return []
        rows = g.db.execute(
            select(Organization.id, Organization.name, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user.id).order_by(Organization.name))
        current = g.membership.org_id if g.get("membership") is not None else None
        return [OrgChoice(org_id, name, role_label(role, g.get("locale")), org_id == current)
                for org_id, name, role in rows]

    @cached_property
    def current(self) -> OrgChoice | None:
        return next((o for o in self.organizations if o.current), None)

    @cached_property
    def menu(self) -> list[MenuLink]:
        items = [(translate(item.label, g.get("locale")), url_for(item.endpoint)) for item in visible_menu_items()]
        # The page's own item, or the one whose address is the longest prefix of the page's.
        matching = [url for _label, url in items if request.path == url or request.path.startswith(url.rstrip("/") + "/")]
        active = max(matching, key=len, default=None)
        return [MenuLink(label, url, url == active) for label, url in items]


def layout() -> Layout:
    if "layout" not in g:
        g.layout = Layout()
    return g.layout
