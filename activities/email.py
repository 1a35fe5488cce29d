"""``send_email``: check the ledger and the suppression list, write the message, deliver it
at most once, record what became of it.

Never twice for one key: the ledger holds the outcome of every attempt, and an attempt
claims the key in it (``sending``) just before the relay gets the end of the message, so
only one attempt can ever complete a message, and a retry knows whether an earlier one may
have reached the relay. A cancelled or timed-out attempt that has not claimed the key
abandons its transfer (the relay discards it); one that has runs to the relay's answer,
records it and reports it (a sequence stopped mid-send learns that its email left). Never a
marketing email to an address that unsubscribed or complained, and nothing at all to one
that hard-bounced or was erased, even when the email was scheduled before (the check is
here, at the moment of sending, not in the workflow). Anything deterministic (a template
that cannot render, an address the relay cannot take, a header nurture did not build) fails
once, recorded and logged, never retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from nurture.adapters.ledger import LedgerEntry, SendLedger, SendStatus, Suppression
from nurture.adapters.links.links import Links
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.links.tracking import Tracker
from nurture.adapters.mail.dkim import DkimSigner
from nurture.adapters.mail.message import MessageError, Outgoing, write_message
from nurture.adapters.mail.rendering import TemplateError, TemplateRenderer
from nurture.adapters.mail.smtp import (
    Mailer,
    PermanentDeliveryError,
    Transfer,
    TransientDeliveryError,
    UnconfirmedDelivery,
)
from nurture.config.project import Brand
from nurture.domain.emails import (
    MESSAGE_FAILURE,
    PERMANENT_FAILURE,
    SEND_IN_PROGRESS,
    SUPPRESSED,
    TEMPLATE_FAILURE,
    EmailKind,
    SendEmailInput,
    SendEmailResult,
    message_id_for,
)
from nurture.domain.tracking import TrackingPolicy
from nurture.services.mail_reports import is_policy_rejection

__all__ = ["EmailActivities"]

T = TypeVar("T")

UNCONFIRMED = (
    "the relay received the whole message but its answer never came; not sent again, "
    "so that it cannot arrive twice"
)


class EmailActivities:
    """The send activity with its adapters: renderer, mailer, ledger (with the suppression
    list), brand, the signed links of the deployment (``secret`` keys address hashes), and
    optionally a DKIM signer. ``answer_timeout`` is how long the mailer waits for the
    relay's answer to a message: an earlier attempt silent for longer is not waited for."""

    def __init__(
        self,
        renderer: TemplateRenderer,
        mailer: Mailer,
        ledger: SendLedger,
        brand: Brand,
        links: Links,
        secret: bytes,
        tracking: TrackingPolicy | None = None,
        dkim: DkimSigner | None = None,
        answer_timeout: float = 30.0,
    ) -> None:
        self._renderer = renderer
        self._mailer = mailer
        self._ledger = ledger
        self._brand = brand
        self._links = links
        self._secret = secret
        self._dkim = dkim
        self._in_doubt_after = timedelta(seconds=2 * answer_timeout + 5)
        policy = tracking or TrackingPolicy(opens=False, clicks=False)
        self._tracker = Tracker(links.signer, links.public_url, policy)

    def activities(self) -> list[Callable[..., Any]]:
        """The activities of the lead's own task queue (``send_email`` too: sends scheduled
        there before the mail task queue existed still complete)."""
        return [self.forget_sends, self.send_email]

    def sending(self) -> list[Callable[..., Any]]:
        """The send activity, for the workers of the mail task queue."""
        return [self.send_email]

    @activity.defn(name="forget_sends")
    async def forget_sends(self, lead_id: str) -> int:
        """Delete a lead's send records (a lead that expired unconfirmed is forgotten)."""
        return await self._ledger.forget_lead(lead_id)

    @activity.defn(name="send_email")
    async def send_email(self, input: SendEmailInput) -> SendEmailResult:
        """Send one email at most once: an earlier attempt's outcome is this one's."""
        async with _heartbeating():
            earlier = await self._ledger.find(input.key)
            if earlier is not None:
                return await self._outcome_of(earlier)
            address_hash = email_hash(input.to_email, self._secret)
            marketing = input.kind is EmailKind.MARKETING
            await self._check_suppression(address_hash, marketing)
            message_id = message_id_for(input.key, self._brand.from_email.rpartition("@")[2])
            now = datetime.now(UTC)
            message = self._message(input, message_id, now, address_hash if marketing else None)
            return await self._transmit(input, message, message_id, address_hash)

    async def _check_suppression(self, address_hash: str, marketing: bool) -> None:
        suppressed = await self._ledger.suppression(address_hash)
        if suppressed is not None and suppressed.blocks(marketing):
            raise ApplicationError(
                f"suppressed: the address is on the suppression list ({suppressed.reason} "
                f"since {suppressed.recorded_at:%Y-%m-%d %H:%M} UTC)",
                type=SUPPRESSED,
                non_retryable=True,
            )

    async def _transmit(
        self, input: SendEmailInput, message: Outgoing, message_id: str, address_hash: str
    ) -> SendEmailResult:
        """Open the transfer, claim the key, then finish (see the module docstring)."""
        try:
            async with self._mailer.transfer(message) as transfer:
                # Stamped now, not when the message was written: how old a claim is must say
                # how long the relay may have had the message, however slow the opening was.
                entry = _entry(input, message_id, "sending")
                holder = await self._claim(entry)
                if holder is not None:  # another attempt got there first: leave it be
                    return await self._outcome_of(holder)
                return await _to_the_end(self._commit(transfer, input, entry, address_hash))
        except PermanentDeliveryError as exc:  # the recipient refused before any data
            entry = _entry(input, message_id, "bounced")
            raise await self._bounced(input, entry, address_hash, exc, claimed=False) from exc
        except MessageError as exc:  # say, an address that needs SMTPUTF8 the relay lacks
            raise self._refused(input, MESSAGE_FAILURE, exc) from exc

    async def _claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        """Claim the key; ``None`` when claimed, else the entry holding it. Cancelled
        meanwhile, a claim that landed is dropped again before the cancellation goes on:
        the transfer is abandoned, so the relay never gets the end of this message."""
        claiming = asyncio.ensure_future(self._ledger.claim(entry))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            await _to_the_end(self._unclaim(claiming, entry.key))
            raise

    async def _unclaim(self, claiming: Awaitable[LedgerEntry | None], key: str) -> None:
        try:
            holder = await claiming
        except Exception:  # the claim never landed: nothing to drop
            return
        if holder is None:
            await self._ledger.release(key)

    async def _commit(
        self, transfer: Transfer, input: SendEmailInput, entry: LedgerEntry, address_hash: str
    ) -> SendEmailResult:
        """End the message and record the relay's answer, whatever it is."""
        try:
            await transfer.commit()
        except UnconfirmedDelivery as exc:
            await self._settle(entry, "unconfirmed")
            activity.logger.warning("email %s: %s (%s)", entry.key, UNCONFIRMED, exc)
            return _result(entry, "unconfirmed", UNCONFIRMED)
        except PermanentDeliveryError as exc:
            raise await self._bounced(input, entry, address_hash, exc, claimed=True) from exc
        except TransientDeliveryError as exc:
            if not await self._ledger.release(entry.key):  # a definite refusal: may resend
                _lost(entry, f"the relay refused it ({exc})")
            raise
        await self._settle(entry, "sent")
        return _result(entry, "sent")

    async def _settle(self, entry: LedgerEntry, status: SendStatus) -> None:
        if not await self._ledger.settle(entry.key, status):
            _lost(entry, f"the relay's answer was {status}")

    async def _outcome_of(self, entry: LedgerEntry) -> SendEmailResult:
        """What an earlier attempt's entry means for this one."""
        if entry.status == "sent":
            return _result(entry, "already_sent")
        if entry.status == "bounced":
            raise ApplicationError(
                "the relay refused this email for good earlier", type=PERMANENT_FAILURE
            )
        if entry.status == "sending":
            if datetime.now(UTC) - entry.recorded_at < self._in_doubt_after:
                raise ApplicationError(
                    "an earlier attempt is waiting for the relay's answer", type=SEND_IN_PROGRESS
                )
            # Its attempt died between handing over the message and recording the answer.
            await self._ledger.settle(entry.key, "unconfirmed")
        return _result(entry, "unconfirmed", UNCONFIRMED)

    async def _bounced(
        self,
        input: SendEmailInput,
        entry: LedgerEntry,
        address_hash: str,
        exc: PermanentDeliveryError,
        *,
        claimed: bool,
    ) -> ApplicationError:
        """Record a 5xx: the email bounced, and the address is suppressed unless the relay
        refused for policy reasons (about the sender, not the address)."""
        if claimed:
            await self._settle(entry, "bounced")
        else:
            await self._ledger.record(entry.model_copy(update={"status": "bounced"}))
        if is_policy_rejection(str(exc)):
            activity.logger.error(
                "relay refused mail for policy reasons, check SPF/DKIM/DMARC: %s", exc
            )
        else:
            await self._ledger.suppress(
                Suppression(
                    address_hash=address_hash, reason="hard_bounce", recorded_at=entry.recorded_at
                )
            )
        return ApplicationError(str(exc), type=PERMANENT_FAILURE, non_retryable=True)

    def _refused(self, input: SendEmailInput, kind: str, exc: Exception) -> ApplicationError:
        """A deterministic failure: logged for an operator, recorded on the lead, not retried."""
        activity.logger.error(
            "email %s (%s) for lead %s not sent: %s", input.key, input.template, input.lead_id, exc
        )
        return ApplicationError(f"{exc}", type=kind, non_retryable=True)

    def _message(
        self, input: SendEmailInput, message_id: str, now: datetime, address_hash: str | None
    ) -> Outgoing:
        """The message to send; any error here is deterministic (no I/O but the templates):
        the same input would fail the same way, so it is never retried."""
        try:
            message = self._compose(input, message_id, now, address_hash)
            if self._dkim is not None:  # the signed bytes are the bytes sent
                message = message.signed(self._dkim.sign(message.data))
        except TemplateError as exc:
            raise self._refused(input, TEMPLATE_FAILURE, exc) from exc
        except OSError:
            raise  # reading a template file can fail for a moment (too many open files)
        except Exception as exc:  # encoding, a header, a bug: the same input fails again
            raise self._refused(input, MESSAGE_FAILURE, exc) from exc
        return message

    def _signed_sales_links(self, input: SendEmailInput, now: datetime) -> dict[str, Any]:
        """The mail's sales summary with its links signed for the recipient: the lead's
        page (``link``) and, for a rep, their leads and the pool (``desk_link``)."""
        link = input.sales_link
        assert link is not None
        sales = dict(input.context.get("sales") or {})
        sales["link"] = self._links.rep_lead_url(link.app_url, link.rep_id, input.lead_id, now)
        sales["desk_link"] = (
            self._links.rep_desk_url(link.app_url, link.rep_id, now) if link.rep_id else None
        )
        return sales

    def _compose(
        self, input: SendEmailInput, message_id: str, now: datetime, address_hash: str | None
    ) -> Outgoing:
        """The message; marketing mail (``address_hash`` given) carries the unsubscribe
        headers and a visible unsubscribe link in both parts."""
        brand = self._brand
        context = {**input.context, "brand": brand.model_dump(mode="json"), "locale": input.locale}
        headers = {"X-Nurture-Lead": input.lead_id, "X-Nurture-Template": input.template}
        footer = None
        if input.confirm is not None:
            link = input.confirm
            url = self._links.confirm_url(
                input.lead_id, link.submission_id, link.expires_at, input.locale
            )
            context["confirm_url"] = url
        if input.sales_link is not None:
            context["sales"] = self._signed_sales_links(input, now)
        if address_hash is not None:
            token = self._links.unsubscribe_token(input.lead_id, address_hash, input.locale)
            context["unsubscribe_url"] = self._links.unsubscribe_url(token)
            headers.update(self._links.unsubscribe_headers(token))
            footer = "_unsubscribe"
        rendered = self._renderer.render(input.template, input.locale, context, footer)
        if address_hash is not None and self._tracker.policy.applies(input.track):
            html = self._tracker.instrument(
                rendered.html,
                lead_id=input.lead_id,
                key=input.key,
                template=input.template,
                sent_at=now,
            )
            rendered = replace(rendered, html=html)
        return write_message(
            rendered,
            sender=(brand.from_email, brand.from_name),
            to=(input.to_email, input.to_name),
            message_id=message_id,
            sent_at=now,
            reply_to=brand.reply_to,
            headers=headers,
        )


def _entry(input: SendEmailInput, message_id: str, status: SendStatus) -> LedgerEntry:
    return LedgerEntry(
        key=input.key,
        lead_id=input.lead_id,
        template=input.template,
        message_id=message_id,
        status=status,
        recorded_at=datetime.now(UTC),
    )


def _lost(entry: LedgerEntry, what: str) -> None:
    """This attempt's claim was taken over as dead (it stalled longer than any answer may
    take), so the ledger says unconfirmed whatever happened: say what did, loudly."""
    activity.logger.error(
        "email %s: %s, but a later attempt had already recorded it as unconfirmed: "
        "check the relay's log for Message-ID %s",
        entry.key,
        what,
        entry.message_id,
    )


def _result(entry: LedgerEntry, status: str, detail: str | None = None) -> SendEmailResult:
    return SendEmailResult.model_validate(
        {
            "key": entry.key,
            "status": status,
            "message_id": entry.message_id,
            "sent_at": entry.recorded_at,
            "detail": detail,
        }
    )


async def _to_the_end(work: Awaitable[T]) -> T:
    """Run ``work`` to its end even if this task is cancelled meanwhile (it is bounded by
    its own timeouts) and give its result: a message the relay has taken is reported as
    sent, to a workflow that asked to stop it too. The caller raises the cancellation where
    there is nothing to report."""
    task = asyncio.ensure_future(work)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # taken in: later awaits are not cancelled for it
    return task.result()


@asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the block runs: a worker that dies mid-send is noticed within the
    heartbeat timeout and the send retried at once, and a cancellation reaches the attempt."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        yield
        return

    async def beat() -> None:
        # The first beat a third of the timeout in: a send that takes less (most) costs no
        # heartbeat at all.
        while True:
            await asyncio.sleep(timeout.total_seconds() / 3)
            activity.heartbeat()

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
