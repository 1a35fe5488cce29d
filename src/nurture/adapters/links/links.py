"""The links nurture puts in emails, each carrying a signed token (``tokens``).

Double opt-in: the confirmation link ``/c/<token>`` expires with the request it confirms.

Unsubscribe (RFC 8058): ``List-Unsubscribe`` names an https URL and a mailto address;
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` tells mailbox providers that a POST
to the URL unsubscribes at once, with no login or confirmation. A plain GET of the same
URL only shows a page with a button, so a link scanner following it unsubscribes nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from nurture.adapters.links.tokens import TokenSigner
from nurture.config.project import Brand
from nurture.config.settings import Settings

__all__ = [
    "CONFIRM",
    "REP_DESK",
    "REP_LEAD",
    "UNSUBSCRIBE",
    "Links",
    "links_for",
    "rep_desk_path",
    "rep_lead_path",
]

UNSUBSCRIBE = "unsubscribe"
"""Token purpose of unsubscribe links: fields ``l`` (lead id), ``h`` (address hash) and,
when known, ``lc`` (the lead's locale, the language of the pages; older links lack it)."""
CONFIRM = "confirm"
"""Token purpose of double opt-in links: ``l`` (lead id), ``s`` (submission id), optionally
``lc`` (locale); they expire."""
REP_LEAD = "rep-lead"
"""Token purpose of a sales rep's link to one lead: ``r`` (rep id, ``""`` for the manager,
who may look but not act) and ``l`` (lead id); they expire."""
REP_DESK = "rep-desk"
"""Token purpose of a rep's link to their open leads and the pool: ``r``; they expire."""


class Links:
    """Builds the signed URLs of one deployment."""

    def __init__(
        self,
        signer: TokenSigner,
        public_url: str,
        unsubscribe_mailbox: str,
        rep_link_validity: timedelta = timedelta(days=14),
    ) -> None:
        self.signer = signer
        self.public_url = public_url.rstrip("/")
        self._mailbox = unsubscribe_mailbox
        self.rep_link_validity = rep_link_validity

    def rep_lead_url(self, app_url: str, rep_id: str | None, lead_id: str, now: datetime) -> str:
        """The page of one lead for one rep (``None``: the manager), without API key or
        login: the token names both and expires after ``rep_link_validity``."""
        path = rep_lead_path(self.signer, rep_id, lead_id, now + self.rep_link_validity)
        return f"{app_url.rstrip('/')}{path}"

    def rep_desk_url(self, app_url: str, rep_id: str, now: datetime) -> str:
        """A rep's open leads with their deadlines, and the pool they may claim from."""
        path = rep_desk_path(self.signer, rep_id, now + self.rep_link_validity)
        return f"{app_url.rstrip('/')}{path}"

    def unsubscribe_token(self, lead_id: str, address_hash: str, locale: str | None = None) -> str:
        """The token of a lead's unsubscribe links; it never expires (RFC 8058 links must
        keep working for as long as the mail may be read)."""
        return self.signer.sign(UNSUBSCRIBE, _located({"l": lead_id, "h": address_hash}, locale))

    def confirm_url(
        self, lead_id: str, submission_id: str, expires_at: datetime, locale: str | None = None
    ) -> str:
        """The double opt-in link: GET shows a page, POST (its button) confirms."""
        fields = _located({"l": lead_id, "s": submission_id}, locale)
        token = self.signer.sign(CONFIRM, fields, expires_at)
        return f"{self.public_url}/c/{token}"

    def unsubscribe_url(self, token: str) -> str:
        """The https (in production) URL: GET shows a page, POST unsubscribes."""
        return f"{self.public_url}/u/{token}"

    def unsubscribe_mailto(self, token: str) -> str:
        """The mailto alternative: the token travels in the subject."""
        return f"mailto:{self._mailbox}?subject={quote(f'unsubscribe {token}')}"

    def unsubscribe_headers(self, token: str) -> dict[str, str]:
        """``List-Unsubscribe`` (https first, then mailto) and ``List-Unsubscribe-Post``."""
        return {
            "List-Unsubscribe": (
                f"<{self.unsubscribe_url(token)}>, <{self.unsubscribe_mailto(token)}>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }


def _located(fields: dict[str, str], locale: str | None) -> dict[str, str]:
    return {**fields, "lc": locale} if locale else fields


def rep_lead_path(
    signer: TokenSigner, rep_id: str | None, lead_id: str, expires_at: datetime
) -> str:
    """``/s/lead/<token>``: the path of a lead's page for a rep (``None``: the manager)."""
    return f"/s/lead/{signer.sign(REP_LEAD, {'r': rep_id or '', 'l': lead_id}, expires_at)}"


def rep_desk_path(signer: TokenSigner, rep_id: str, expires_at: datetime) -> str:
    """``/s/desk/<token>``: the path of a rep's open leads and the pool."""
    return f"/s/desk/{signer.sign(REP_DESK, {'r': rep_id}, expires_at)}"


def links_for(settings: Settings, brand: Brand) -> Links:
    """The links of the deployment these settings describe."""
    mailbox = settings.unsubscribe_mailbox or f"unsubscribe@{brand.from_email.rpartition('@')[2]}"
    validity = timedelta(days=settings.rep_link_days)
    return Links(TokenSigner(settings.secret()), settings.public_url, mailbox, validity)
