"""Everything a lead's workflow receives, as one tagged union: ``LeadMessage``.

Each kind is a small model with a ``kind`` tag and its own deduplication ``id``. The
workflow has one signal (``LEAD_SIGNAL``) that takes the union and queues it;
``journey.apply`` applies it. A new kind of message is a model added here and its case in
``journey.apply``.

The ``id`` keeps a message from being applied twice while it is queued (across
continue-as-new too). Where a repeat arriving later must change nothing either, the apply
function remembers the id in the state (``state.remember``), as forms, events and
confirmations do; the others are idempotent by what they record (an email by its key, a
sequence's end by its workflow id).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lead.state import EmailRecord
from nurture.domain.models import FormSubmitted, LeadEvent
from nurture.domain.sales.records import SalesAction
from nurture.domain.sequences.models import SequenceOutcome, SequenceProgress

__all__ = [
    "LEAD_SIGNAL",
    "AddressBounced",
    "EventReceived",
    "FormPosted",
    "Inbound",
    "LeadImported",
    "LeadMessage",
    "OptInConfirmed",
    "OptOut",
    "SalesActed",
    "SequenceEmailed",
    "SequenceEnded",
    "SequenceMoved",
]

_FROZEN = ConfigDict(frozen=True)

LEAD_SIGNAL = "message_received"
"""The name of the lead workflow's one signal, for those that cannot import the workflow
(the sequences it starts, signal-with-start)."""


class FormPosted(BaseModel):
    """A web form was posted for this lead."""

    model_config = _FROZEN

    kind: Literal["form_posted"] = "form_posted"
    form: FormSubmitted

    @property
    def id(self) -> str:
        """The deduplication id: one per submission."""
        return f"form:{self.form.submission_id}"


class EventReceived(BaseModel):
    """A behavioural event happened (page view, click, download...)."""

    model_config = _FROZEN

    kind: Literal["event_received"] = "event_received"
    event: LeadEvent

    @property
    def id(self) -> str:
        """The deduplication id: the event's own."""
        return self.event.id


class SequenceEmailed(BaseModel):
    """A sequence of this lead sent (or failed to send) an email."""

    model_config = _FROZEN

    kind: Literal["sequence_emailed"] = "sequence_emailed"
    record: EmailRecord

    @property
    def id(self) -> str:
        """The deduplication id: one per email and status."""
        return f"seq-email:{self.record.key}:{self.record.status}"


class SequenceEnded(BaseModel):
    """A sequence of this lead finished, reached its goal or exited."""

    model_config = _FROZEN

    kind: Literal["sequence_ended"] = "sequence_ended"
    outcome: SequenceOutcome

    @property
    def id(self) -> str:
        """The deduplication id: one per sequence run."""
        return f"seq-end:{self.outcome.workflow_id}"


class SequenceMoved(BaseModel):
    """A sequence of this lead moved to another step."""

    model_config = _FROZEN

    kind: Literal["sequence_moved"] = "sequence_moved"
    progress: SequenceProgress

    @property
    def id(self) -> str:
        """The deduplication id: one per report of a sequence run."""
        return f"seq-step:{self.progress.workflow_id}:{self.progress.number}"


class SalesActed(BaseModel):
    """A sales action, queued by the workflow's ``act`` update, never signalled: an action
    must pass the update's checks and get its answer."""

    model_config = _FROZEN

    kind: Literal["sales_acted"] = "sales_acted"
    action: SalesAction
    key: str
    """The action's id, or its update's id when it came without one."""

    @property
    def id(self) -> str:
        """The deduplication id: one per action key."""
        return f"sales:{self.key}"


class OptOut(BaseModel):
    """The person asked for no more marketing mail (or complained of it). (The suppression
    list already holds the address; this updates the lead.)"""

    model_config = _FROZEN

    kind: Literal["opted_out"] = "opted_out"
    reason: Literal["unsubscribed", "complaint"] = "unsubscribed"
    channel: Literal["one-click", "page", "mailto", "api", "webhook"]
    """How it came: the mailbox's one-click POST, the page's button, a mail to the
    unsubscribe address, the API, or a provider's complaint report."""
    at: AwareDatetime

    @property
    def id(self) -> str:
        """The deduplication id: one per reason and moment."""
        return f"opt-out:{self.reason}:{self.at.isoformat()}"


class AddressBounced(BaseModel):
    """The address bounces for good, as reported after the send (a provider's webhook)."""

    model_config = _FROZEN

    kind: Literal["address_bounced"] = "address_bounced"
    reason: str
    """What the report said (``hard bounce 5.1.1: no such user``)."""
    at: AwareDatetime

    @property
    def id(self) -> str:
        """The deduplication id: one per moment."""
        return f"bounced:{self.at.isoformat()}"


class OptInConfirmed(BaseModel):
    """The person confirmed from the link mailed to the address (the evidence kept)."""

    model_config = _FROZEN

    kind: Literal["opt_in_confirmed"] = "opt_in_confirmed"
    submission_id: str
    """The submission whose link was used; every pending submission is confirmed."""
    at: AwareDatetime
    ip: str | None = None
    user_agent: str | None = None

    @property
    def id(self) -> str:
        """The deduplication id: one per submission confirmed."""
        return f"confirm:{self.submission_id}"


class LeadImported(BaseModel):
    """A row of an import (``nurture import leads``): a lead known to another tool."""

    model_config = _FROZEN

    kind: Literal["lead_imported"] = "lead_imported"
    row: ImportedLead

    @property
    def id(self) -> str:
        """The deduplication id: one per row content."""
        return f"import:{self.row.key}"


_Told = (
    FormPosted
    | EventReceived
    | SequenceEmailed
    | SequenceEnded
    | SequenceMoved
    | OptOut
    | AddressBounced
    | OptInConfirmed
    | LeadImported
)

LeadMessage = Annotated[_Told, Field(discriminator="kind")]
"""What may be told to a lead through its signal, told apart by ``kind``."""

Inbound = Annotated[_Told | SalesActed, Field(discriminator="kind")]
"""What the lead's loop applies: a message, or a sales action its update queued."""
