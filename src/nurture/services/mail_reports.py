"""Bounce and complaint reports that arrive after the send (a provider's webhook).

- a complaint ("this is spam") suppresses marketing mail to the address and unsubscribes
  the lead;
- a hard bounce suppresses all mail to the address and marks the lead bounced;
- soft bounces are counted per address; at ``limit`` within ``window`` the address is
  treated as a hard bounce;
- a rejection for policy or authentication (enhanced status 5.7.x: SPF, DKIM, DMARC,
  blocklists) is about the sender: it is logged for the operator and suppresses nobody.

Every report is idempotent: the suppression list keeps the first record, soft bounces are
counted once per report id, and the lead ignores a condition it already has.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from nurture.adapters.ledger import SendLedger, Suppression, SuppressionReason
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.temporal.gateway import LeadGateway, tell_lead
from nurture.domain.identity import lead_id_for
from nurture.domain.lead.messages import AddressBounced, OptOut
from nurture.domain.models import NormalisedEmail

__all__ = ["MailReport", "ReportOutcome", "apply_report", "is_policy_rejection"]

log = logging.getLogger("nurture.reports")

_POLICY = re.compile(r"(?<![\d.])5\.7\.\d{1,3}\b")


def is_policy_rejection(text: str) -> bool:
    """Whether an SMTP answer or status is a 5.7.x (policy, authentication) rejection."""
    return _POLICY.search(text) is not None


class MailReport(BaseModel):
    """One report from the sending provider, in nurture's own shape (map the provider's
    payload to it in the route that forwards it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:@/+=-]{1,200}$")]
    """The provider's id of the report: a repeat is harmless."""
    type: Literal["bounce", "complaint"]
    email: NormalisedEmail
    bounce_type: Literal["hard", "soft"] | None = None
    """Required for a bounce."""
    status: Annotated[str, Field(pattern=r"^[245]\.\d{1,3}\.\d{1,3}$")] | None = None
    """The enhanced status code (RFC 3463), e.g. ``5.1.1``."""
    diagnostic: Annotated[str, Field(max_length=1000)] | None = None
    occurred_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _bounce_has_a_type(self) -> MailReport:
        if self.type == "bounce" and self.bounce_type is None:
            raise ValueError("bounce_type is required for a bounce: hard or soft")
        if self.type == "complaint" and self.bounce_type is not None:
            raise ValueError("bounce_type only goes with a bounce")
        return self


class ReportOutcome(BaseModel):
    """What a report did."""

    action: Literal["unsubscribed", "suppressed", "counted", "alerted"]
    detail: str
    lead_told: bool = False


async def apply_report(
    report: MailReport,
    ledger: SendLedger,
    gateway: LeadGateway,
    secret: bytes,
    now: datetime,
    soft_limit: int = 3,
    soft_window: timedelta = timedelta(days=30),
) -> ReportOutcome:
    """Apply one report (see the module's rules)."""
    at = min(report.occurred_at or now, now)
    address_hash = email_hash(report.email, secret)
    lead_id = lead_id_for(report.email, secret)
    what = " ".join(filter(None, (report.status, report.diagnostic))) or "no detail"
    if report.type == "complaint":
        await _suppress(ledger, address_hash, "complaint", at)
        told = await tell_lead(
            gateway.tell(lead_id, OptOut(reason="complaint", channel="webhook", at=at))
        )
        return ReportOutcome(action="unsubscribed", detail=f"complaint: {what}", lead_told=told)
    if is_policy_rejection(what):
        log.error("policy rejection reported for a lead's mail (check SPF/DKIM/DMARC): %s", what)
        return ReportOutcome(
            action="alerted", detail=f"policy rejection, nobody suppressed: {what}"
        )
    reason: SuppressionReason = "hard_bounce"
    if report.bounce_type == "soft":
        count = await ledger.count_soft_bounce(address_hash, report.report_id, at, at - soft_window)
        if count < soft_limit:
            return ReportOutcome(
                action="counted", detail=f"soft bounce {count} of {soft_limit}: {what}"
            )
        reason = "soft_bounces"
    await _suppress(ledger, address_hash, reason, at)
    label = "hard bounce" if reason == "hard_bounce" else f"{soft_limit} soft bounces"
    bounced = AddressBounced(reason=f"{label}: {what}", at=at)
    told = await tell_lead(gateway.tell(lead_id, bounced))
    return ReportOutcome(action="suppressed", detail=bounced.reason, lead_told=told)


async def _suppress(
    ledger: SendLedger, address_hash: str, reason: SuppressionReason, at: datetime
) -> None:
    await ledger.suppress(Suppression(address_hash=address_hash, reason=reason, recorded_at=at))
