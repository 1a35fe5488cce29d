"""What an email send is, independent of how it is rendered or delivered, and what every
template sees of the lead (:func:`lead_context`).

Every send carries an idempotency key computed in the workflow from (lead, campaign, step,
occurrence). The send activity checks the ledger for that key before sending and records it
after, and the Message-ID derives from it, so a retry or a crash never mails twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from nurture.domain.models import Lead, Locale

__all__ = [
    "CONFIRM_TEMPLATE",
    "LEAD_CONTEXT_FIELDS",
    "MESSAGE_FAILURE",
    "NON_RETRYABLE",
    "PERMANENT_FAILURE",
    "SEND_IN_PROGRESS",
    "SUPPRESSED",
    "TEMPLATE_FAILURE",
    "ConfirmLink",
    "EmailKind",
    "SalesLink",
    "SendEmailInput",
    "SendEmailResult",
    "failed_send_status",
    "idempotency_key",
    "lead_context",
    "mail_task_queue",
    "message_id_for",
]

PERMANENT_FAILURE = "PermanentSmtpError"
"""Error type of a 5xx answer: not retried, the address is marked bounced."""
SUPPRESSED = "Suppressed"
"""Error type of a send refused by the suppression list: not retried, nothing was sent."""
TEMPLATE_FAILURE = "TemplateError"
"""Error type of a template that cannot render: not retried, fix the template."""
MESSAGE_FAILURE = "MessageError"
"""Error type of a message that cannot be written or sent as it is (an address the relay
cannot take, a header nurture did not build): not retried, recorded as failed."""
NON_RETRYABLE = (PERMANENT_FAILURE, SUPPRESSED, TEMPLATE_FAILURE, MESSAGE_FAILURE)
"""Deterministic outcomes: the same email would fail the same way again."""
SEND_IN_PROGRESS = "SendInProgress"
"""Error type of an attempt that found an earlier one still waiting for the relay's
answer: retried, and the retry finds that answer in the ledger."""

CONFIRM_TEMPLATE = "confirm_subscription"
"""The double opt-in confirmation email (transactional, no marketing content)."""

LEAD_CONTEXT_FIELDS = ("first_name", "last_name", "full_name", "company", "job_title")
"""What a template sees as ``lead``: the same keys whoever sends, so a template written for
one sender renders for every other."""

TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class EmailKind(StrEnum):
    """Transactional mail answers the lead's own request; marketing mail is ours to send."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


def mail_task_queue(task_queue: str) -> str:
    """The task queue of the send activity beside a workflow task queue: its workers take
    only as many sends as they hold relay connections, so a send waits for a connection in
    Temporal's queue, never inside an attempt whose timeout is running."""
    return f"{task_queue}-mail"


def failed_send_status(error_type: str | None) -> Literal["bounced", "skipped", "failed"]:
    """What became of an email whose send raised an error of ``error_type``: a 5xx bounced,
    a suppressed address was skipped (nothing was sent), anything else failed."""
    if error_type == PERMANENT_FAILURE:
        return "bounced"
    return "skipped" if error_type == SUPPRESSED else "failed"


def lead_context(lead: Lead | Mapping[str, Any] | None) -> dict[str, Any]:
    """What templates get as ``lead``: name, company, job title, each ``None`` when unknown,
    and ``custom``, its custom fields by name (``{{ lead.custom.get('budget') }}``; ``{}``
    if none).

    ``lead`` is the lead itself, or its profile as a sequence's snapshot carries it
    (``LeadSnapshot.attributes``), or ``None`` when nothing is known but the address.
    """
    if lead is None:
        return {**dict.fromkeys(LEAD_CONTEXT_FIELDS), "custom": {}}
    if isinstance(lead, Lead):
        known = {name: getattr(lead, name) for name in LEAD_CONTEXT_FIELDS}
        return {**known, "custom": dict(lead.custom)}
    known = {name: lead.get(name) for name in LEAD_CONTEXT_FIELDS}
    return {**known, "custom": dict(lead.get("custom") or {})}


def idempotency_key(lead_id: str, campaign: str, step: str, occurrence: int = 1) -> str:
    """The one key of one email: the same inputs always name the same email."""
    return f"{lead_id}/{campaign}/{step}/{occurrence}"


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the key, so a resend is recognisable as the same email."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class ConfirmLink(BaseModel):
    """The double opt-in link a confirmation email carries (signed by the send activity,
    which holds the secret): which submission it confirms, and until when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    submission_id: str
    expires_at: AwareDatetime


class SalesLink(BaseModel):
    """A mail to sales links to the lead's page (and to the recipient's leads), signed by
    the send activity for whoever the mail goes to: ``rep_id``, or the manager when
    ``None`` (who may look, not act)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rep_id: str | None
    app_url: str
    """Where the pages are served (``app_url`` of ``config/sales.toml``)."""


class SendEmailInput(BaseModel):
    """Everything the send activity needs; the brand and addresses come from the worker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    lead_id: str
    to_email: str
    to_name: str | None = None
    locale: Locale
    template: TemplateName
    kind: EmailKind
    context: dict[str, Any] = {}
    confirm: ConfirmLink | None = None
    """A confirmation email: the activity adds ``confirm_url`` to the context."""
    sales_link: SalesLink | None = None
    """A mail to sales: the activity signs ``sales.link`` and ``sales.desk_link``."""
    track: bool = False
    """Track opens and clicks (marketing mail to a lead that consented)."""


class SendEmailResult(BaseModel):
    """What happened: sent now, already sent by an earlier attempt, or ``unconfirmed``: the
    relay had the whole message but its answer never came, so it is not sent again."""

    model_config = ConfigDict(frozen=True)

    key: str
    status: Literal["sent", "already_sent", "unconfirmed"]
    message_id: str
    sent_at: AwareDatetime
    detail: str | None = None
