"""Which work goes first when the workers cannot keep up: every Temporal task-queue priority
nurture sets is decided here.

A priority orders the tasks waiting in one task queue (lower goes first; Temporal's default
is 3); while the workers keep up it changes nothing. Two queues back up: the worker's task
queue, where a new lead's first workflow task would wait behind thousands of sequences
waking at a campaign's send window, and the mail queue (``<queue>-mail``), where its
thank-you would wait behind the marketing sends due at that moment.

  1  transactional mail   the thank-you, a confirmation link, an alert to sales: someone
                          is waiting for it now
  2  lead workflows       a new lead's first task sends its thank-you; later ones apply
                          its events and sales actions (set when the API creates the
                          lead, kept across continue-as-new)
  3  Temporal's default   the sales router, and leads created before priorities
  4  sequence workflows   campaigns: a few minutes late is fine
  5  marketing mail       a campaign's backlog drains behind everything else

The other activities inherit the priority of the workflow that runs them. Temporal orders
tasks within each partition of a queue: README, "Scaling out".
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import workflow
from temporalio.common import Priority

with workflow.unsafe.imports_passed_through():
    from nurture.domain.emails import EmailKind

__all__ = ["LEAD", "MAIL", "SEQUENCE"]

LEAD = Priority(priority_key=2)
"""Every lead workflow's tasks, from the API's signal-with-start on."""

SEQUENCE = Priority(priority_key=4)
"""Every sequence workflow's tasks (set when the lead starts one)."""

MAIL: Mapping[EmailKind, Priority] = {
    EmailKind.TRANSACTIONAL: Priority(priority_key=1),
    EmailKind.MARKETING: Priority(priority_key=5),
}
"""The send activity's priority on the mail queue, by the kind of email it sends."""
