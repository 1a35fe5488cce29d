"""Build MIME messages and hand them to an SMTP relay with aiosmtplib.

Addresses are built with ``email.headerregistry.Address`` (a comma in a display name can
never add a recipient) and recipients are always passed explicitly. SMTP answers are sorted
into permanent (5xx: do not retry, the address bounced) and transient (4xx, lost connection,
timeout: retry with backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import socket
import time
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib

from nurture.dkim_signing import DkimSigner
from nurture.errors import NurtureError
from nurture.rendering import RenderedEmail
from nurture.settings import SmtpSettings
from nurture.text import strip_control_characters

__all__ = [
    "WIRE_POLICY",
    "DeliveryError",
    "Mailer",
    "PermanentDeliveryError",
    "SmtpMailer",
    "TransientDeliveryError",
    "address",
    "build_message",
    "wire_bytes",
]


class DeliveryError(NurtureError):
    """The relay did not take the message."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """5xx: retrying will not help."""


class TransientDeliveryError(DeliveryError):
    """4xx or a network problem: retry later."""


class Mailer(Protocol):
    """Something that delivers a message; ``nurture.testing`` has an in-memory one."""

    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        """Deliver or raise :class:`DeliveryError`."""


def build_message(
    rendered: RenderedEmail,
    *,
    sender: Address,
    to: Address,
    message_id: str,
    sent_at: datetime,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = strip_control_characters(rendered.subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        message[name] = strip_control_characters(value)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)
"""How messages are written for the relay: CRLF lines, headers folded only past RFC 5322's
998-character limit. At the usual 78, Python folds a header with a long unbroken token
(``List-Unsubscribe``'s signed URL) into RFC 2047 encoded words, which mailbox providers do
not decode in that header: the one-click unsubscribe would silently not work."""


def wire_bytes(message: EmailMessage, utf8: bool = False) -> bytes:
    """The message as it goes to the relay (SMTPUTF8 when an address needs it)."""
    policy = WIRE_POLICY.clone(utf8=True) if utf8 else WIRE_POLICY
    return message.as_bytes(policy=policy)


def address(email: str, name: str | None = None) -> Address:
    """A header address whose display name cannot inject anything."""
    return Address(display_name=strip_control_characters(name or ""), addr_spec=email)


class SmtpMailer:
    """Delivers through an SMTP relay over a small pool of reused connections.

    A pooled connection is checked with NOOP before reuse, so a relay that dropped an idle
    connection costs a reconnect, never a failed or repeated send.
    """

    def __init__(self, settings: SmtpSettings, dkim: DkimSigner | None = None) -> None:
        self._settings = settings
        self._dkim = dkim
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []
        self._slots = asyncio.Semaphore(settings.pool_size)
        # aiosmtplib would look up the FQDN (a DNS query) on every connection.
        self._helo_name = settings.helo_name or socket.getfqdn()

    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        """Send, and translate every SMTP outcome into success or a typed error."""
        async with self._slots:
            client = await self._checkout()
            utf8 = not (sender + "".join(recipients)).isascii()
            raw = wire_bytes(message, utf8)
            if self._dkim is not None:  # the signed bytes are the bytes sent
                raw = self._dkim.sign(raw) + raw
            try:
                refused, _ = await client.sendmail(
                    sender, recipients, raw, mail_options=["SMTPUTF8"] if utf8 else None
                )
            except aiosmtplib.SMTPRecipientsRefused as exc:
                client.close()
                raise _classify(exc.recipients[0].code, exc.recipients[0].message) from exc
            except aiosmtplib.SMTPResponseException as exc:
                client.close()
                raise _classify(exc.code, exc.message) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                client.close()
                raise TransientDeliveryError(f"SMTP connection problem: {exc}") from exc
            self._idle.append((time.monotonic(), client))
        # Only some recipients refused: send_message returns normally with the refusals.
        for response in refused.values():
            raise _classify(response.code, response.message)

    async def close(self) -> None:
        """Say goodbye on every idle connection."""
        while self._idle:
            _, client = self._idle.pop()
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    async def _checkout(self) -> aiosmtplib.SMTP:
        while self._idle:
            since, client = self._idle.pop()
            if time.monotonic() - since < self._settings.max_idle_seconds and client.is_connected:
                try:
                    await client.noop()
                    return client
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    pass
            client.close()
        return await self._connect()

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            timeout=s.timeout,
            local_hostname=self._helo_name,
            cert_bundle=str(s.ca_file) if s.ca_file else None,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Refusals while greeting, starting TLS or logging in (even 5xx, such as 535 for
            # bad credentials) are about the relay or our settings, never the recipient:
            # retry until an operator fixes them, and do not mark the lead bounced.
            raise TransientDeliveryError(
                f"cannot use the SMTP relay {s.host}:{s.port}: {exc}"
            ) from exc
        return client


def _classify(code: int, text: str) -> DeliveryError:
    detail = f"SMTP {code}: {text}"
    if 500 <= code < 600:
        return PermanentDeliveryError(detail, code)
    return TransientDeliveryError(detail, code)
