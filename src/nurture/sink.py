"""The local SMTP sink: accepts every message and keeps it as an ``.eml`` file.

``nurture dev`` runs it; ``nurture outbox`` lists what it holds. Files are written to a
temporary name and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["MaildirHandler", "OutboxMessage", "read_outbox", "serve_sink"]


class MaildirHandler:
    """aiosmtpd handler that stores each accepted message in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
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
        return "250 Message accepted for delivery"

    @staticmethod
    def _store(tmp: Path, data: bytes, final: Path) -> None:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, final)


@dataclass(frozen=True)
class OutboxMessage:
    """A message held by the sink."""

    path: Path
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def to(self) -> str:
        return str(self.message["To"] or "")

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


def serve_sink(folder: Path, host: str, port: int) -> Controller:
    """Start the sink on ``host:port`` in a background thread; call ``.stop()`` to end it."""
    controller = Controller(MaildirHandler(folder), hostname=host, port=port)
    controller.start()
    return controller
