"""What ``LeadWorkflow`` is started with, and what erasure asks of it.

These models live here, not in the workflow module, because the workflow sandbox re-imports
its module for every lead: models defined there would rebuild their schemas each time.
"""

from __future__ import annotations

from pydantic import BaseModel

from nurture.domain.factlog.model import Fact
from nurture.domain.lead.messages import Inbound
from nurture.domain.lead.state import LeadState

__all__ = ["ErasureFacts", "LeadWorkflowInput"]


class LeadWorkflowInput(BaseModel):
    """Start or continue-as-new input: the lead, its state and any messages not yet applied."""

    lead_id: str
    state: LeadState | None = None
    pending: list[Inbound] = []
    max_inbound_per_run: int = 2000
    """Continue as new after this many messages even if the server has not suggested it."""
    unwritten_facts: list[Fact] = []
    """Facts the previous run handed to the facts log and did not see written."""


class ErasureFacts(BaseModel):
    """What a lead's workflow knows that erasure needs (its ``erasure_facts`` query)."""

    email: str | None
    workflow_ids: tuple[str, ...]
    """The lead's own workflow and every sequence it started."""
