"""What opens and clicks mean: the events tracking produces and which of them count.

Opens are a weak signal: Apple Mail Privacy Protection and many corporate gateways fetch
every image, so an open is worth little (scoring) and never moves a lead's stage on its own
(``ScoringModel.weak_events``). Security scanners follow links, too, typically within
seconds of delivery: a click that early, a ``HEAD``, or a known scanner's user agent is
redirected but not counted. How the links and the pixel are signed and rewritten is the
adapter's business (:mod:`nurture.adapters.links.tracking`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from nurture.domain.models import LeadEvent
from nurture.domain.schedule import Duration

__all__ = [
    "CLICKED",
    "OPENED",
    "TRACKING_EVENTS",
    "Tracked",
    "TrackingPolicy",
    "click_event",
    "open_event",
    "scanner_reason",
]

OPENED = "email_opened"
CLICKED = "email_clicked"
TRACKING_EVENTS = (OPENED, CLICKED)
"""The event types tracking produces (sequences wait for them, scoring rules count them)."""

_SCANNER_AGENTS = re.compile(
    r"bot\b|crawler|spider|preview|scanner|safelinks|barracuda|proofpoint|mimecast|"
    r"trendmicro|forcepoint|symantec|messagelabs|python-requests|curl/|wget/",
    re.IGNORECASE,
)


class TrackingPolicy(BaseModel):
    """``[tracking]`` in ``nurture.toml``: what marketing email measures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opens: bool = True
    """Add the open pixel."""
    clicks: bool = True
    """Send links through the click redirect."""
    require_consent: bool = True
    """Track only leads that gave marketing consent (whose wording should mention it)."""
    scanner_window: Duration = timedelta(seconds=30)
    """Clicks this soon after sending are taken for a security scanner's and not counted."""

    def applies(self, consented: bool) -> bool:
        """Whether a marketing email to a lead with (or without) consent is tracked."""
        return (self.opens or self.clicks) and (consented or not self.require_consent)


@dataclass(frozen=True)
class Tracked:
    """What a verified open or click token says."""

    lead_id: str
    key: str
    template: str
    sent_at: datetime
    url: str | None = None


def scanner_reason(
    tracked: Tracked, now: datetime, method: str, user_agent: str | None, window: timedelta
) -> str | None:
    """Why a click looks like a machine's (a security scanner, a preview), or ``None``."""
    if method.upper() == "HEAD":
        return "HEAD request"
    if now - tracked.sent_at < window:
        return f"within {window.total_seconds():g}s of sending"
    if not user_agent or _SCANNER_AGENTS.search(user_agent):
        return "scanner user agent"
    return None


def _event_id(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


def open_event(tracked: Tracked, at: datetime) -> LeadEvent:
    """``email_opened``, once per email (the same id for every later open); ``via``
    tells nurture's own measures from opens reported by other tools (prospecting)."""
    return LeadEvent(
        id=_event_id("open", tracked.key),
        type=OPENED,
        occurred_at=at,
        properties={"template": tracked.template, "via": "nurture"},
    )


def click_event(tracked: Tracked, at: datetime) -> LeadEvent:
    """``email_clicked``, once per link of an email."""
    url = tracked.url or ""
    return LeadEvent(
        id=_event_id("click", tracked.key, url),
        type=CLICKED,
        occurred_at=at,
        properties={"template": tracked.template, "url": url, "via": "nurture"},
    )
