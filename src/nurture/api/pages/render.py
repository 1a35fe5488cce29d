"""Rendering a page: the language a request gets, the Jinja environment (autoescaped), the
helpers templates use (``t`` for words, ``when`` for moments in the reader's time zone,
``number``), and the headers every page carries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from nurture.api.pages.texts import MONTHS, PAGE_LANGUAGES, TEXTS, WEEKDAYS
from nurture.services.intake import browser_locale

__all__ = ["HEADERS", "PageRenderer", "Token", "page_language", "words"]

Token = Annotated[str, PathParam(max_length=2048, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
"""A signed token in a path (``nurture.adapters.links.tokens``)."""

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # No script, no third party; forms may post (and be redirected) where they say.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}
_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "pages"
_ENV = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_language(asked: str | None, accept_language: str | None, default: str) -> str:
    """``asked`` (a lead's or a rep's locale, ``fr-CA`` counting as ``fr``) when the pages
    speak it, else the browser's first language they speak, else ``default``, else English."""
    for candidate in (asked, (asked or "").split("-")[0]):
        if candidate in PAGE_LANGUAGES:
            return candidate
    found = browser_locale(accept_language, PAGE_LANGUAGES)
    if found is not None:
        return found.split("-")[0]
    default = default.split("-")[0]
    return default if default in PAGE_LANGUAGES else "en"


def words(lang: str, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` (English when that language lacks it), filled in."""
    text = TEXTS.get(lang, {}).get(key) or TEXTS["en"][key]
    return text.format(**values) if values else text


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class _Words:
    """What a template of one language and time zone calls."""

    def __init__(self, lang: str, zone: ZoneInfo) -> None:
        self.lang = lang
        self.zone = zone

    def t(self, key: str, **values: object) -> str:
        return words(self.lang, key, **values)

    def when(self, moment: datetime | None, with_zone: bool = False) -> str:
        """``Mon 30 Nov 2026, 18:04`` (``lun. 30 nov. 2026, 18:04``) in the reader's zone."""
        if moment is None:
            return "-"
        local = moment.astimezone(self.zone)
        day = WEEKDAYS[self.lang][local.weekday()]
        month = MONTHS[self.lang][local.month - 1]
        text = f"{day} {local.day} {month} {local.year}, {local:%H:%M}"
        return f"{text} ({self.zone.key})" if with_zone else text

    def number(self, value: float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        if self.lang == "fr":
            return text.translate({ord(","): "\u202f", ord("."): ","})
        return text


class PageRenderer:
    """Renders the pages of one deployment (its company names every page)."""

    def __init__(self, company: str, default_locale: str) -> None:
        self.company = company
        self.default_locale = default_locale

    def language(self, asked: str | None, accept_language: str | None) -> str:
        return page_language(asked, accept_language, self.default_locale)

    def render(
        self,
        template: str,
        lang: str,
        status_code: int = 200,
        zone: str | None = None,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """``template`` (under ``templates/pages``) in ``lang``, moments in ``zone``."""
        words = _Words(lang, _zone(zone))
        html = _ENV.get_template(template).render(
            lang=lang,
            company=self.company,
            t=words.t,
            when=words.when,
            number=words.number,
            **values,
        )
        return HTMLResponse(html, status_code, headers={**HEADERS, **(headers or {})})

    def message(
        self, lang: str, title: str, text: str, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        """A page saying one thing: ``title`` and ``text`` are already in ``lang``."""
        return self.render("message.html", lang, status_code, title=title, text=text, **values)
