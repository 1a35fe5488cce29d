"""``send_email``: check the ledger and the suppression list, render, deliver, record.

Never twice for one key; never a marketing email to an address that unsubscribed or
complained, and nothing at all to one that hard-bounced or was erased, even when the email
was scheduled before (the check is here, at the moment of sending, not in the workflow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Literal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.config import Brand
from nurture.emails import (
    PERMANENT_FAILURE,
    SUPPRESSED,
    TEMPLATE_FAILURE,
    EmailKind,
    SendEmailInput,
    SendEmailResult,
    message_id_for,
)
from nurture.ledger import LedgerEntry, SendLedger, Suppression
from nurture.links import Links
from nurture.mailer import Mailer, PermanentDeliveryError, address, build_message
from nurture.rendering import TemplateError, TemplateRenderer
from nurture.reports import is_policy_rejection
from nurture.tokens import email_hash
from nurture.tracking import Tracker, TrackingPolicy

__all__ = ["EmailActivities"]


class EmailActivities:
    """The send activity with its adapters: renderer, mailer, ledger (with the suppression
    list), brand, and the signed links of the deployment (``secret`` keys address hashes)."""

    def __init__(
        self,
        renderer: TemplateRenderer,
        mailer: Mailer,
        ledger: SendLedger,
        brand: Brand,
        links: Links,
        secret: bytes,
        tracking: TrackingPolicy | None = None,
    ) -> None:
        self._renderer = renderer
        self._mailer = mailer
        self._ledger = ledger
        self._brand = brand
        self._links = links
        self._secret = secret
        policy = tracking or TrackingPolicy(opens=False, clicks=False)
        self._tracker = Tracker(links.signer, links.public_url, policy)

    def activities(self) -> list[Callable[..., Any]]:
        """Every activity of this class, for the worker."""
        return [self.send_email, self.forget_sends]

    @activity.defn(name="forget_sends")
    async def forget_sends(self, lead_id: str) -> int:
        """Delete a lead's send records (a lead that expired unconfirmed is forgotten)."""
        return await self._ledger.forget_lead(lead_id)

    @activity.defn(name="send_email")
    async def send_email(self, input: SendEmailInput) -> SendEmailResult:
        """Send one email once: an earlier successful attempt makes this a no-op."""
        done = await self._ledger.find(input.key)
        if done is not None and done.status == "sent":
            return SendEmailResult(
                key=input.key,
                status="already_sent",
                message_id=done.message_id,
                sent_at=done.recorded_at,
            )
        address_hash = email_hash(input.to_email, self._secret)
        marketing = input.kind is EmailKind.MARKETING
        suppressed = await self._ledger.suppression(address_hash)
        if suppressed is not None and suppressed.blocks(marketing):
            raise ApplicationError(
                f"suppressed: the address is on the suppression list ({suppressed.reason} "
                f"since {suppressed.recorded_at:%Y-%m-%d %H:%M} UTC)",
                type=SUPPRESSED,
                non_retryable=True,
            )
        message_id = message_id_for(input.key, self._brand.from_email.rpartition("@")[2])
        now = datetime.now(UTC)
        message = self._compose(input, message_id, now, address_hash if marketing else None)
        try:
            await self._mailer.send(message, self._brand.from_email, [input.to_email])
        except PermanentDeliveryError as exc:
            await self._record(input, message_id, "bounced")
            if is_policy_rejection(str(exc)):
                activity.logger.error(
                    "relay refused mail for policy reasons, check SPF/DKIM/DMARC: %s", exc
                )
            else:
                await self._ledger.suppress(
                    Suppression(address_hash=address_hash, reason="hard_bounce", recorded_at=now)
                )
            raise ApplicationError(str(exc), type=PERMANENT_FAILURE, non_retryable=True) from exc
        await self._record(input, message_id, "sent")
        return SendEmailResult.sent(input.key, message_id, now)

    def _compose(
        self, input: SendEmailInput, message_id: str, now: datetime, address_hash: str | None
    ) -> EmailMessage:
        """The message; marketing mail (``address_hash`` given) carries the unsubscribe
        headers and a visible unsubscribe link in both parts."""
        brand = self._brand
        context = {**input.context, "brand": brand.model_dump(mode="json"), "locale": input.locale}
        headers = {"X-Nurture-Lead": input.lead_id, "X-Nurture-Template": input.template}
        footer = None
        if input.confirm is not None:
            link = input.confirm
            url = self._links.confirm_url(input.lead_id, link.submission_id, link.expires_at)
            context["confirm_url"] = url
        if address_hash is not None:
            token = self._links.unsubscribe_token(input.lead_id, address_hash)
            context["unsubscribe_url"] = self._links.unsubscribe_url(token)
            headers.update(self._links.unsubscribe_headers(token))
            footer = "_unsubscribe"
        try:
            rendered = self._renderer.render(input.template, input.locale, context, footer)
        except TemplateError as exc:
            raise ApplicationError(str(exc), type=TEMPLATE_FAILURE, non_retryable=True) from exc
        if address_hash is not None and self._tracker.policy.applies(input.track):
            html = self._tracker.instrument(
                rendered.html,
                lead_id=input.lead_id,
                key=input.key,
                template=input.template,
                sent_at=now,
            )
            rendered = replace(rendered, html=html)
        return build_message(
            rendered,
            sender=address(brand.from_email, brand.from_name),
            to=address(input.to_email, input.to_name),
            message_id=message_id,
            sent_at=now,
            reply_to=brand.reply_to,
            headers=headers,
        )

    async def _record(
        self, input: SendEmailInput, message_id: str, status: Literal["sent", "bounced"]
    ) -> None:
        await self._ledger.record(
            LedgerEntry(
                key=input.key,
                lead_id=input.lead_id,
                template=input.template,
                message_id=message_id,
                status=status,
                recorded_at=datetime.now(UTC),
            )
        )
