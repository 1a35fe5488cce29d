"""Who may call each operation, as the OpenAPI document says it.

The marks are read from the dependencies each route really runs, not kept by hand: an
operation whose dependencies include a :class:`~nurture.api.deps.ScopeCheck` needs an API key
with that scope (``security: [{"ApiKey": [scope]}]``), and the docs' "Authorize" button sends
the real ``X-API-Key`` header. A route guarded another way (a signed link, a signature)
declares its requirement in ``openapi_extra["security"]`` with the schemes below; any other
operation is public (``security: []``). ``tests/api/test_docs.py`` calls every operation
without credentials, and with keys of each scope, to check that each mark is what the route
enforces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from nurture.api.deps import ScopeCheck
from nurture.api.security import SCOPES

__all__ = [
    "API_KEY",
    "REPORTS_LINK",
    "SECURITY_SCHEMES",
    "SIGNATURE",
    "documented_routes",
    "install_access_marks",
    "required_scopes",
]

API_KEY = "ApiKey"
REPORTS_LINK = "ReportsLink"
SIGNATURE = "Signature"

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": (
            "A key from NURTURE_API_KEYS (`nurture apikey create`). Each operation names the "
            f"scope it needs: {', '.join(f'`{s}`' for s in SCOPES)}; an `admin` key has every "
            "scope. No key or an unknown one: 401; a key without the scope: 403."
        ),
    },
    REPORTS_LINK: {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The signed, expiring token of the link `nurture report open` prints.",
    },
    SIGNATURE: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Nurture-Signature",
        "description": (
            "`sha256=` and the hex HMAC-SHA256, under the shared secret, of "
            '`"<X-Nurture-Timestamp>." + body`; the timestamp (Unix seconds, sent as '
            "`X-Nurture-Timestamp`) must be within five minutes of now."
        ),
    },
}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def required_scopes(route: RouteContext) -> list[str]:
    """The scopes a key needs for ``route`` (its router's checks included): ``["admin"]``
    alone when one check asks for it, since an admin key has every scope."""
    scopes = {
        d.call.scope for d in _dependencies(route.dependant) if isinstance(d.call, ScopeCheck)
    }
    return ["admin"] if "admin" in scopes else sorted(scopes)


def _describe(need: dict[str, list[str]]) -> str:
    """One way to be let in, in words."""
    parts = []
    for name, scopes in need.items():
        if name == API_KEY:
            named = " and ".join(f"`{s}`" for s in scopes)
            parts.append(f"an `X-API-Key` with the {named} scope")
        elif name == REPORTS_LINK:
            parts.append("the signed `token` of the link `nurture report open` prints")
        else:
            parts.append("a signed request (`X-Nurture-Timestamp`, `X-Nurture-Signature`)")
    return " and ".join(parts)


def _requirement(route: RouteContext) -> list[dict[str, list[str]]]:
    """The operation's security requirement: from its scope checks, else as declared."""
    scopes = required_scopes(route)
    declared: list[dict[str, list[str]]] | None = (route.openapi_extra or {}).get("security")
    if scopes and declared is not None:
        raise ValueError(f"{route.path}: a scope check and a declared security requirement")
    if scopes:
        return [{API_KEY: scopes}]
    return declared if declared is not None else []


def _mark(schema: dict[str, Any], routes: list[RouteContext]) -> None:
    for route in routes:
        requirement = _requirement(route)
        unknown = {name for need in requirement for name in need} - set(SECURITY_SCHEMES)
        if unknown:
            raise ValueError(f"{route.path}: unknown security schemes {sorted(unknown)}")
        ways = " or ".join(_describe(need) for need in requirement)
        sentence = f"**Access:** {ways}." if ways else "**Access:** public, no API key."
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            operation["security"] = requirement
            described = operation.get("description")
            operation["description"] = f"{described}\n\n{sentence}" if described else sentence
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES


def documented_routes(app: FastAPI) -> list[RouteContext]:
    """``app``'s operations in its OpenAPI document, with their routers' dependencies."""
    return [
        route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
    ]


def install_access_marks(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document mark every operation public or with what it needs."""
    build = app.openapi
    marked: list[dict[str, Any]] = []  # the document last marked: FastAPI builds a new
    # one when routes are added

    def openapi() -> dict[str, Any]:
        schema = build()
        if not marked or marked[0] is not schema:
            _mark(schema, documented_routes(app))
            marked[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
