"""``nurture templates check`` finds what would break an email before a lead sees it."""

from __future__ import annotations

from pathlib import Path

from nurture.config.template_check import check_templates
from tests.helpers import TEMPLATES, project


def write(folder: Path, locale: str, name: str, subject: str, text: str, html: str) -> None:
    (folder / locale).mkdir(parents=True, exist_ok=True)
    for suffix, body in (("subject.txt", subject), ("txt", text), ("html", html)):
        (folder / locale / f"{name}.{suffix}").write_text(body)


class TestTemplateCheck:
    """Each kind of problem is reported with its locale and template."""

    def test_shipped_templates_are_clean(self) -> None:
        """Every shipped template renders in every locale, for full and bare leads."""
        assert check_templates(TEMPLATES, project().brand) == []

    def test_problems_reported(self, tmp_path: Path) -> None:
        """Missing variable, empty subject, broken link, missing locale, None handling."""
        ok = '<a href="https://example.com">x</a>'
        write(tmp_path, "en", "undefined", "Hi", "{{ lead.nickname }}", ok)
        write(tmp_path, "fr", "undefined", "Salut", "ok", ok)
        write(tmp_path, "en", "blank", "{% if false %}x{% endif %}", "ok", ok)
        write(tmp_path, "fr", "blank", "ok", "ok", ok)
        write(tmp_path, "en", "links", "ok", "see www.example.com", '<a href="/relative">x</a>')
        write(tmp_path, "fr", "links", "ok", "ok", ok)
        write(tmp_path, "en", "english_only", "ok", "ok", ok)
        write(tmp_path, "en", "offer", "{{ offer.title }}", "ok", ok)
        write(tmp_path, "fr", "offer", "{% if offer %}{{ offer.title }}{% endif %}x", "ok", ok)
        (tmp_path / "en" / "_unsubscribe.txt").write_text("{{ unsubscribe_url }}")
        (tmp_path / "en" / "_unsubscribe.html").write_text("Unsubscribe")
        problems = "\n".join(check_templates(tmp_path, project().brand))
        assert "en/_unsubscribe: no unsubscribe link in the html part" in problems
        assert "fr/_unsubscribe: template fr/_unsubscribe.txt does not exist" in problems
        assert "en/undefined:" in problems and "nickname" in problems
        assert "en/blank: empty subject" in problems
        assert "en/links: broken link '/relative'" in problems
        assert "fr/english_only: missing in this locale" in problems
        assert "en/offer:" in problems  # offer is None for the bare lead
        assert "fr/" not in problems.replace("fr/english_only", "").replace("fr/_unsubscribe", "")
