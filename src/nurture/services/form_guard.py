"""The spam defences a form may have, both invisible to people: a honeypot (a field the
page hides, which only a bot fills) and a minimum fill time (a person takes seconds to fill
a form; a bot posts at once).

The fill time is measured from a signed token the form carries (``nurture_rendered``,
made by ``GET /v1/forms/{form_id}/token`` when the form is shown): signed under its own
purpose, so a bot cannot write itself an old one, and bound to its form. A post caught by
either defence is answered exactly like a good one (a bot learns nothing) but creates and
signals no lead; it is logged and counted.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from nurture.adapters.links.tokens import TokenError, TokenExpired, TokenSigner
from nurture.config.project import RENDERED_FIELD, FormConfig

__all__ = [
    "FORM_RENDERED",
    "SPAM_COUNTS",
    "FormTokenProblem",
    "form_token",
    "spam_reason",
]

log = logging.getLogger("nurture.forms")

FORM_RENDERED = "form-rendered"
"""Token purpose of a form's rendered-at field: ``f`` (form id), ``t`` (Unix seconds)."""
TOKEN_LIFETIME = timedelta(days=1)
"""How long a shown form may wait before it is sent: long enough for any person."""
SPAM_COUNTS: Counter[tuple[str, str]] = Counter()
"""Dropped posts of this process, by form and reason (``honeypot``, ``too_fast``)."""


class FormTokenProblem(ValueError):
    """A form that needs its rendered-at token was posted without a usable one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field = RENDERED_FIELD
        self.message = message


def form_token(signer: TokenSigner, form_id: str, now: datetime) -> str:
    """The value of a form's ``nurture_rendered`` field, shown at ``now``."""
    return signer.sign(
        FORM_RENDERED, {"f": form_id, "t": int(now.timestamp())}, now + TOKEN_LIFETIME
    )


def spam_reason(
    form_id: str,
    form: FormConfig,
    data: dict[str, Any],
    signer: TokenSigner,
    now: datetime,
    *,
    signed: bool,
) -> str | None:
    """Why this post is a bot's (``honeypot``, ``too_fast``), or ``None``; counted and
    logged when it is. :class:`FormTokenProblem` when the form needs a rendered-at token
    and has none that verifies (a signed server post needs none: it is no browser's)."""
    reason = None
    if form.honeypot and str(data.get(form.honeypot) or "").strip():
        reason = "honeypot"
    elif form.min_fill_seconds and not signed:
        shown = _shown_at(form_id, data.get(RENDERED_FIELD), signer, now)
        if (now - shown).total_seconds() < form.min_fill_seconds:
            reason = "too_fast"
    if reason is not None:
        SPAM_COUNTS[form_id, reason] += 1
        log.info(
            "form %s: post dropped as spam (%s), %d so far",
            form_id,
            reason,
            SPAM_COUNTS[form_id, reason],
        )
    return reason


def _shown_at(form_id: str, value: object, signer: TokenSigner, now: datetime) -> datetime:
    how = f"get one from GET /v1/forms/{form_id}/token when the form is shown"
    if not isinstance(value, str) or not value.strip():
        raise FormTokenProblem(f"this form needs its {RENDERED_FIELD} field: {how}")
    try:
        fields = signer.verify(value.strip(), FORM_RENDERED, now)
    except TokenExpired as exc:
        raise FormTokenProblem(
            "the form was shown too long ago: reload the page and send it again"
        ) from exc
    except TokenError as exc:
        raise FormTokenProblem(f"{RENDERED_FIELD} is not a valid token: {how}") from exc
    if fields.get("f") != form_id or not isinstance(fields.get("t"), int):
        raise FormTokenProblem(f"{RENDERED_FIELD} was made for another form: {how}")
    return datetime.fromtimestamp(fields["t"], now.tzinfo)
