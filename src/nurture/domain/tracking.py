"""What opens and clicks mean: the events tracking produces and which of them a person made.

Opens are a weak signal: Apple Mail Privacy Protection and many corporate gateways fetch
every image, so an open is worth little (scoring) and never moves a lead's stage on its own
(``ScoringModel.weak_events``). Security scanners follow links, too, typically within
seconds of delivery. A fetch that looks machine-made is still told to the lead, as the same
event type flagged with the ``machine`` property (why it looks so) and an id of its own, so
the facts log can count machine opens apart; the journey only remembers it (it scores
nothing, is nobody's activity and no sequence hears of it). How the links and the pixel are
signed and rewritten is the adapter's business (:mod:`nurture.adapters.links.tracking`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Network

from pydantic import BaseModel, ConfigDict, IPvAnyNetwork

from nurture.domain.models import LeadEvent
from nurture.domain.schedule import Duration

__all__ = [
    "APPLE_MPP",
    "CLICKED",
    "HEAD_REQUEST",
    "MACHINE",
    "OPENED",
    "SCANNER_AGENT",
    "TRACKING_EVENTS",
    "Fetch",
    "Tracked",
    "TrackingPolicy",
    "click_event",
    "machine_click",
    "machine_open",
    "machine_reason",
    "open_event",
]

OPENED = "email_opened"
CLICKED = "email_clicked"
TRACKING_EVENTS = (OPENED, CLICKED)
"""The event types tracking produces (sequences wait for them, scoring rules count them)."""
MACHINE = "machine"
"""The property of a machine-made open or click: why it looks machine-made."""
HEAD_REQUEST = "HEAD request"
SCANNER_AGENT = "scanner user agent"
APPLE_MPP = "Apple Mail Privacy Protection"

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
    """Clicks this soon after sending are taken for a security scanner's."""
    apple_proxy_agents: tuple[str, ...] = ("Mozilla/5.0",)
    """User agents, compared whole, that Apple Mail Privacy Protection's proxy fetches
    images with: an open with one of them is Apple's prefetch. Since September 2021 it
    sends exactly ``Mozilla/5.0``, which no browser or mail client sends bare."""
    apple_proxy_networks: tuple[IPvAnyNetwork, ...] = (IPv4Network("17.0.0.0/8"),)
    """Apple's own addresses: an open from one of them whose user agent names no device
    (no ``(...)`` comment, or none at all) is Apple's prefetch too. A person on Apple's
    network reading in a browser or Apple Mail sends a full user agent and still counts."""

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


@dataclass(frozen=True)
class Fetch:
    """The request for a pixel or a link, as far as it tells a person from a machine."""

    at: datetime
    method: str = "GET"
    user_agent: str | None = None
    address: str | None = None
    """The client's address (the one a trusted proxy saw), if known."""


def machine_click(tracked: Tracked, fetch: Fetch, policy: TrackingPolicy) -> str | None:
    """Why a click looks like a machine's (a security scanner, a link preview), or
    ``None``: a ``HEAD``, a click within ``scanner_window`` of sending, a scanner's agent."""
    if fetch.method.upper() == "HEAD":
        return HEAD_REQUEST
    window = policy.scanner_window
    if fetch.at - tracked.sent_at < window:
        return f"within {window.total_seconds():g}s of sending"
    if _scanner_agent(fetch.user_agent):
        return SCANNER_AGENT
    return None


def machine_open(fetch: Fetch, policy: TrackingPolicy) -> str | None:
    """Why an open looks like a machine's, or ``None``: a ``HEAD``, Apple's privacy proxy,
    a scanner's user agent (at once or later: a gateway may scan a delayed delivery).
    Timing alone proves nothing here: a person may read an email the moment it arrives."""
    if fetch.method.upper() == "HEAD":
        return HEAD_REQUEST
    if _apple_proxy(fetch, policy):
        return APPLE_MPP
    if _scanner_agent(fetch.user_agent):
        return SCANNER_AGENT
    return None


def _scanner_agent(user_agent: str | None) -> bool:
    return not user_agent or bool(_SCANNER_AGENTS.search(user_agent))


def _apple_proxy(fetch: Fetch, policy: TrackingPolicy) -> bool:
    agent = (fetch.user_agent or "").strip()
    if agent in policy.apple_proxy_agents:
        return True
    return "(" not in agent and _within(fetch.address, policy.apple_proxy_networks)


def _within(address: str | None, networks: tuple[IPvAnyNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False  # no address, or a test client's name
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def machine_reason(event: LeadEvent) -> str | None:
    """Why an open or click was machine-made (its ``machine`` property), ``None`` for a
    person's. Only tracking events can be machine-made: another event's ``machine``
    property is the client's own business."""
    if event.type not in TRACKING_EVENTS:
        return None
    reason = event.properties.get(MACHINE)
    return str(reason) if reason else None


def _event_id(kind: str, machine: str | None, *parts: str) -> str:
    """The event's id: one per email (or link) for a person's fetches, another for any
    machine's, whatever its reason."""
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
    return f"{'machine-' if machine else ''}{kind}:{digest}"


def _properties(tracked: Tracked, machine: str | None) -> dict[str, str]:
    properties = {"email_key": tracked.key, "template": tracked.template, "via": "nurture"}
    return {**properties, MACHINE: machine} if machine else properties


def open_event(tracked: Tracked, at: datetime, machine: str | None = None) -> LeadEvent:
    """``email_opened``, once per email for a person (the same id for every later open)
    and once for machines (an id of their own: a prefetch never uses up the person's);
    ``via`` tells nurture's own measures from opens reported by other tools (prospecting)."""
    return LeadEvent(
        id=_event_id("open", machine, tracked.key),
        type=OPENED,
        occurred_at=at,
        properties=_properties(tracked, machine),
    )


def click_event(tracked: Tracked, at: datetime, machine: str | None = None) -> LeadEvent:
    """``email_clicked``, once per link of an email for a person and once for machines."""
    url = tracked.url or ""
    return LeadEvent(
        id=_event_id("click", machine, tracked.key, url),
        type=CLICKED,
        occurred_at=at,
        properties={**_properties(tracked, machine), "url": url},
    )
