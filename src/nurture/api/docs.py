"""The API's docs pages, ``/docs`` (Swagger UI) and ``/redoc``, whole without the internet.

FastAPI's own pages load Swagger UI and Redoc from a CDN (and Redoc its fonts from Google),
so they are blank on a network without one. Here their scripts, style sheet and icon come
from the ``fastapi-offline`` package and the API serves them itself, under
``/docs-assets/<that package's version>/``: a new version is a new path, so the files may be
cached for a year. Redoc uses the system's fonts, and its menu's Redocly logo, which it
would fetch from Redocly's CDN, is a blank image.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

__all__ = ["ASSETS_PATH", "install_docs"]

ASSETS_PATH = f"/docs-assets/{version('fastapi-offline')}"
_FOLDER = Path(fastapi_offline.__file__).parent / "static"
_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
_FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}
_FRESH = {"Cache-Control": "no-cache"}
_REDOC = "redoc.standalone.js"
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_BLANK = b"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
# Swagger UI would send the schema to an online validator and show its badge.
_SWAGGER_PARAMETERS = {"validatorUrl": None}


def _urls(request: Request, app: FastAPI) -> tuple[str, str]:
    """Where the assets and the schema are, behind the app's mount point if any."""
    root = request.scope.get("root_path", "")
    return f"{root}{ASSETS_PATH}", f"{root}{app.openapi_url or '/openapi.json'}"


@cache
def _redoc_script() -> bytes:
    """Redoc's script, without the one thing it would fetch from elsewhere."""
    return (_FOLDER / _REDOC).read_bytes().replace(_REDOC_LOGO, _BLANK)


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets from ``app`` (built with FastAPI's own
    ``docs_url=None, redoc_url=None``)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui(request: Request) -> HTMLResponse:
        assets, schema = _urls(request, app)
        html = get_swagger_ui_html(
            openapi_url=schema,
            title=f"{app.title} - API docs",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=_SWAGGER_PARAMETERS,
        )
        html.headers.update(_FRESH)
        return html

    @router.get("/redoc")
    async def redoc(request: Request) -> HTMLResponse:
        assets, schema = _urls(request, app)
        html = get_redoc_html(
            openapi_url=schema,
            title=f"{app.title} - API reference",
            redoc_js_url=f"{assets}/{_REDOC}",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
        html.headers.update(_FRESH)
        return html

    @router.get(f"{ASSETS_PATH}/{{name}}")
    async def asset(name: str) -> Response:
        if name not in _TYPES:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such docs asset")
        if name == _REDOC:
            return Response(_redoc_script(), media_type=_TYPES[name], headers=_FOREVER)
        return FileResponse(_FOLDER / name, media_type=_TYPES[name], headers=_FOREVER)

    app.include_router(router)
