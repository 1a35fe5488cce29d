"""One unsubscribe, however it arrives (one-click POST, the page's button, a mail to the
unsubscribe address): the address goes on the suppression list first, durably, then the
lead hears of it. The suppression alone already stops every marketing email, including
one already scheduled, since the send activity checks it; the lead's workflow then stops
its sequences and shows the lead as unsubscribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from nurture.adapters.ledger import SendLedger, Suppression
from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import TokenSigner
from nurture.adapters.temporal.gateway import LeadGateway, tell_lead
from nurture.domain.lead.messages import OptOut

__all__ = ["Unsubscribed", "unsubscribe"]


@dataclass(frozen=True)
class Unsubscribed:
    """What an unsubscribe did."""

    lead_id: str
    suppression: Suppression
    lead_told: bool
    """False when the lead's workflow is gone (erased) or unreachable: the suppression
    still holds, and the lead is told on the next unsubscribe or never needs to be."""
    locale: str | None = None
    """The lead's locale, when the link carries it (the language of the page)."""


async def unsubscribe(
    token: str,
    channel: Literal["one-click", "page", "mailto"],
    signer: TokenSigner,
    ledger: SendLedger,
    gateway: LeadGateway,
    now: datetime,
) -> Unsubscribed:
    """Unsubscribe the address a token names; :class:`~nurture.adapters.links.tokens.TokenError`
    if the token is not a valid unsubscribe token. Repeating it changes nothing."""
    fields = signer.verify(token, UNSUBSCRIBE, now)
    lead_id, address_hash = str(fields["l"]), str(fields["h"])
    kept = await ledger.suppress(
        Suppression(address_hash=address_hash, reason="unsubscribed", recorded_at=now)
    )
    told = await tell_lead(gateway.tell(lead_id, OptOut(channel=channel, at=kept.recorded_at)))
    locale = fields.get("lc")
    return Unsubscribed(
        lead_id=lead_id,
        suppression=kept,
        lead_told=told,
        locale=locale if isinstance(locale, str) else None,
    )
