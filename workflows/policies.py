"""Retry and timeout policies shared by the workflows."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from nurture.emails import PERMANENT_FAILURE, TEMPLATE_FAILURE

__all__ = ["SEND_RETRY"]

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[PERMANENT_FAILURE, TEMPLATE_FAILURE],
)
"""Transient SMTP trouble (4xx, lost connection) retries for as long as it takes."""
