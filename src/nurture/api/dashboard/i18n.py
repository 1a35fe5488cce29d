"""The dashboard's language: which one a request gets (``?lang=``, else the browser's
``Accept-Language``, else the project's default locale, as forms choose theirs), its
words, and how it writes numbers (``1,234.5`` and ``42.1%`` in English, ``1 234,5`` and
``42,1 %`` in French)."""

from __future__ import annotations

from dataclasses import dataclass

from nurture.api.dashboard.texts import TEXTS
from nurture.services.intake import browser_locale

__all__ = ["LANGUAGES", "Language", "choose_language"]

LANGUAGES: tuple[str, ...] = tuple(TEXTS)
_GROUP = {"en": ",", "fr": "\u202f"}  # French groups digits with a narrow no-break space
_DECIMAL = {"en": ".", "fr": ","}
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
_DAYS_FROM = 48.0
"""Durations from this many hours on are written in days."""


def choose_language(asked: str | None, accept_language: str | None, default: str) -> str:
    """``asked`` when the dashboard speaks it, else the browser's first language it
    speaks, else ``default`` if it speaks that, else English."""
    if asked in LANGUAGES:
        return asked
    found = browser_locale(accept_language, LANGUAGES)
    if found is not None:
        return found.split("-")[0]
    return default if default in LANGUAGES else "en"


@dataclass(frozen=True)
class Language:
    """The words and number formats of one language."""

    code: str

    def t(self, key: str, **values: object) -> str:
        """The text ``key`` in this language (English when missing), filled in."""
        text = TEXTS[self.code].get(key) or TEXTS["en"][key]
        return text.format(**values) if values else text

    def value(self, text: str) -> str:
        """A value a report writes as text (a stage, ``(all)``...) in this language."""
        return TEXTS[self.code].get(f"value.{text}") or text

    def number(self, value: float, decimals: int = 0) -> str:
        """``value`` with grouped thousands and ``decimals`` decimals."""
        text = f"{value:,.{decimals}f}"
        return text.translate({ord(","): _GROUP[self.code], ord("."): _DECIMAL[self.code]})

    def count(self, value: float) -> str:
        return self.number(value)

    def rate(self, value: float) -> str:
        """A ratio as a percentage with one decimal."""
        sign = "\u00a0%" if self.code == "fr" else "%"
        return f"{self.number(value * 100, 1)}{sign}"

    def hours(self, value: float) -> str:
        """A duration in hours: hours up to two days, days beyond."""
        if value >= _DAYS_FROM:
            return f"{self.number(value / 24, 1)}\u00a0{self.t('unit.days')}"
        return f"{self.number(value, 1)}\u00a0{self.t('unit.hours')}"

    def money(self, value: float, currency: str, whole: bool = False) -> str:
        """An amount: cents below a thousand (unless ``whole``), whole units from there."""
        digits = self.number(value, 0 if whole or abs(value) >= 1000 else 2)
        symbol = _SYMBOLS.get(currency, currency)
        return f"{symbol}{digits}" if self.code == "en" else f"{digits}\u00a0{symbol}"

    def p_value(self, value: float) -> str:
        return f"<\u00a0{self.number(0.001, 3)}" if value < 0.001 else self.number(value, 3)
