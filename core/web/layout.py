"""What every page's frame shows: the user's organizations with their role, and the menu
the enabled plugins contribute (``comptoir_menu_items``), filtered by permission."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from flask import current_app, g, request, url_for
from sqlalchemy import Select, bindparam, select

from core.i18n import translate
from core.plugins import MenuItem, get_registry
from core.security import BUILTIN_ROLE_LABELS, Membership
from core.tenancy import Organization
from core.web.access import enabled_here, permissions


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
    enabled = enabled_here()
    allowed = permissions()
    return [item for item in get_registry().menu_items()
            if item.plugin in enabled and (item.permission is None or item.permission in allowed)]


@cache
def _organizations_statement() -> Select:
    """A user's organizations and role in each, by name (built once: every page asks)."""
    return (select(Organization.id, Organization.name, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == bindparam("user_id")).order_by(Organization.name))


class Layout:
    """Computed once per rendered page, only for what the template asks."""

    @cached_property
    def organizations(self) -> list[OrgChoice]:
        user = g.get("user")
        if user is None:
            return []
        rows = g.db.execute(_organizations_statement(), {"user_id": user.id})
        current = g.membership.org_id if g.get("membership") is not None else None
        return [OrgChoice(org_id, name, role_label(role, g.get("locale")), org_id == current)
                for org_id, name, role in rows]

    @cached_property
    def current(self) -> OrgChoice | None:
        return next((o for o in self.organizations if o.current), None)

    @cached_property
    def menu(self) -> list[MenuLink]:
        items = _menu_links(tuple(visible_menu_items()), g.get("locale"))
        scores = {url: _closeness(url, request.path) for _label, url in items}
        best = max((score for score in scores.values() if score is not None), default=None)
        winners = [url for url, score in scores.items() if score == best]
        active = winners[0] if best is not None and len(winners) == 1 else None
        return [MenuLink(label, url, url == active) for label, url in items]


def _menu_links(items: tuple[MenuItem, ...], locale: str | None) -> tuple[tuple[str, str], ...]:
    """The menu's labels and addresses: the same for every page of a user (kept per application,
    language and script root: a dozen translations and ``url_for`` calls on every page otherwise)."""
    known = current_app.extensions.setdefault("comptoir.menu_links", {})
    key = (items, locale, request.script_root)
    if key not in known:
        known[key] = tuple((translate(item.label, locale), url_for(item.endpoint)) for item in items)
    return known[key]


def _closeness(item_url: str, path: str) -> tuple[int, bool] | None:
    """How well a menu item's address names the page: the page itself, a page under it, or a
    sibling (``/accounting/reports/trial-balance`` stands for every report). None: unrelated."""
    mine = [part for part in item_url.split("/") if part]
    here = [part for part in path.split("/") if part]
    common = 0
    for a, b in zip(mine, here, strict=False):
        if a != b:
            break
        common += 1
    if common == 0 or common < len(mine) - 1:
        return None
    return common, common == len(mine)


def layout() -> Layout:
    if "layout" not in g:
        g.layout = Layout()
    return g.layout
