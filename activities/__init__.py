"""Temporal activities: all I/O, through adapters injected by ``worker.py``."""

from activities.config import ConfigActivities
from activities.email import EmailActivities

__all__ = ["ConfigActivities", "EmailActivities"]
