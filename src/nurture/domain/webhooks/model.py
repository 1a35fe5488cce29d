"""Outbound webhooks: what a subscription asks for, and what is delivered to it.

A subscription (``[webhooks.<name>]`` in ``nurture.toml``) names the lead events it wants;
each event is one or more kinds of fact of the facts log (``EVENT_KINDS``), so a webhook
says what the log says, with the same deterministic fact id (the idempotency key of the
delivery). Payloads are thin: the lead's id, the event, the fact's data and moment, never
an address or a name; a receiver that needs the contact asks ``GET /v1/leads/{id}``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from nurture.domain.factlog.model import Fact, FactKind
from nurture.domain.identity import workflow_id_for
from nurture.domain.schedule import Duration

__all__ = [
    "EVENT_KINDS",
    "WEBHOOK_EVENTS",
    "DeadLetter",
    "Delivery",
    "Notice",
    "WebhookEvent",
    "WebhookSubscription",
    "WebhookTiming",
    "event_of",
    "payload",
    "sequence_after",
    "webhook_workflow_id",
]

WebhookEvent = Literal[
    "created", "stage_changed", "handed_off", "sales_action", "unsubscribed", "erased"
]
WEBHOOK_EVENTS: tuple[str, ...] = get_args(WebhookEvent)

EVENT_KINDS: dict[str, frozenset[FactKind]] = {
    "created": frozenset({"lead_created"}),
    "stage_changed": frozenset({"stage_changed"}),
    # The hand-off, then who got the lead: a rep, or the pool.
    "handed_off": frozenset({"handed_off", "assigned", "pooled"}),
    "sales_action": frozenset({"sales_action"}),
    # A complaint (a spam report) is an unsubscription the CRM must honour as well.
    "unsubscribed": frozenset({"unsubscribed", "complained"}),
    "erased": frozenset({"erased"}),
}
"""The facts each event stands for."""


def event_of(kind: str) -> WebhookEvent | None:
    """The event a fact of ``kind`` is, or None when no subscription can ask for it."""
    for event, kinds in EVENT_KINDS.items():
        if kind in kinds:
            return event  # type: ignore[return-value]  # the keys are WebhookEvent's values
    return None


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL (https://crm.example.com/in)")
    return value


class WebhookSubscription(BaseModel):
    """One ``[webhooks.<name>]`` table: where to post which events, signed with what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, AfterValidator(_absolute_http_url)]
    secret_env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
    """The name of the environment variable holding the signing secret (never the secret:
    the file is committed, the environment is not)."""
    events: Annotated[tuple[WebhookEvent, ...], Field(min_length=1)]
    timeout: Annotated[float, Field(gt=0, le=60)] = 10.0
    """Seconds one attempt waits for the answer; longer is a failed attempt, tried again."""
    give_up_after: Annotated[Duration, Field(ge=timedelta(minutes=1))] = timedelta(days=1)
    """How long an event is tried again (with growing waits) before it is a dead letter."""

    def wants(self, kind: str) -> bool:
        """Whether a fact of ``kind`` is one of the events asked for."""
        return event_of(kind) in self.events


class WebhookTiming(BaseModel):
    """The pace of a lead's deliveries (tests make it fast)."""

    model_config = ConfigDict(frozen=True)

    first_retry: timedelta = timedelta(seconds=5)
    max_retry_interval: timedelta = timedelta(minutes=30)
    idle: timedelta = timedelta(minutes=10)
    """How long a lead's deliveries wait for more once all is sent before they end: a late
    copy of an event (a retried write) within it is recognised and dropped."""
    max_notices_per_run: int = 500
    """Notices a run takes before it continues as new (once idle), whatever the server
    suggests: its history stays short."""


class Delivery(BaseModel):
    """One event for one subscription: what the delivery activity posts."""

    model_config = ConfigDict(frozen=True)

    subscription: str
    fact: Fact
    sequence: int
    """Increasing per lead, in delivery order (see :func:`sequence_after`)."""
    give_up_after: timedelta

    @property
    def key(self) -> str:
        """The idempotency key (``X-Nurture-Delivery``): the same on every attempt and
        replay, so a receiver can drop what it has already applied."""
        return f"{self.subscription}:{self.fact.id}"


class Notice(BaseModel):
    """New facts of one lead, each with the subscriptions that want it, in order."""

    model_config = ConfigDict(frozen=True)

    lead_id: str
    facts: tuple[tuple[Fact, tuple[tuple[str, timedelta], ...]], ...]
    """Each fact with ``(subscription, give_up_after)`` for each subscription wanting it."""


class DeadLetter(BaseModel):
    """A delivery given up on: kept until an operator replays it."""

    model_config = ConfigDict(frozen=True)

    delivery: Delivery
    attempts: int | None
    error: str
    failed_at: AwareDatetime


def sequence_after(last: int, fact: Fact) -> int:
    """The sequence of the next event of a lead: its moment in microseconds since the
    epoch, or one more than the last when that is not later (facts of one moment). A
    lead's facts come in time order, so the numbers keep increasing even when a lead's
    deliveries start over after an idle period: no state is needed to continue them."""
    return max(last + 1, int(fact.at.timestamp() * 1_000_000))


def payload(delivery: Delivery) -> dict[str, Any]:
    """The JSON body posted for ``delivery``."""
    fact = delivery.fact
    return {
        "id": delivery.key,
        "subscription": delivery.subscription,
        "event": event_of(fact.kind),
        "kind": fact.kind,
        "lead_id": fact.lead_id,
        "occurred_at": fact.at.isoformat(),
        "sequence": delivery.sequence,
        "data": fact.data,
    }


def webhook_workflow_id(lead_id: str) -> str:
    """The workflow delivering a lead's webhooks: under the lead's own id, so erasure,
    which deletes every ``lead-<id>/...`` workflow, deletes it too."""
    return f"{workflow_id_for(lead_id)}/webhooks"
