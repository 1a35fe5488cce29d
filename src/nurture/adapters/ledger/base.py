"""The send ledger's interface: what it records (sends, suppressions) and the protocol every
backend implements; ``nurture.testing.MemoryLedger`` is the in-memory one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel

__all__ = [
    "LedgerEntry",
    "SendLedger",
    "SendStatus",
    "Suppression",
    "SuppressionReason",
    "stronger",
]

SuppressionReason = Literal["unsubscribed", "complaint", "hard_bounce", "soft_bounces", "erased"]
_SCOPE: dict[str, Literal["marketing", "all"]] = {
    "unsubscribed": "marketing",
    "complaint": "marketing",
    "hard_bounce": "all",
    "soft_bounces": "all",
    "erased": "all",
}


class Suppression(BaseModel):
    """An address (by keyed hash) that gets no marketing mail, or no mail at all."""

    address_hash: str
    reason: SuppressionReason
    recorded_at: AwareDatetime

    @property
    def scope(self) -> Literal["marketing", "all"]:
        """``marketing``: transactional mail (what the person asked for) still goes;
        ``all``: nothing goes (the address bounces, or the person was erased)."""
        return _SCOPE[self.reason]

    def blocks(self, marketing: bool) -> bool:
        """Whether this suppression stops an email of that kind."""
        return marketing or self.scope == "all"


def stronger(old: Suppression | None, new: Suppression) -> Suppression:
    """The suppression to keep: a wider scope wins, else the first one stays."""
    if old is None or (old.scope == "marketing" and new.scope == "all"):
        return new
    return old


SendStatus = Literal["sending", "sent", "bounced", "unconfirmed"]


class LedgerEntry(BaseModel):
    """One email's fate: being handed over (``sending``: the relay may have it from
    ``recorded_at`` on), sent, bounced at the relay, or ``unconfirmed`` (the relay had the
    whole message and never answered: not sent again)."""

    key: str
    lead_id: str
    template: str
    message_id: str
    status: SendStatus
    recorded_at: AwareDatetime


class SendLedger(Protocol):
    """Where sends are remembered."""

    async def find(self, key: str) -> LedgerEntry | None:
        """The entry for ``key``, if any."""

    async def record(self, entry: LedgerEntry) -> None:
        """Remember ``entry``; a second record of the same key keeps the first."""

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Record ``entry`` (status ``sending``) unless the key has an entry already:
        ``None`` when this call claimed the key, else the entry that holds it."""

    async def settle(self, key: str, status: SendStatus) -> bool:
        """Give a claimed key (``sending``) its outcome; any other entry stays as it is.
        False when the claim was no longer there (taken over by a later attempt)."""

    async def release(self, key: str) -> bool:
        """Drop a claim (``sending``) whose message never reached the end of the data;
        False when the claim was no longer there."""

    async def suppression(self, address_hash: str) -> Suppression | None:
        """The suppression of an address, if any."""

    async def suppress(self, entry: Suppression) -> Suppression:
        """Add or widen a suppression; returns the one now in force."""

    async def suppress_many(self, entries: Sequence[Suppression]) -> set[str]:
        """Add or widen many suppressions of distinct addresses at once (an imported list);
        returns the address hashes whose suppression this changed."""

    async def forget_lead(self, lead_id: str) -> int:
        """Delete a lead's send records (erasure); returns how many there were."""

    async def count_soft_bounce(
        self, address_hash: str, report_id: str, at: datetime, since: datetime
    ) -> int:
        """Note one soft bounce (once per report id); how many the address had since."""

    async def close(self) -> None:
        """Release connections."""
