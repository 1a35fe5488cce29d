"""Hand written messages to an SMTP relay (aiosmtplib) so that none is ever delivered twice.

SMTP has no idempotency: once the relay has the end-of-data mark (the final ``.``) it may
deliver, whether or not its answer ever reaches us. So a send is a :class:`Transfer` in two
steps. Opening it connects, gives the envelope and the whole message but that final mark;
anything going wrong there, a cancellation included, closes the connection and the relay
discards what it had. ``commit`` then writes the mark and waits for the answer: a refusal
is definite (4xx: retry, 5xx: bounced), and an answer that never comes is
:class:`UnconfirmedDelivery`, never a reason to send again. The send activity records in the
ledger that it is about to commit, between the two, so a retry always knows whether an
earlier attempt may have reached the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import aiosmtplib

from nurture.adapters.mail.message import MessageError, Outgoing
from nurture.config.settings import SmtpSettings
from nurture.errors import NurtureError

__all__ = [
    "DeliveryError",
    "Mailer",
    "PermanentDeliveryError",
    "SmtpMailer",
    "Transfer",
    "TransientDeliveryError",
    "UnconfirmedDelivery",
    "deliver",
]

_NETWORK_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


class DeliveryError(NurtureError):
    """The relay did not take the message."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """5xx for the recipient or the message: retrying will not help."""


class TransientDeliveryError(DeliveryError):
    """4xx or a network problem before the end of the data: nothing was delivered, retry."""


class UnconfirmedDelivery(DeliveryError):
    """The relay has the whole message but its answer never came (a timeout, a lost
    connection): it may well deliver it, so sending it again could mean a duplicate."""


class Transfer(Protocol):
    """An open transfer: everything but the end-of-data mark has gone to the relay."""

    async def commit(self) -> None:
        """Send the end-of-data mark and wait for the relay's answer; raise
        :class:`DeliveryError` (a definite refusal) or :class:`UnconfirmedDelivery`."""


class Mailer(Protocol):
    """Something that delivers messages; ``nurture.testing`` has an in-memory one."""

    def transfer(self, message: Outgoing) -> AbstractAsyncContextManager[Transfer]:
        """Open a transfer of ``message``. Leaving the block without ``commit`` (an error, a
        cancellation) abandons it: the relay never gets the end of the data."""


async def deliver(mailer: Mailer, message: Outgoing) -> None:
    """Send ``message`` in one go (no ledger between the two steps)."""
    async with mailer.transfer(message) as transfer:
        await transfer.commit()


class _SmtpTransfer:
    """One message on one pooled connection, from MAIL FROM to the relay's final answer."""

    def __init__(self, client: aiosmtplib.SMTP, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self.reusable = False
        """The relay accepted the message and the connection is in a clean state."""

    async def open(self, message: Outgoing) -> None:
        """MAIL, RCPT, DATA and the message without its end-of-data mark."""
        client = self._client
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        encoding = "ascii"
        options = [f"SIZE={len(message.data)}"] if client.supports_extension("size") else []
        if message.utf8:
            if not client.supports_extension("smtputf8"):
                raise MessageError(
                    f"the relay does not offer SMTPUTF8, which {message.recipient!r} needs"
                )
            options, encoding = [*options, "SMTPUTF8"], "utf-8"
        try:
            await client.mail(message.sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPSenderRefused as exc:
            # The relay refuses our sender (its settings or ours), never the recipient's
            # fault: retried until an operator fixes it, nobody is marked bounced.
            raise TransientDeliveryError(
                f"the relay refused the sender {message.sender}: SMTP {exc.code}: {exc.message}",
                exc.code,
            ) from exc
        try:
            await client.rcpt(message.recipient, encoding=encoding)
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise _classify(exc.code, exc.message) from exc
        response = await client.execute_command(b"DATA")
        if response.code != 354:
            raise _classify(response.code, response.message)
        assert client.protocol is not None
        client.protocol.write(_stuffed(message.data))

    async def commit(self) -> None:
        """Send the end-of-data mark; 250 delivered, 4xx/5xx refused, else unconfirmed."""
        protocol = self._client.protocol
        if protocol is None or not protocol.is_connected:
            raise TransientDeliveryError("the relay closed the connection before the end of data")
        protocol.write(b".\r\n")
        try:
            response = await protocol.read_response(timeout=self._timeout)
        except _NETWORK_ERRORS as exc:
            raise UnconfirmedDelivery(
                f"the relay has the whole message but did not answer ({exc or type(exc).__name__})"
            ) from exc
        if response.code != 250:
            raise _classify(response.code, response.message)
        self.reusable = True


def _stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled (RFC 5321)."""
    data = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", data))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class SmtpMailer:
    """Delivers through an SMTP relay over a small pool of reused connections.

    A pooled connection is checked with NOOP before reuse, so a relay that dropped an idle
    connection costs a reconnect, never a failed or repeated send.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []
        self._slots = asyncio.Semaphore(settings.pool_size)
        # aiosmtplib would look up the FQDN (a DNS query) on every connection.
        self._helo_name = settings.helo_name or socket.getfqdn()

    @property
    def answer_timeout(self) -> float:
        """Seconds a transfer waits for the relay's answer to the end of the data."""
        return self._settings.timeout

    @asynccontextmanager
    async def transfer(self, message: Outgoing) -> AsyncIterator[Transfer]:
        """Open a transfer on a pooled connection (see :class:`Mailer`)."""
        async with self._slots:
            client = await self._checkout()
            pending = _SmtpTransfer(client, self._settings.timeout)
            try:
                try:
                    await pending.open(message)
                except (aiosmtplib.SMTPResponseException, *_NETWORK_ERRORS) as exc:
                    raise _problem(exc) from exc
                yield pending
            finally:
                self._release(client, pending.reusable)

    def _release(self, client: aiosmtplib.SMTP, reusable: bool) -> None:
        """Back to the pool after a delivery; otherwise dropped at once, so a relay holding
        an unfinished message (no end-of-data mark) discards it."""
        if reusable:
            self._idle.append((time.monotonic(), client))
            return
        if isinstance(client.transport, asyncio.Transport):
            client.transport.abort()
        client.close()

    async def close(self) -> None:
        """Say goodbye on every idle connection."""
        while self._idle:
            _, client = self._idle.pop()
            with contextlib.suppress(*_NETWORK_ERRORS):
                await client.quit()

    async def _checkout(self) -> aiosmtplib.SMTP:
        while self._idle:
            since, client = self._idle.pop()
            if time.monotonic() - since < self._settings.max_idle_seconds and client.is_connected:
                try:
                    await client.noop()
                    return client
                except _NETWORK_ERRORS:
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
        except _NETWORK_ERRORS as exc:
            # Refusals while greeting, starting TLS or logging in (even 5xx, such as 535 for
            # bad credentials) are about the relay or our settings, never the recipient:
            # retry until an operator fixes them, and do not mark the lead bounced.
            raise TransientDeliveryError(
                f"cannot use the SMTP relay {s.host}:{s.port}: {exc}"
            ) from exc
        return client


def _problem(exc: BaseException) -> DeliveryError:
    """What a failure before the end of the data means: an answer is classified, anything
    else (a lost connection, a timeout) is transient."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _classify(exc.code, exc.message)
    return TransientDeliveryError(f"SMTP connection problem: {exc or type(exc).__name__}")


def _classify(code: int, text: str) -> DeliveryError:
    detail = f"SMTP {code}: {text}"
    if 500 <= code < 600:
        return PermanentDeliveryError(detail, code)
    return TransientDeliveryError(detail, code)
