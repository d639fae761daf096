"""The JSON API under ``/api/v1``: how endpoints are declared, how errors look, the OpenAPI
document, and the kernel's own endpoints (the chart of accounts).

An endpoint is declared once, with :meth:`ApiBlueprint.operation`: the route, the
permission it requires, its parameters, body and response schemas. The Flask route and
its OpenAPI description come from that one declaration, so they cannot drift apart. A
plugin declares its endpoints the same way on its own ``ApiBlueprint`` and returns it from
``comptoir_register_blueprints``: it is then refused (404) to organizations that have not
enabled the plugin, like its pages. Callers authenticate with ``Authorization: Bearer
<token>`` (a token of one user in one organization, see :mod:`core.auth`); cookies are
never read here, so no CSRF token is needed.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.wrappers import Response

from core.errors import ComptoirError, FieldError, ValidationError
from core.i18n import N_
from core.web.access import PUBLIC, SIGNED_IN, requires

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"


@dataclass(frozen=True)
class Param:
    """A query or path parameter."""

    name: str
    schema: Mapping[str, Any]
    where: str = "query"
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str  # Flask's, e.g. /entries/<int:entry_id>
    endpoint: str
    permission: str
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: Mapping[str, Any] | None = None
    response: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200


class ApiBlueprint(Blueprint):
    """A blueprint of JSON endpoints, each described for the OpenAPI document."""

    def __init__(self, name: str, import_name: str, *, tag: str) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX)
        self.tag = tag
        self.operations: list[Operation] = []

    def operation(self, rule: str, method: str, *, permission: str, summary: str,
                  params: Sequence[Param] = (), body: Mapping[str, Any] | None = None,
                  response: Mapping[str, Any] | None = None, status: int = 200) -> Callable[[Callable[..., Any]], Any]:
        """Declare ``method rule``: the view returns JSON-able data, sent with ``status``."""

        def decorate(view: Callable[..., Any]) -> Any:
            def respond(*args: Any, **kwargs: Any) -> Response:
                result = jsonify(view(*args, **kwargs))
                result.status_code = status
                return result

            respond.__name__ = view.__name__
            respond.__doc__ = view.__doc__
            guarded = requires(permission)(respond)
            self.add_url_rule(rule, view.__name__, guarded, methods=[method])
            self.operations.append(Operation(method.lower(), rule, f"{self.name}.{view.__name__}", permission,
                                             summary, self.tag, tuple(params), body, response or {}, status))
            return guarded

        return decorate


# --- request and response helpers ----------------------------------------------------------------

def _code(error: ComptoirError) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def error_response(error: ComptoirError) -> tuple[Response, int]:
    """``{"error": {"code", "message", "fields": [{"field", "message", "row"}]}}`` with the error's status."""
    locale = g.get("locale")
    body: dict[str, Any] = {"code": _code(error), "message": error.translate(locale)}
    if isinstance(error, ValidationError):
        body["fields"] = [{"field": e.field, "message": e.translate(locale), "row": e.row} for e in error.errors]
    return jsonify({"error": body}), error.http_status


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(FieldError(None, N_("The request body must be a JSON object.")))
    return data


def decimal_text(value: Decimal | None) -> str | None:
    """Amounts travel as strings (``"1234.50"``): no JSON reader turns them into floats."""
    return None if value is None else format(value, "f")


class Fields:
    """Read a JSON object's fields, collecting every problem before raising."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix
        self.problems: list[FieldError] = []

    def _problem(self, name: str, msgid: str, **params: Any) -> None:
        self.problems.append(FieldError(self.prefix + name, msgid, params))

    def string(self, name: str, *, required: bool = True, default: str = "") -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self._problem(name, N_("%(field)s is required."), field=name)
            return default
        if not isinstance(value, str):
            self._problem(name, N_("%(field)s must be text."), field=name)
            return default
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self._problem(name, N_("%(field)s must be true or false."), field=name)
            return default
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self._problem(name, N_("%(field)s is required."), field=name)
            return None
        if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, (str, int)):
            self._problem(name, N_("%(field)s must be a decimal number written as a string."), field=name)
            return None
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            number = Decimal("NaN")
        if not number.is_finite():
            self._problem(name, N_("%(value)s is not an amount."), value=value)
            return None
        return number

    def date(self, name: str, *, required: bool = True) -> Any:
        import datetime as dt

        value = self.string(name, required=required)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self._problem(name, N_("%(value)s is not a date (YYYY-MM-DD)."), value=value)
            return None

    def raise_problems(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)


def query_date(name: str, default: Any = None) -> Any:
    import datetime as dt

    value = request.args.get(name)
    if not value:
        if default is None:
            raise ValidationError(FieldError(name, N_("%(field)s is required."), {"field": name}))
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(FieldError(name, N_("%(value)s is not a date (YYYY-MM-DD)."), {"value": value})) from None


def query_int(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise ValidationError(FieldError(name, N_("%(field)s must be a whole number."), {"field": name}))
    return int(value)


# --- schemas shared by endpoints ---------------------------------------------------------------

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
AMOUNT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "a decimal amount as text"}
NULLABLE_STRING = {"type": "string", "nullable": True}
ID_PARAM = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def obj(properties: Mapping[str, Any], required: Sequence[str] | None = None) -> dict[str, Any]:
    wanted = list(properties) if required is None else list(required)
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if wanted:  # OpenAPI 3.0 refuses an empty list
        schema["required"] = wanted
    return schema


def array(items: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": dict(items)}


ERROR_SCHEMA = obj({"error": obj({
    "code": STRING, "message": STRING,
    "fields": array(obj({"field": NULLABLE_STRING, "message": STRING,
                         "row": {"type": "integer", "nullable": True}})),
}, ["code", "message"])})


# --- the OpenAPI document -------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _openapi_path(rule: str) -> str:
    return API_PREFIX + _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


def _path_params(rule: str) -> list[dict[str, Any]]:
    params = []
    for converter, name in _CONVERTER.findall(rule):
        schema = dict(ID_PARAM) if converter == "int" else dict(STRING)
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def operations(app: Any) -> list[Operation]:
    """Every declared endpoint of the application (kernel and plugins)."""
    return [op for bp in app.blueprints.values() if isinstance(bp, ApiBlueprint) for op in bp.operations]


def openapi_document(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.0 description of every declared endpoint."""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations(app):
        errors = {str(code): {"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
            for code, description in ((400, "Bad request"), (401, "No valid token"), (403, "Permission denied"),
                                      (404, "Not found"), (409, "Conflict"), (422, "Invalid input"))}
        entry: dict[str, Any] = {
            "operationId": op.endpoint.replace(".", "_"),
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _path_params(op.rule) + [
                {"name": p.name, "in": p.where, "required": p.required, "schema": dict(p.schema),
                 **({"description": p.description} if p.description else {})} for p in op.params],
            "responses": {str(op.status): {"description": "OK", "content": {"application/json": {
                "schema": dict(op.response)}}}, **errors},
        }
        if op.permission == PUBLIC:
            entry["security"] = []
        else:
            entry["description"] = f"Requires the permission `{op.permission}`."
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": dict(op.body)}}}
        paths.setdefault(_openapi_path(op.rule), {})[op.method] = entry
    return {
        "openapi": "3.0.3",
        "info": {"title": "Comptoir API", "version": API_VERSION,
                 "description": "Accounting of one organization, with a user's token for it."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


# --- the kernel's endpoints ----------------------------------------------------------------------------

kernel_api = ApiBlueprint("api", __name__, tag="kernel")

ACCOUNT = obj({"id": INTEGER, "code": STRING, "name": STRING, "type": NULLABLE_STRING, "subtype": STRING,
               "currency": NULLABLE_STRING, "header": BOOLEAN, "deprecated": BOOLEAN, "reconcilable": BOOLEAN})


def account_json(account: Any) -> dict[str, Any]:
    return {"id": account.id, "code": account.code, "name": account.name, "type": account.type,
            "subtype": account.subtype, "currency": account.currency, "header": account.header,
            "deprecated": account.deprecated, "reconcilable": account.reconcilable}


@kernel_api.operation("/openapi.json", "GET", permission=PUBLIC, summary="This document",
                      response={"type": "object"})
def openapi() -> dict[str, Any]:
    return openapi_document(current_app)


@kernel_api.operation("/me", "GET", permission=SIGNED_IN, summary="Who the token speaks for",
                      response=obj({"email": STRING, "organization": {"type": "integer", "nullable": True},
                                    "role": NULLABLE_STRING, "permissions": array(STRING)}))
def me() -> dict[str, Any]:
    from core.web.access import permissions

    member = g.membership
    return {"email": g.user.email, "organization": member.org_id if member else None,
            "role": member.role if member else None, "permissions": sorted(permissions())}


@kernel_api.operation("/accounts", "GET", permission="core.chart.read", summary="The chart of accounts",
                      params=[Param("include_deprecated", BOOLEAN)], response=array(ACCOUNT))
def list_accounts() -> list[dict[str, Any]]:
    from core.chart import list_accounts as accounts

    include = request.args.get("include_deprecated", "true").lower() != "false"
    return [account_json(a) for a in accounts(g.db, include_deprecated=include)]


@kernel_api.operation("/accounts/<int:account_id>", "GET", permission="core.chart.read",
                      summary="One account", response=ACCOUNT)
def get_account(account_id: int) -> dict[str, Any]:
    from core.chart import Account
    from core.db import fetch

    return account_json(fetch(g.db, Account, account_id, what="Account"))


@kernel_api.operation(
    "/accounts", "POST", permission="core.chart.write", summary="Create an account", status=201,
    body=obj({"code": STRING, "name": STRING, "type": NULLABLE_STRING, "subtype": STRING,
              "parent": NULLABLE_STRING, "currency": NULLABLE_STRING, "reconcilable": BOOLEAN,
              "header": BOOLEAN, "tags": array(STRING)}, ["code", "name"]),
    response=ACCOUNT)
def create_account() -> dict[str, Any]:
    from core.chart import create_account as create

    fields = Fields(json_body())
    code, name = fields.string("code"), fields.string("name")
    kind = fields.string("type", required=False) or None
    subtype = fields.string("subtype", required=False, default="general")
    parent = fields.string("parent", required=False) or None
    currency = fields.string("currency", required=False) or None
    reconcilable, header = fields.boolean("reconcilable"), fields.boolean("header")
    tags = fields.data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        fields.problems.append(FieldError("tags", N_("%(field)s must be a list of text."), {"field": "tags"}))
        tags = []
    fields.raise_problems()
    account = create(g.db, code, name, type=kind, subtype=subtype, parent=parent, currency=currency,
                     reconcilable=reconcilable, header=header, tags=tags, actor=g.user)
    g.db.commit()
    return account_json(account)


@kernel_api.operation("/accounts/<int:account_id>/deprecate", "POST", permission="core.chart.write",
                      summary="Deprecate an account (no new postings)", response=ACCOUNT)
def deprecate_account(account_id: int) -> dict[str, Any]:
    from core.chart import Account, deprecate_account as deprecate
    from core.db import fetch

    account = deprecate(g.db, fetch(g.db, Account, account_id, what="Account").code, actor=g.user)
    g.db.commit()
    return account_json(account)
