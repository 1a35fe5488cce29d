"""The few HTML pages people reach from links in emails (unsubscribe, confirm): small,
self-contained, never cached, never indexed, and never leaking the token as a referrer."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import Path
from fastapi.responses import HTMLResponse

__all__ = ["Token", "invalid_link", "page"]

Token = Annotated[str, Path(max_length=2048, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
"""A signed token in a path (``nurture.adapters.links.tokens``)."""

_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def page(company: str, body: str, status_code: int = 200) -> HTMLResponse:
    """A page titled with the company, around ``body`` (HTML the caller escaped)."""
    html = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(company)}</title></head>"
        '<body style="font-family: Arial, sans-serif; max-width: 36em; margin: 3em auto;">'
        f"{body}</body></html>"
    )
    return HTMLResponse(html, status_code, headers=_HEADERS)


def invalid_link(company: str, what_to_do: str) -> HTMLResponse:
    """The 400 page of a link that does not verify."""
    body = (
        "<h1>This link is not valid</h1><p>It may be incomplete: copy the whole link from the "
        f"email, or {escape(what_to_do)}</p>"
    )
    return page(company, body, 400)
