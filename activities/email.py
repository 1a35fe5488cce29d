"""``send_email``: render, check the ledger, deliver, record. Never twice for one key."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Literal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.config import Brand
from nurture.emails import (
    PERMANENT_FAILURE,
    TEMPLATE_FAILURE,
    SendEmailInput,
    SendEmailResult,
    message_id_for,
)
from nurture.ledger import LedgerEntry, SendLedger
from nurture.mailer import Mailer, PermanentDeliveryError, address, build_message
from nurture.rendering import TemplateError, TemplateRenderer

__all__ = ["EmailActivities"]


class EmailActivities:
    """The send activity with its adapters: renderer, mailer, ledger and brand."""

    def __init__(
        self, renderer: TemplateRenderer, mailer: Mailer, ledger: SendLedger, brand: Brand
    ) -> None:
        self._renderer = renderer
        self._mailer = mailer
        self._ledger = ledger
        self._brand = brand

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
        message_id = message_id_for(input.key, self._brand.from_email.rpartition("@")[2])
        now = datetime.now(UTC)
        message = self._compose(input, message_id, now)
        try:
            await self._mailer.send(message, self._brand.from_email, [input.to_email])
        except PermanentDeliveryError as exc:
            await self._record(input, message_id, "bounced")
            raise ApplicationError(str(exc), type=PERMANENT_FAILURE, non_retryable=True) from exc
        await self._record(input, message_id, "sent")
        return SendEmailResult.sent(input.key, message_id, now)

    def _compose(self, input: SendEmailInput, message_id: str, now: datetime) -> EmailMessage:
        brand = self._brand
        context = {**input.context, "brand": brand.model_dump(mode="json"), "locale": input.locale}
        try:
            rendered = self._renderer.render(input.template, input.locale, context)
        except TemplateError as exc:
            raise ApplicationError(str(exc), type=TEMPLATE_FAILURE, non_retryable=True) from exc
        return build_message(
            rendered,
            sender=address(brand.from_email, brand.from_name),
            to=address(input.to_email, input.to_name),
            message_id=message_id,
            sent_at=now,
            reply_to=brand.reply_to,
            headers={"X-Nurture-Lead": input.lead_id, "X-Nurture-Template": input.template},
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
