"""Open and click tracking: signed links in marketing email, turned back into lead events.

Every tracked link is ``<public>/r/<token>``, the token signed for the ``click`` purpose
and carrying the target itself: the redirect goes only where the token says, never where
the request says, so the endpoint cannot be used as an open redirect. The open pixel is
``<public>/o/<token>`` under its own ``open`` purpose. Both carry the lead, the email's key
and template and when it was sent; nothing personal.

What opens and clicks mean, and which count, is the domain's (:mod:`nurture.domain.tracking`);
this module only signs, rewrites and reads the links.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime

from nurture.adapters.links.tokens import TokenError, TokenSigner
from nurture.adapters.mail.rendering import before_body_end
from nurture.domain.tracking import Tracked, TrackingPolicy

__all__ = ["CLICK", "OPEN", "PIXEL_GIF", "Tracker"]

OPEN = "open"
"""Token purpose of the open pixel: ``l`` lead, ``k`` email key, ``t`` template, ``s`` sent."""
CLICK = "click"
"""Token purpose of tracked links: the open fields plus ``u``, the target URL."""
MAX_TRACKED_URL = 1000
"""Longer links are left as they are: their token would not fit a URL comfortably."""
PIXEL_GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
"""A transparent 1x1 GIF."""

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


class Tracker:
    """Instruments the HTML of marketing email and reads its tokens back."""

    def __init__(self, signer: TokenSigner, public_url: str, policy: TrackingPolicy) -> None:
        self._signer = signer
        self._public = public_url.rstrip("/")
        self.policy = policy

    def instrument(
        self, html: str, *, lead_id: str, key: str, template: str, sent_at: datetime
    ) -> str:
        """``html`` with its http(s) links through the click redirect and the open pixel
        at the end of the body, as the policy asks. Our own links (unsubscribe) are kept."""
        fields = {"l": lead_id, "k": key, "t": template, "s": int(sent_at.timestamp())}
        if self.policy.clicks:

            def redirect(match: re.Match[str]) -> str:
                target = html_lib.unescape(match.group(3)).strip()
                if not _trackable(target) or target.startswith(self._public):
                    return match.group(0)
                token = self._signer.sign(CLICK, {**fields, "u": target})
                url = html_lib.escape(f"{self._public}/r/{token}")
                return f"{match.group(1)}{match.group(2)}{url}{match.group(2)}"

            html = _HREF.sub(redirect, html)
        if self.policy.opens:
            pixel = html_lib.escape(f"{self._public}/o/{self._signer.sign(OPEN, fields)}")
            html = before_body_end(
                html,
                f'<img src="{pixel}" width="1" height="1" alt="" '
                'style="display:block;width:1px;height:1px;border:0;">',
            )
        return html

    def read(self, token: str, purpose: str, now: datetime) -> Tracked:
        """The fields of an ``open`` or ``click`` token, or :class:`TokenError`."""
        fields = self._signer.verify(token, purpose, now)
        url = fields.get("u")
        if purpose == CLICK and (not isinstance(url, str) or not _trackable(url)):
            # Only a token this deployment signed gets here; still, never redirect anywhere
            # but to an http(s) URL.
            raise TokenError("invalid token: no http(s) target")
        return Tracked(
            lead_id=str(fields["l"]),
            key=str(fields["k"]),
            template=str(fields["t"]),
            sent_at=datetime.fromtimestamp(int(fields["s"]), UTC),
            url=url if isinstance(url, str) else None,
        )


def _trackable(url: str) -> bool:
    return (
        url.lower().startswith(("http://", "https://"))
        and len(url) <= MAX_TRACKED_URL
        and not any(c.isspace() or ord(c) < 32 for c in url)
    )
