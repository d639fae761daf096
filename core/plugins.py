"""The plugin manager: discovery by entry points, dependency order, per-organization enablement.

Built-in plugins are found exactly like third-party ones, through the entry-point group
``comptoir.plugins``; each entry point names a module with a ``manifest`` and hookimpls.
"""
from __future__ import annotations

import graphlib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import PROJECT_NAME, hookspecs
from core.db import Base, OrgOwned, Timestamp, require_tenant, utcnow
from core.errors import NotFound, PluginConfigurationError, PluginDisabled, ValidationError
from core.i18n import N_, add_catalog_dir

ENTRY_POINT_GROUP = "comptoir.plugins"
KERNEL = "core"


@dataclass(frozen=True)
class PluginManifest:
    """What a plugin says about itself (a module attribute named ``manifest``)."""

    name: str
    title: str
    version: str
    requires: tuple[str, ...] = ()
    description: str = ""
    default_enabled: bool = False
    models: str | None = None  # module imported at start-up so its tables join the metadata
    migrations: Path | None = None  # Alembic version folder; its branch label is ``name``
    translations: Path | None = None  # babel catalogs, laid out like core/translations


@dataclass(frozen=True)
class MenuItem:
    """An entry of the main menu contributed by a plugin."""

    plugin: str
    endpoint: str
    label: str  # message id
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class DataSummary:
    """One line of "what this plugin holds", e.g. ``N_("%(count)s journal entries")``."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DisableImpact:
    """What disabling a plugin would make unavailable (shown before it is done)."""

    plugin: str
    also_disabled: tuple[str, ...]  # enabled plugins that require it
    permissions: tuple[str, ...]
    menu_items: tuple[MenuItem, ...]
    data: tuple[DataSummary, ...]


class PluginRegistry:
    """The started plugins: their manifests in dependency order and the pluggy manager."""

    def __init__(self, pm: pluggy.PluginManager, manifests: dict[str, PluginManifest]) -> None:
        self.pm = pm
        self.manifests = manifests
        self.hook = pm.hook
        self.permission_plugin: dict[str, str] = {}
        self.permissions = self._collect_permissions()

    def _collect_permissions(self) -> dict[str, Any]:
        from core.security import Permission

        found: dict[str, Permission] = {}
        for plugin_name, result in self._results_by_plugin("comptoir_register_permissions"):
            for permission in result or []:
                if permission.code in found:
                    raise PluginConfigurationError(
                        N_("Permission %(code)s is declared twice (by %(plugin)s)."),
                        code=permission.code, plugin=plugin_name,
                    )
                found[permission.code] = permission
                self.permission_plugin[permission.code] = plugin_name
        return found

    def _results_by_plugin(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        results = []
        for name in self.manifests:
            caller = self.call_only(name, hook_name)
            results.extend((name, r) for r in caller(**kwargs))
        return results

    def call_only(self, plugin_name: str, hook_name: str) -> Any:
        """The hook caller restricted to one plugin."""
        others = [p for n, p in self.pm.list_name_plugin() if n != plugin_name]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=others)

    def call_enabled(self, enabled: Iterable[str], hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on the given plugins only, in dependency order."""
        wanted = set(enabled) | {KERNEL}
        results = []
        for name in self.manifests:
            if name in wanted:
                results.extend(self.call_only(name, hook_name)(**kwargs))
        return results

    @property
    def names(self) -> list[str]:
        """Installed plugins in dependency order, the kernel first."""
        return list(self.manifests)

    def manifest(self, name: str) -> PluginManifest:
        try:
            return self.manifests[name]
        except KeyError:
            raise NotFound(N_("There is no plugin named %(name)s."), name=name) from None

    def requirements_of(self, name: str) -> list[str]:
        """``name``'s requirements, transitively, in dependency order."""
        needed: set[str] = set()
        stack = list(self.manifest(name).requires)
        while stack:
            current = stack.pop()
            if current not in needed:
                needed.add(current)
                stack.extend(self.manifests[current].requires)
        return [n for n in self.manifests if n in needed]

    def dependents_of(self, name: str) -> list[str]:
        """Plugins that require ``name``, transitively, in dependency order."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for other, manifest in self.manifests.items():
                if other not in found and (name in manifest.requires or found & set(manifest.requires)):
                    found.add(other)
                    changed = True
        return [n for n in self.manifests if n in found]

    def menu_items(self, plugin: str | None = None) -> list[MenuItem]:
        items: list[MenuItem] = []
        for _name, result in self._results_by_plugin("comptoir_menu_items"):
            items.extend(result or [])
        if plugin is not None:
            items = [i for i in items if i.plugin == plugin]
        return sorted(items, key=lambda i: (i.order, i.endpoint))

    def migration_locations(self) -> dict[str, Path]:
        return {n: m.migrations for n, m in self.manifests.items() if m.migrations}


def _order(manifests: dict[str, PluginManifest]) -> list[str]:
    for manifest in manifests.values():
        for required in manifest.requires:
            if required not in manifests:
                raise PluginConfigurationError(
                    N_("Plugin %(plugin)s requires %(required)s, which is not installed."),
                    plugin=manifest.name, required=required,
                )
    sorter = graphlib.TopologicalSorter({n: m.requires for n, m in manifests.items()})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as error:
        cycle = " → ".join(error.args[1])
        raise PluginConfigurationError(
            N_("Plugins depend on each other in a cycle: %(cycle)s."), cycle=cycle
        ) from None


def _manifest_of(module: ModuleType, source: str) -> PluginManifest:
    manifest = getattr(module, "manifest", None)
    if not isinstance(manifest, PluginManifest):
        raise PluginConfigurationError(
            N_("Plugin %(source)s has no manifest."), source=source
        )
    return manifest


def load_plugins(*, discover: bool = True, extra: Iterable[ModuleType] = ()) -> PluginRegistry:
    """Build the plugin manager: the kernel, every entry point of ``comptoir.plugins``, ``extra``.

    Raises :class:`PluginConfigurationError` for a missing or cyclic dependency, a duplicate
    name, or a hookimpl without a spec.
    """
    from core import kernel

    modules: dict[str, ModuleType] = {KERNEL: kernel}
    candidates: list[tuple[str, ModuleType]] = []
    if discover:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            loaded = ep.load()
            module = loaded if isinstance(loaded, ModuleType) else importlib.import_module(ep.module)
            candidates.append((f"{ep.name} = {ep.value}", module))
    candidates.extend((m.__name__, m) for m in extra)
    manifests: dict[str, PluginManifest] = {KERNEL: kernel.manifest}
    for source, module in candidates:
        manifest = _manifest_of(module, source)
        if manifest.name in manifests:
            if modules[manifest.name] is module:
                continue
            raise PluginConfigurationError(
                N_("Two plugins are named %(name)s."), name=manifest.name
            )
        manifests[manifest.name] = manifest
        modules[manifest.name] = module
    ordered = {name: manifests[name] for name in _order(manifests)}

    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in ordered:
        manifest = ordered[name]
        if manifest.models:
            importlib.import_module(manifest.models)
        if manifest.translations:
            add_catalog_dir(manifest.translations)
        pm.register(modules[name], name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginConfigurationError(
            N_("A plugin implements an unknown hook: %(detail)s"), detail=str(error)
        ) from None
    return PluginRegistry(pm, ordered)


_registry: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process's plugin registry, built on first use (never at import time)."""
    global _registry
    if _registry is None:
        _registry = load_plugins()
    return _registry


def reset_registry(registry: PluginRegistry | None = None) -> None:
    """Replace the process's registry (tests that install or remove a plugin)."""
    global _registry
    _registry = registry


# --- per-organization enablement ------------------------------------------------------------

class OrgPlugin(OrgOwned, Base):
    """Whether a plugin is enabled for an organization. Disabling keeps the plugin's data."""

    __tablename__ = "org_plugin"
    __table_args__ = (UniqueConstraint("org_id", "plugin"),)

    plugin: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool]
    changed_at: Mapped[Timestamp] = mapped_column(default=utcnow)


def enabled_plugins(session: Session) -> set[str]:
    """Names of the plugins enabled for the session's organization (the kernel always is)."""
    require_tenant(session)
    names = session.scalars(select(OrgPlugin.plugin).where(OrgPlugin.enabled.is_(True)))
    installed = set(get_registry().manifests)
    return ({KERNEL} | set(names)) & installed


def is_enabled(session: Session, name: str) -> bool:
    return name in enabled_plugins(session)


def require_plugin(session: Session, name: str) -> None:
    """Every edge calls this before serving a plugin's feature: a disabled one is not found."""
    if not is_enabled(session, name):
        raise PluginDisabled()


def _set_enabled(session: Session, name: str, enabled: bool) -> bool | None:
    """Record the state; True/False if it changed, None if the plugin is new to the organization."""
    row = session.scalars(select(OrgPlugin).where(OrgPlugin.plugin == name)).one_or_none()
    if row is None:
        session.add(OrgPlugin(plugin=name, enabled=enabled))
        return None if enabled else False
    if row.enabled == enabled:
        return False
    row.enabled = enabled
    row.changed_at = utcnow()
    return True


def enable_plugin(session: Session, name: str, *, actor: Any = None) -> list[str]:
    """Enable ``name`` and whatever it requires; returns the plugins newly enabled."""
    from core import audit

    registry = get_registry()
    registry.manifest(name)
    if name == KERNEL:
        return []
    from core.tenancy import current_organization

    changed = []
    for plugin in [*registry.requirements_of(name), name]:
        if plugin == KERNEL:
            continue
        outcome = _set_enabled(session, plugin, True)
        if outcome is False:
            continue
        changed.append(plugin)
        session.flush()
        audit.record(session, "plugin.enabled", target=plugin, actor=actor)
        if outcome is None:  # first use by this organization: the plugin sets up its defaults
            registry.call_only(plugin, "comptoir_organization_created")(
                session=session, organization=current_organization(session))
    session.flush()
    return changed


def plan_disable(session: Session, name: str) -> DisableImpact:
    """What disabling ``name`` would make unavailable, without changing anything."""
    registry = get_registry()
    registry.manifest(name)
    if name == KERNEL:
        raise ValidationError(N_("The kernel cannot be disabled."))
    enabled = enabled_plugins(session)
    affected = [p for p in [name, *registry.dependents_of(name)] if p in enabled]
    permissions = tuple(
        code for code, plugin in registry.permission_plugin.items() if plugin in affected
    )
    menu = tuple(item for p in affected for item in registry.menu_items(p))
    data: list[DataSummary] = []
    for plugin in affected:
        for result in registry.call_only(plugin, "comptoir_data_summary")(session=session):
            data.extend(result or [])
    return DisableImpact(
        plugin=name,
        also_disabled=tuple(p for p in affected if p != name),
        permissions=permissions,
        menu_items=menu,
        data=tuple(data),
    )


def disable_plugin(session: Session, name: str, *, actor: Any = None) -> DisableImpact:
    """Disable ``name`` and the enabled plugins that require it; their data stays."""
    from core import audit

    impact = plan_disable(session, name)
    for plugin in [name, *impact.also_disabled]:
        if _set_enabled(session, plugin, False):
            session.flush()
            audit.record(session, "plugin.disabled", target=plugin, actor=actor)
    return impact
