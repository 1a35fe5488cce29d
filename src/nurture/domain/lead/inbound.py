"""What ``LeadWorkflow`` is started with, and the signals it has yet to apply.

These models live here, not in the workflow module, because the workflow sandbox re-imports
its module for every lead: models defined there would rebuild their schemas each time.
"""

from __future__ import annotations

from pydantic import BaseModel

from nurture.domain.lead.journey import (
    AddressBounced,
    EmailRecord,
    LeadState,
    OptInConfirmed,
    OptOut,
)
from nurture.domain.models import FormSubmitted, LeadEvent
from nurture.domain.sales.records import SalesAction
from nurture.domain.sequences.models import SequenceOutcome, SequenceProgress

__all__ = ["ErasureFacts", "Inbound", "LeadWorkflowInput"]


class Inbound(BaseModel):
    """A signal waiting to be applied: exactly one field is set.

    Signal handlers only queue these; the workflow loop applies them, so a signal arriving
    while the loop awaits something can never be overwritten by the loop's own update.
    """

    form: FormSubmitted | None = None
    event: LeadEvent | None = None
    sequence_email: EmailRecord | None = None
    sequence_ended: SequenceOutcome | None = None
    sequence_progress: SequenceProgress | None = None
    sales_action: SalesAction | None = None
    opt_out: OptOut | None = None
    bounced: AddressBounced | None = None
    confirmed: OptInConfirmed | None = None
    action_key: str | None = None
    """The sales action's id, or its update's id when it came without one."""

    @property
    def id(self) -> str:
        """The deduplication id."""
        if self.form:
            return f"form:{self.form.submission_id}"
        if self.sequence_email:
            return f"seq-email:{self.sequence_email.key}:{self.sequence_email.status}"
        if self.sequence_ended:
            return f"seq-end:{self.sequence_ended.workflow_id}"
        if self.sales_action:
            return f"sales:{self.action_key}"
        if self.bounced:
            return f"bounced:{self.bounced.at.isoformat()}"
        if self.confirmed:
            return f"confirm:{self.confirmed.submission_id}"
        if self.opt_out:
            return f"opt-out:{self.opt_out.reason}:{self.opt_out.at.isoformat()}"
        if self.sequence_progress:
            return f"seq-step:{self.sequence_progress.workflow_id}:{self.sequence_progress.number}"
        assert self.event is not None
        return self.event.id


class LeadWorkflowInput(BaseModel):
    """Start or continue-as-new input: the lead, its state and any signals not yet applied."""

    lead_id: str
    state: LeadState | None = None
    pending: list[Inbound] = []
    max_inbound_per_run: int = 2000
    """Continue as new after this many signals even if the server has not suggested it."""


class ErasureFacts(BaseModel):
    """What a lead's workflow knows that erasure needs (its ``erasure_facts`` query)."""

    email: str | None
    workflow_ids: tuple[str, ...]
    """The lead's own workflow and every sequence it started."""
