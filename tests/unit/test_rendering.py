"""Rendering: both locales, strict variables, the sandbox, and header safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nurture.adapters.mail.rendering import TemplateError, TemplateRenderer
from tests.helpers import TEMPLATES, project


def context(**lead: Any) -> dict[str, Any]:
    names = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": "Ada Lovelace",
        "company": "Globex",
        "job_title": None,
        **lead,
    }
    return {
        "lead": names,
        "offer": {"title": "The buying guide", "url": "https://example.com/guide.pdf"},
        "related": [{"title": "Webinar", "url": "https://example.com/webinar"}],
        "brand": project().brand.model_dump(mode="json"),
    }


@pytest.fixture
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES, default_locale="en")


class TestShippedTemplates:
    """Thank-you and second conversion render in English and French."""

    @pytest.mark.parametrize(
        ("locale", "greeting", "intro"),
        [("en", "Hello Ada", "here is your copy"), ("fr", "Bonjour Ada", "voici votre exemplaire")],
    )
    def test_thank_you(
        self, renderer: TemplateRenderer, locale: str, greeting: str, intro: str
    ) -> None:
        """The name, the promised link, social links and what comes next are all there."""
        email = renderer.render("thank_you", locale, context())
        for part in (email.text, email.html):
            assert greeting in part and intro in part
            assert "https://example.com/guide.pdf" in part
            assert "https://www.linkedin.com/company/example" in part
        assert "The buying guide" in email.subject

    @pytest.mark.parametrize("locale", ["en", "fr"])
    def test_second_conversion(self, renderer: TemplateRenderer, locale: str) -> None:
        """Related content is suggested."""
        email = renderer.render("second_conversion", locale, context())
        assert "https://example.com/webinar" in email.text
        assert 'href="https://example.com/webinar"' in email.html

    @pytest.mark.parametrize(
        ("locale", "variant", "subject"),
        [
            ("en", "question", "Ada, what are you working on?"),
            ("en", "benefit", "Ada, get only what helps you: one click"),
            ("fr", "question", "Ada, sur quoi travaillez-vous ?"),
            ("fr", "benefit", "Ada, recevez seulement ce qui vous aide : un clic"),
            ("en", None, "Ada, what are you working on?"),
        ],
    )
    def test_needs_subject_follows_the_experiment(
        self, renderer: TemplateRenderer, locale: str, variant: str | None, subject: str
    ) -> None:
        """Discovery v3's subject test: each variant its subject; none (an older version,
        a template preview) the question."""
        variants = {} if variant is None else {"needs-subject": variant}
        email = renderer.render("about_your_needs", locale, {**context(), "variant": variants})
        assert email.subject == subject

    def test_unknown_locale_falls_back(self, renderer: TemplateRenderer) -> None:
        """German has no templates: English is used; fr-CA uses French."""
        assert renderer.resolve_locale("de") == "en"
        assert renderer.resolve_locale("fr-CA") == "fr"


class TestSafety:
    """Lead data is data: escaped in HTML, never executed, never a header break."""

    def test_html_escaped_text_not(self, renderer: TemplateRenderer) -> None:
        """A name with markup is escaped in HTML and kept verbatim in text."""
        email = renderer.render("thank_you", "en", context(first_name="<b>Ada</b>"))
        assert "&lt;b&gt;Ada&lt;/b&gt;" in email.html and "<b>Ada</b>" not in email.html
        assert "Hello <b>Ada</b>," in email.text

    def test_template_syntax_in_data_stays_literal(self, renderer: TemplateRenderer) -> None:
        """``{{ 7*7 }}`` typed into a form is printed, not evaluated."""
        email = renderer.render("thank_you", "en", context(first_name="{{ 7*7 }}"))
        assert "{{ 7*7 }}" in email.text and "49" not in email.text

    def test_subject_loses_control_characters(self, renderer: TemplateRenderer) -> None:
        """Even if a CR/LF reached the context, the subject stays one line."""
        ctx = context()
        ctx["offer"] = {"title": "Guide\r\nBcc: victim@example.com", "url": "https://e.x/g"}
        email = renderer.render("thank_you", "en", ctx)
        assert "\r" not in email.subject and "\n" not in email.subject

    def test_missing_variable_fails(self, tmp_path: Path) -> None:
        """StrictUndefined: a variable nobody passed is an error naming the template."""
        (tmp_path / "en").mkdir()
        for suffix in ("subject.txt", "txt", "html"):
            (tmp_path / "en" / f"t.{suffix}").write_text("{{ lead.nickname }}")
        with pytest.raises(TemplateError, match=r"en/t\.subject\.txt.*nickname"):
            TemplateRenderer(tmp_path).render("t", "en", {"lead": {}})

    def test_sandbox_blocks_python_internals(self, tmp_path: Path) -> None:
        """A template reaching for ``__class__`` is stopped by the sandbox."""
        (tmp_path / "en").mkdir()
        for suffix in ("subject.txt", "txt", "html"):
            (tmp_path / "en" / f"t.{suffix}").write_text(
                "{{ ''.__class__.__mro__[1].__subclasses__() }}"
            )
        with pytest.raises(TemplateError, match=r"unsafe|__class__"):
            TemplateRenderer(tmp_path).render("t", "en", {})

    def test_missing_template_named(self, renderer: TemplateRenderer) -> None:
        """An unknown template name says which file is missing."""
        with pytest.raises(TemplateError, match=r"en/nope\.subject\.txt does not exist"):
            renderer.render("nope", "en", context())
