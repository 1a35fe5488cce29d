"""Temporal activities: all I/O, through adapters injected by ``worker.py``."""

from activities.config import ConfigActivities
from activities.email import EmailActivities
from activities.facts import FactActivities
from activities.sales import SalesActivities
from activities.webhooks import WebhookActivities

__all__ = [
    "ConfigActivities",
    "EmailActivities",
    "FactActivities",
    "SalesActivities",
    "WebhookActivities",
]
