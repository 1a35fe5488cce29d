"""``nurture templates check``: render every email in every locale and report what is wrong.

Each template is rendered twice, for a lead we know everything about and for one we know
only the email of, with and without promised content, so both sides of every ``if`` run.
A missing variable, an empty subject, a link that is not an absolute http(s) URL, or a
template missing from one locale is a problem.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nurture.adapters.mail.rendering import TemplateError, TemplateRenderer
from nurture.config.project import Brand
from nurture.domain.emails import lead_context
from nurture.domain.models import Lead

__all__ = ["check_templates", "template_names"]

_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_TEXT_URL = re.compile(r"https?://[^\s<>\"']+")
_SUFFIX = ".subject.txt"


def template_names(templates_dir: Path) -> dict[str, set[str]]:
    """Template name → the locales that have it (layouts, starting with ``_``, excluded)."""
    names: dict[str, set[str]] = {}
    for subject in templates_dir.glob(f"*/*{_SUFFIX}"):
        name = subject.name.removesuffix(_SUFFIX)
        if not name.startswith("_"):
            names.setdefault(name, set()).add(subject.parent.name)
    return names


def check_templates(templates_dir: Path, brand: Brand) -> list[str]:
    """Every problem found, as ``locale/name: what is wrong``; empty when all is well."""
    renderer = TemplateRenderer(templates_dir)
    locales = renderer.locales()
    problems: list[str] = []
    for name, present in sorted(template_names(templates_dir).items()):
        for locale in locales:
            if locale not in present:
                problems.append(f"{locale}/{name}: missing in this locale")
                continue
            for context in _contexts(brand, locale):
                problems += [f"{locale}/{name}: {p}" for p in _check_one(renderer, name, context)]
    for locale in locales:
        problems += [f"{locale}/_unsubscribe: {p}" for p in _check_footer(renderer, brand, locale)]
    return sorted(set(problems))


def _check_footer(renderer: TemplateRenderer, brand: Brand, locale: str) -> list[str]:
    """The footer every marketing email gets must exist and show the unsubscribe link."""
    try:
        parts = renderer.render_partial("_unsubscribe", locale, _contexts(brand, locale)[0])
    except TemplateError as exc:
        return [str(exc)]
    return [
        f"no unsubscribe link in the {kind} part"
        for kind, body in zip(("text", "html"), parts, strict=True)
        if _UNSUBSCRIBE_URL not in body
    ]


def _check_one(renderer: TemplateRenderer, name: str, context: dict[str, Any]) -> list[str]:
    try:
        email = renderer.render(name, context["locale"], context)
    except TemplateError as exc:
        return [str(exc)]
    problems = [] if email.subject.strip() else ["empty subject"]
    links = _HREF.findall(email.html) + _TEXT_URL.findall(email.text)
    problems += [f"broken link {link!r}" for link in links if not _is_absolute_url(link)]
    for part, body in (("text", email.text), ("html", email.html)):
        if "{{" in body or "{%" in body:
            problems.append(f"unrendered template syntax in the {part} part")
    return problems


def _is_absolute_url(link: str) -> bool:
    if link.startswith("mailto:"):
        return "@" in link
    parts = urlsplit(link)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and " " not in link


_UNSUBSCRIBE_URL = "https://nurture.example.com/u/c2FtcGxl.dG9rZW4"

_LEAD = Lead(
    email="ada@globex.example",
    first_name="Ada",
    last_name="Lovelace",
    company="Globex",
    job_title="Head of Marketing",
)
"""A lead we know everything about that templates see (the other knows only the address)."""

_SALES: dict[str, Any] = {
    "lead_id": "3f2a",
    "email": "ada@globex.example",
    "owner": "Camille Martin",
    "trigger": "hand-raise: demo_requested",
    "score": 52,
    "grade": "A",
    "buying_stage": "decision",
    "explanation": [{"label": "Demo requested", "points": 5}],
    "recent": [{"at": "2026-11-23 10:00", "what": "hand-raise: demo_requested"}],
    "accept_by": "2026-11-23 11:00 UTC",
    "link": "https://nurture.example.com/s/lead/c2FtcGxl.dG9rZW4",
    "desk_link": "https://nurture.example.com/s/desk/c2FtcGxl.dG9rZW4",
}
"""A lead as a sales alert shows it."""


def _contexts(brand: Brand, locale: str) -> list[dict[str, Any]]:
    full: dict[str, Any] = {
        "locale": locale,
        "brand": brand.model_dump(mode="json"),
        "lead": lead_context(_LEAD),
        "offer": {"title": "The buying guide", "url": "https://example.com/guide.pdf"},
        "related": [{"title": "Webinar", "url": "https://example.com/webinar"}],
        "variant": {},
        "form_id": "white-paper",
        "sales": _SALES,
        "unsubscribe_url": _UNSUBSCRIBE_URL,
        "confirm_url": "https://nurture.example.com/c/c2FtcGxl.dG9rZW4",
        "valid_days": 7,
    }
    bare = {
        **full,
        "lead": lead_context(None),
        "offer": None,
        "related": [],
        "sales": _SALES
        | {
            "owner": None,
            "accept_by": None,
            "desk_link": None,
            "explanation": [],
            "recent": [],
        },
    }
    return [full, bare]
