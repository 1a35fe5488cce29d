"""The local SMTP sink: accepts every message and keeps it as an ``.eml`` file.

``nurture dev`` runs it; ``nurture outbox`` lists what it holds. Files are written to a
temporary name and renamed, so a reader never sees half a message.

It also plays the unsubscribe mailbox: a message to ``unsubscribe@…`` whose subject is
``unsubscribe <token>`` (what a mail client sends for the ``mailto:`` of
``List-Unsubscribe``) is turned into the one-click ``POST`` to ``<public URL>/u/<token>``,
as a mail route does in production.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

__all__ = ["MaildirHandler", "OutboxMessage", "read_outbox", "serve_sink"]

log = logging.getLogger("nurture.sink")


class MaildirHandler:
    """aiosmtpd handler that stores each accepted message in ``folder``."""

    def __init__(self, folder: Path, public_url: str | None = None) -> None:
        self.folder = folder
        self.public_url = public_url.rstrip("/") if public_url else None
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / f".{name}.tmp"
        recipients = ", ".join(envelope.rcpt_tos)
        data = f"X-Sink-Rcpt-To: {recipients}\r\n".encode() + envelope.content
        try:
            await asyncio.to_thread(self._store, tmp, data, self.folder / name)
        except OSError as exc:
            # A storage problem is ours, not the recipient's: answer 4xx so the sender
            # retries, never 5xx, which would mark the lead bounced.
            return f"451 4.3.0 the sink cannot store the message: {exc.strerror}"
        token = _unsubscribe_token(envelope.rcpt_tos, envelope.content)
        if token and self.public_url:
            await _one_click(f"{self.public_url}/u/{token}")
        return "250 Message accepted for delivery"

    @staticmethod
    def _store(tmp: Path, data: bytes, final: Path) -> None:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, final)


def _unsubscribe_token(recipients: list[str], content: bytes) -> str | None:
    """The token of a mail to the unsubscribe mailbox, if this is one."""
    if not any(r.lower().startswith("unsubscribe@") for r in recipients):
        return None
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    words = str(parsed["Subject"] or "").split()
    if len(words) == 2 and words[0].lower() == "unsubscribe":
        return words[1]
    return None


async def _one_click(url: str) -> None:
    """What a mailbox provider does with ``List-Unsubscribe-Post``; failures are logged,
    the message is kept either way."""
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                url,
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        if response.status_code != 200:
            log.warning("unsubscribe by mail refused: %s %s", response.status_code, url)
    except httpx.HTTPError as exc:
        log.warning("unsubscribe by mail: cannot reach the API: %s", exc)


@dataclass(frozen=True)
class OutboxMessage:
    """A message held by the sink."""

    path: Path
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self._decoded("Subject")

    @property
    def to(self) -> str:
        return self._decoded("To")

    def _decoded(self, name: str) -> str:
        """A header as a mail client shows it: RFC 2047 words decoded as the RFC says
        (adjacent words join), which the email package does not do in display names."""
        raw = next((v for k, v in self.message.raw_items() if k.lower() == name.lower()), "")
        return str(make_header(decode_header(re.sub(r"\r?\n", "", str(raw)))))

    def body(self, subtype: str = "plain") -> str:
        """The text (``plain``) or ``html`` part."""
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


def read_outbox(folder: Path) -> list[OutboxMessage]:
    """Every message in the sink, oldest first."""
    if not folder.exists():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages.append(OutboxMessage(path, parsed))
    return messages


def serve_sink(folder: Path, host: str, port: int, public_url: str | None = None) -> Controller:
    """Start the sink on ``host:port`` in a background thread; call ``.stop()`` to end it.
    With ``public_url``, mails to the unsubscribe mailbox unsubscribe through the API."""
    controller = Controller(
        MaildirHandler(folder, public_url), hostname=host, port=port, enable_SMTPUTF8=True
    )
    controller.start()
    return controller
