"""The dashboard's languages: choosing one, its words, and how it writes numbers."""

from __future__ import annotations

import pytest

from nurture.api.dashboard.i18n import Language, choose_language
from nurture.api.dashboard.texts import TEXTS
from nurture.domain.reports import REPORTS, ReportQuery

EN, FR = Language("en"), Language("fr")


class TestChoice:
    """?lang= first, then the browser's languages, then the project's default."""

    @pytest.mark.parametrize(
        ("asked", "header", "default", "chosen"),
        [
            ("fr", "en-US,en", "en", "fr"),
            (None, "fr-CA,fr;q=0.9,en;q=0.5", "en", "fr"),
            (None, "de-DE,en;q=0.8", "fr", "en"),
            (None, "de-DE", "fr", "fr"),
            ("xx", None, "de", "en"),
        ],
    )
    def test_order(self, asked: str | None, header: str | None, default: str, chosen: str) -> None:
        """The first that the dashboard speaks wins; English last of all."""
        assert choose_language(asked, header, default) == chosen


class TestNumbers:
    """English writes 1,234.5 and 42.1%; French 1 234,5 and 42,1 %."""

    def test_counts(self) -> None:
        assert EN.count(1234567) == "1,234,567"
        assert FR.count(1234567) == "1\u202f234\u202f567"

    def test_rates(self) -> None:
        assert EN.rate(0.4213) == "42.1%"
        assert FR.rate(0.4213) == "42,1\u00a0%"

    def test_hours_then_days(self) -> None:
        """Up to two days in hours, beyond in days (j in French)."""
        assert EN.hours(12.34) == "12.3\u00a0h"
        assert FR.hours(72) == "3,0\u00a0j"

    def test_money(self) -> None:
        """Cents below a thousand, the symbol where each language puts it."""
        assert EN.money(55.2, "EUR") == "€55.20"
        assert FR.money(12345.6, "EUR") == "12\u202f346\u00a0€"
        assert EN.money(10, "CHF") == "CHF10.00"

    def test_p_values(self) -> None:
        assert EN.p_value(0.04567) == "0.046"
        assert FR.p_value(0.0001) == "<\u00a00,001"


class TestTexts:
    """Every word the dashboard shows exists in both languages."""

    def test_french_complete(self) -> None:
        """French has every key English has (no silent fallback to English)."""
        assert sorted(set(TEXTS["en"]) - set(TEXTS["fr"])) == ["language.en", "language.fr"]

    def test_every_report_column_has_a_label(self) -> None:
        """The columns of every report's tables have a label in both languages."""
        keys = {
            column.key
            for spec in REPORTS.values()
            for table in spec.tally(ReportQuery()).result().tables()
            for column in table.columns
        }
        for lang in TEXTS:
            assert sorted(k for k in keys if f"col.{k}" not in TEXTS[lang]) == []
