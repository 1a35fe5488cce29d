"""The one way a workflow sends an email: the lead, its sequences and the sales desk all
call :func:`send_email`, which runs the ``send_email`` activity on the mail task queue with
the timeouts and retry policy below, and turns what happened into the ``EmailRecord`` the
lead keeps.

Callers say what to send (a ``SendEmailInput``, whose ``lead`` context comes from
``nurture.domain.emails.lead_context``); nothing else in ``workflows/`` starts the send
activity, sets its timeouts or maps its errors.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from nurture.domain.emails import (
        NON_RETRYABLE,
        SendEmailInput,
        failed_send_status,
        mail_task_queue,
    )
    from nurture.domain.lead.state import EmailRecord

from workflows import activities, priorities

__all__ = ["SEND_HEARTBEAT", "SEND_RETRY", "SEND_TIMEOUT", "send_email"]

SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=list(NON_RETRYABLE),
)
"""Transient SMTP trouble (4xx, lost connection) retries for as long as it takes; what
would fail the same way again (a bounce, a template, a message that cannot be written, a
suppressed address) does not."""

SEND_TIMEOUT = timedelta(minutes=10)
"""One attempt: connecting, the SMTP exchange and the relay's answer, each bounded by the
relay's own timeout (``SMTP_TIMEOUT``). Waiting for a relay connection is not part of it:
the mail workers take only as many sends as they hold connections."""

SEND_HEARTBEAT = timedelta(seconds=10)
"""A worker that dies mid-send is noticed this soon, and the send retried."""


async def send_email(
    input: SendEmailInput, summary: str, *, wait_if_stopped: bool = False
) -> EmailRecord:
    """Send through the ``send_email`` activity on the mail task queue; what became of the
    email, as the lead records it. A deterministic failure (bounce, template, message,
    suppression) is a record too, never an error that would stop the workflow.

    ``wait_if_stopped``: cancelled (a sequence the lead stops), wait for the attempt under
    way to say whether the email left: the record if the relay had it, else an
    ``ActivityError`` caused by a ``CancelledError`` (nothing left, nothing will). Without
    it, a cancelled send is given up at once, whatever became of it."""
    base = {"key": input.key, "template": input.template, "kind": input.kind}
    try:
        result = await workflow.execute_activity(
            activities.send_email,
            input,
            task_queue=mail_task_queue(workflow.info().task_queue),
            # A thank-you waiting for a relay connection goes ahead of a campaign's sends.
            priority=priorities.MAIL[input.kind],
            start_to_close_timeout=SEND_TIMEOUT,
            heartbeat_timeout=SEND_HEARTBEAT,
            retry_policy=SEND_RETRY,
            cancellation_type=(
                ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
                if wait_if_stopped
                else ActivityCancellationType.TRY_CANCEL
            ),
            summary=summary,
        )
    except ActivityError as err:
        cause = err.cause
        if not isinstance(cause, ApplicationError):
            raise
        status = failed_send_status(cause.type)
        return EmailRecord(**base, status=status, at=workflow.now(), detail=cause.message)
    return EmailRecord(
        **base, status="sent", at=result.sent_at, message_id=result.message_id, detail=result.detail
    )
