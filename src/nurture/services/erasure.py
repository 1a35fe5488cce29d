"""Erasure (GDPR art. 17): a lead's workflows and their histories, its send records, its
facts and its messages in the local outbox are deleted; only a keyed hash of the address
stays, on the suppression list, so the person is never mailed again.

The suppression goes first: from that moment the send activity refuses any email to the
address, whatever is still running. Then the lead's facts are deleted, then its workflow
is terminated (it can start no more sequences, write no more facts), then every run of it
and of its sequences is deleted from Temporal, then its send records, then its facts again
(those its last workflow task wrote meanwhile). A fact write still in flight when the
lead was erased (Temporal does not stop an activity attempt already running) lands in a
store that remembers the erasure, and drops it: a fact of an erased lead stamped at or
before its erasure is never stored again.

The reports keep nothing of the lead: its facts are gone, so it leaves every count. What
stays is one anonymous ``erased`` fact per erasure, naming no lead, with a random id and
the day (not the moment, which could be matched with a log) it happened: the reports can
count erasures per day, and nothing else.

Outbound webhooks: the lead's webhook workflow goes with its other workflows (what it had
queued, and its dead letters, are never sent), and then, when a subscription wants
``erased``, a new one is started with that event alone: the CRM learns which lead to
delete, by its id, and nothing else.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from nurture.adapters.factlog import FactStore
from nurture.adapters.ledger import SendLedger, Suppression
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.mail.sink import read_outbox
from nurture.adapters.temporal.gateway import LeadNotFound
from nurture.domain.factlog import Fact
from nurture.domain.lead.input import ErasureFacts
from nurture.domain.webhooks import webhook_workflow_id

__all__ = ["Eraser", "ErasureReport", "erase_lead", "erasure_fact"]


class ErasureReport(BaseModel):
    """What was erased."""

    lead_id: str
    suppressed: bool
    """The address hash is on the suppression list (False only if no address was known)."""
    workflow_runs_deleted: int
    send_records_deleted: int
    facts_deleted: int
    """The lead's facts deleted from the facts log (one anonymous ``erased`` fact is
    added when anything of the lead was found)."""
    outbox_messages_deleted: int


class Eraser(Protocol):
    """The Temporal side of erasure (``TemporalLeadGateway``)."""

    async def erasure_facts(self, lead_id: str) -> ErasureFacts:
        """The lead's address and workflow ids, or :class:`LeadNotFound`."""

    async def delete_workflows(self, lead_id: str, workflow_ids: tuple[str, ...]) -> int:
        """Terminate and delete every run of these workflows; how many runs were deleted."""


async def erase_lead(
    eraser: Eraser,
    ledger: SendLedger,
    fact_store: FactStore,
    outbox: Path | None,
    lead_id: str,
    email: str | None,
    secret: bytes,
    now: datetime,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    announce: Callable[[str, datetime], Awaitable[object]] | None = None,
) -> ErasureReport:
    """Erase one lead. ``email`` may be given when the caller knows it (the lead's workflow
    may already be gone); otherwise it comes from the workflow. Repeating it is harmless,
    and so is retrying one that failed halfway: with the workflow gone, what is left of
    the lead (send records, facts) is still found by its id. :class:`LeadNotFound` only
    when nothing of the lead was found and no address was given.

    ``now`` is when the erasure was asked; ``clock`` tells when the workflows are gone,
    the moment up to which a fact of the lead still being written is dropped.
    ``announce(lead_id, now)`` tells the webhooks (``WebhookPublisher.publish_erasure``)
    once the lead's workflows are gone, on every erasure that does not raise: repeating
    one whose announcement failed announces it (a receiver drops a copy by its id)."""
    try:
        known = await eraser.erasure_facts(lead_id)
        missing: LeadNotFound | None = None
    except LeadNotFound as exc:
        known, missing = ErasureFacts(email=None, workflow_ids=()), exc
    address = email or known.email
    if address:
        address_hash = email_hash(address, secret)
        await ledger.suppress(
            Suppression(address_hash=address_hash, reason="erased", recorded_at=now)
        )
    # The facts go before the workflows (a failure here leaves the lead whole, to erase
    # again) and once more after them, for those a last workflow task wrote meanwhile;
    # the store drops any fact of the lead stamped before that, still being written.
    forgotten = await fact_store.forget_lead(lead_id, now)
    runs = await eraser.delete_workflows(
        lead_id, (*known.workflow_ids, webhook_workflow_id(lead_id))
    )
    sends = await ledger.forget_lead(lead_id)
    forgotten += await fact_store.forget_lead(lead_id, max(now, clock()))
    found = bool(runs or sends or forgotten)
    if missing is not None and not (found or address):
        raise missing
    if found:
        await fact_store.append([erasure_fact(now)])
    if announce is not None:  # again on a repeat: one that failed here is told then
        await announce(lead_id, now)
    return ErasureReport(
        lead_id=lead_id,
        suppressed=bool(address),
        workflow_runs_deleted=runs,
        send_records_deleted=sends,
        facts_deleted=forgotten,
        outbox_messages_deleted=_erase_outbox(outbox, lead_id, address) if outbox else 0,
    )


def erasure_fact(now: datetime) -> Fact:
    """The anonymous trace of one erasure: no lead, a random id (a deterministic one could
    be recomputed from the lead), the day only."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Fact(id=f"erased:{secrets.token_hex(16)}", lead_id="", kind="erased", at=day)


def _erase_outbox(folder: Path, lead_id: str, email: str | None) -> int:
    """Delete the local sink's messages about the lead: sent to it, or about it (alerts)."""
    gone = 0
    for message in read_outbox(folder):
        about = str(message.message["X-Nurture-Lead"] or "") == lead_id
        to_it = email is not None and email.lower() in message.to.lower()
        if about or to_it:
            message.path.unlink(missing_ok=True)
            gone += 1
    return gone
