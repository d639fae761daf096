"""One hierarchy of business errors; each carries a message id and named parameters.

Edges translate them (``error.translate(locale)``) into a flash message, a JSON body with
an HTTP status, or one line on stderr — never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.i18n import N_, translate


@dataclass(frozen=True)
class FieldError:
    """One problem with one field (and, for imports, one row)."""

    field: str | None
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    row: int | None = None

    def translate(self, locale: str | None = None) -> str:
        return translate(self.msgid, locale, **self.params)


class ComptoirError(Exception):
    """Base of every error a user may see."""

    http_status = 400
    default_msgid = N_("The operation failed.")

    def __init__(self, msgid: str | None = None, **params: Any) -> None:
        self.msgid = msgid or self.default_msgid
        self.params = params
        super().__init__(self.translate("en"))

    def translate(self, locale: str | None = None) -> str:
        return translate(self.msgid, locale, **self.params)


class ValidationError(ComptoirError):
    """Input is wrong; ``errors`` lists every problem found, not just the first."""

    http_status = 422

    def __init__(self, errors: list[FieldError] | FieldError | str, **params: Any) -> None:
        if isinstance(errors, str):
            errors = [FieldError(None, errors, params)]
        elif isinstance(errors, FieldError):
            errors = [errors]
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.msgid, **first.params)

    def translate(self, locale: str | None = None) -> str:
        return " ".join(e.translate(locale) for e in self.errors)


class NotFound(ComptoirError):
    http_status = 404
    default_msgid = N_("Not found.")


class PermissionDenied(ComptoirError):
    http_status = 403
    default_msgid = N_("You do not have the permission to do this.")


class Conflict(ComptoirError):
    http_status = 409


class TenantContextMissing(ComptoirError):
    """A tenant table was queried or written without an organization in context.

    This is a programming error of an edge or a service, never a user's: it is raised
    instead of silently returning every tenant's rows.
    """

    http_status = 500
    default_msgid = N_("No organization is selected.")


class CrossTenantWrite(ComptoirError):
    http_status = 500
    default_msgid = N_("An object of another organization cannot be written here.")


class PluginDisabled(NotFound):
    default_msgid = N_("This feature is not enabled for this organization.")


class PluginConfigurationError(ComptoirError):
    """The installed plugins cannot be started (missing or cyclic dependency, duplicate)."""


class ChartTemplateError(ComptoirError):
    """A chart template file is malformed; names the file and the line."""


class PeriodLocked(ComptoirError):
    default_msgid = N_("The period %(period)s is locked.")
