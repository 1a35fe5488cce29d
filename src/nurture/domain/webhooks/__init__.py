"""Outbound webhooks (CRM sync): subscriptions to a lead's events, and the deliveries of
each lead, in order, with their dead letters."""

from nurture.domain.webhooks.model import (
    EVENT_KINDS,
    WEBHOOK_EVENTS,
    DeadLetter,
    Delivery,
    Notice,
    WebhookEvent,
    WebhookSubscription,
    WebhookTiming,
    event_of,
    payload,
    sequence_after,
    webhook_workflow_id,
)
from nurture.domain.webhooks.stream import SEEN_LIMIT, WebhookStream

__all__ = [
    "EVENT_KINDS",
    "SEEN_LIMIT",
    "WEBHOOK_EVENTS",
    "DeadLetter",
    "Delivery",
    "Notice",
    "WebhookEvent",
    "WebhookStream",
    "WebhookSubscription",
    "WebhookTiming",
    "event_of",
    "payload",
    "sequence_after",
    "webhook_workflow_id",
]
