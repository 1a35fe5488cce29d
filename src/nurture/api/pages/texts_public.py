"""The words of the public pages (a form's thank-you and errors, unsubscribe, double opt-in
confirmation, tracking links), per language; keys are ``<page>.<what>``."""

from __future__ import annotations

__all__ = ["PUBLIC"]

PUBLIC: dict[str, dict[str, str]] = {"en": {}, "fr": {}}
