"""Render ``templates/emails/<locale>/<name>.{subject.txt,txt,html}`` with sandboxed Jinja.

Two environments, because autoescape must apply to HTML only: text and subjects are never
HTML-escaped, HTML always is. Both are sandboxed (a template cannot reach Python internals)
and strict (a missing variable is an error, not an empty string). Lead data is passed as
values, never compiled, so ``{{ 7*7 }}`` typed in a form stays literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from nurture.domain.text import strip_control_characters
from nurture.errors import NurtureError

__all__ = ["RenderedEmail", "TemplateError", "TemplateRenderer", "before_body_end"]


class TemplateError(NurtureError):
    """A template is missing, refers to an undefined variable or breaks the sandbox."""


@dataclass(frozen=True)
class RenderedEmail:
    """The three parts of a rendered email."""

    subject: str
    text: str
    html: str


class TemplateRenderer:
    """Renders one named email in one locale, falling back to the default locale."""

    def __init__(self, templates_dir: Path, default_locale: str = "en") -> None:
        self._dir = templates_dir
        self.default_locale = default_locale
        loader = jinja2.FileSystemLoader(templates_dir)
        common: dict[str, Any] = {"loader": loader, "undefined": jinja2.StrictUndefined}
        self._text = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True, **common)
        self._html = SandboxedEnvironment(autoescape=True, **common)

    def locales(self) -> list[str]:
        """Locales that have a folder of templates."""
        return sorted(p.name for p in self._dir.iterdir() if p.is_dir())

    def resolve_locale(self, locale: str | None) -> str:
        """``fr-CA`` → ``fr-CA`` if present, else ``fr``, else the default locale."""
        available = set(self.locales())
        for candidate in (locale, (locale or "").split("-")[0]):
            if candidate and candidate in available:
                return candidate
        return self.default_locale

    def render(
        self, name: str, locale: str | None, context: dict[str, Any], footer: str | None = None
    ) -> RenderedEmail:
        """Render subject, text and HTML, or raise :class:`TemplateError` saying which part.

        ``footer`` names a partial (``_unsubscribe``) appended to the text and put at the
        end of the HTML body, so no template can leave it out.
        """
        folder = self.resolve_locale(locale)
        subject = self._one(self._text, f"{folder}/{name}.subject.txt", context)
        text = self._one(self._text, f"{folder}/{name}.txt", context)
        html = self._one(self._html, f"{folder}/{name}.html", context)
        if footer is not None:
            text = (
                text.rstrip("\n") + "\n" + self._one(self._text, f"{folder}/{footer}.txt", context)
            )
            html = before_body_end(html, self._one(self._html, f"{folder}/{footer}.html", context))
        return RenderedEmail(subject=strip_control_characters(subject), text=text, html=html)

    def render_partial(
        self, name: str, locale: str | None, context: dict[str, Any]
    ) -> tuple[str, str]:
        """The text and HTML of a partial (``_unsubscribe``), or :class:`TemplateError`."""
        folder = self.resolve_locale(locale)
        return (
            self._one(self._text, f"{folder}/{name}.txt", context),
            self._one(self._html, f"{folder}/{name}.html", context),
        )

    @staticmethod
    def _one(env: SandboxedEnvironment, path: str, context: dict[str, Any]) -> str:
        try:
            return env.get_template(path).render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {path} does not exist") from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {path}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {path}: {exc}") from exc


def before_body_end(html: str, block: str) -> str:
    """``block`` inserted before the last ``</body>``, or appended when there is none."""
    end = html.lower().rfind("</body>")
    if end < 0:
        return html + block
    return html[:end] + block + html[end:]
