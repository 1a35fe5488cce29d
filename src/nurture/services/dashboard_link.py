"""The signed link to the reports dashboard: what ``nurture report open`` prints and what
``GET /reports`` accepts instead of an API key.

The token is made as the links in emails are (``nurture.adapters.links.tokens``), for its
own purpose, ``reports``: an unsubscribe or tracking token never opens the dashboard, and
this one opens nothing else. It carries no field but its expiry, and it grants reading the
reports only (aggregate figures, no address, no lead). It cannot be revoked one by one:
keep its validity short; changing ``NURTURE_ID_KEY`` (the secret every link is signed
with) revokes every link at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from nurture.adapters.links.tokens import TokenSigner

__all__ = ["DEFAULT_VALIDITY", "MAX_VALIDITY", "REPORTS", "dashboard_url", "verify_dashboard_token"]

REPORTS = "reports"
"""The purpose of dashboard tokens."""
DEFAULT_VALIDITY = timedelta(days=7)
MAX_VALIDITY = timedelta(days=90)


def dashboard_url(
    signer: TokenSigner,
    public_url: str,
    now: datetime,
    valid_for: timedelta = DEFAULT_VALIDITY,
    **params: str | None,
) -> str:
    """The dashboard's URL with a token valid for ``valid_for`` from ``now`` (at most
    ``MAX_VALIDITY``), and ``params`` (since, until, by, lang) where given."""
    if not timedelta(0) < valid_for <= MAX_VALIDITY:
        raise ValueError(
            f"a dashboard link is valid for more than 0 and at most {MAX_VALIDITY.days} days"
        )
    token = signer.sign(REPORTS, {}, now + valid_for)
    query = urlencode({**{k: v for k, v in params.items() if v}, "token": token})
    return f"{public_url.rstrip('/')}/reports?{query}"


def verify_dashboard_token(signer: TokenSigner, token: str, now: datetime) -> None:
    """Nothing for a valid dashboard token; ``TokenError`` (``TokenExpired`` when it is
    only too old) for any other."""
    signer.verify(token, REPORTS, now)
