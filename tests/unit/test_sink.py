"""The local SMTP sink keeps every message, and never makes a lead look bounced."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from nurture.adapters.mail.message import write_message
from nurture.adapters.mail.rendering import RenderedEmail
from nurture.adapters.mail.sink import read_outbox, serve_sink
from nurture.testing import HttpRecorder, free_port


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", to, f"for {to}"
    msg.set_content("hello")
    return msg


class TestSink:
    """Messages land as .eml files; storage trouble is answered 4xx."""

    async def test_keeps_and_lists(self, tmp_path: Path) -> None:
        """Two messages are listed oldest first with their subjects."""
        port = free_port()
        controller = serve_sink(tmp_path / "outbox", "127.0.0.1", port)
        try:
            for to in ("one@example.com", "two@example.com"):
                await aiosmtplib.send(message(to), hostname="127.0.0.1", port=port)
        finally:
            controller.stop()
        assert [m.subject for m in read_outbox(tmp_path / "outbox")] == [
            "for one@example.com",
            "for two@example.com",
        ]

    async def test_folder_removed_meanwhile(self, tmp_path: Path) -> None:
        """If the outbox folder disappears, it is made again: nothing is refused."""
        port = free_port()
        controller = serve_sink(tmp_path / "outbox", "127.0.0.1", port)
        try:
            shutil.rmtree(tmp_path / "outbox")
            await aiosmtplib.send(message("x@example.com"), hostname="127.0.0.1", port=port)
        finally:
            controller.stop()
        assert len(read_outbox(tmp_path / "outbox")) == 1

    async def test_storage_failure_is_temporary(self, tmp_path: Path) -> None:
        """When the folder cannot be written, the answer is 451 (retry), never a 5xx."""
        blocked = tmp_path / "outbox"
        port = free_port()
        controller = serve_sink(blocked, "127.0.0.1", port)
        try:
            shutil.rmtree(blocked)
            blocked.write_text("a file where the folder should be")
            with pytest.raises(aiosmtplib.SMTPResponseException) as info:
                await aiosmtplib.send(message("x@example.com"), hostname="127.0.0.1", port=port)
        finally:
            controller.stop()
        assert info.value.code == 451


class TestUnsubscribeMailbox:
    """A mail to unsubscribe@… with the token in its subject becomes the one-click POST."""

    async def test_mailto_unsubscribe_posts_one_click(self, tmp_path: Path) -> None:
        port = free_port()
        with HttpRecorder() as api:
            controller = serve_sink(tmp_path / "outbox", "127.0.0.1", port, api.url)
            try:
                to_mailbox = message("unsubscribe@example.com")
                to_mailbox.replace_header("Subject", "unsubscribe abc.def")
                to_someone = message("ada@example.com")
                to_someone.replace_header("Subject", "unsubscribe abc.def")
                for msg in (to_mailbox, to_someone):
                    await aiosmtplib.send(msg, hostname="127.0.0.1", port=port)
            finally:
                controller.stop()
        posts = api.posts
        assert posts == [("/u/abc.def", b"List-Unsubscribe=One-Click")]
        assert len(read_outbox(tmp_path / "outbox")) == 2  # both kept all the same


class TestOutboxDisplay:
    """``nurture outbox`` shows names and subjects as a mail client does."""

    def test_encoded_words_are_joined(self, tmp_path: Path) -> None:
        """A display name nurture wrote in several encoded words reads back whole: the
        email package alone would show a space too many where two words meet."""
        name = "Zoë Ünal-Lovelace de la Hopper y Fernández-Ibáñez"
        written = write_message(
            RenderedEmail(subject=f"Hello {name}", text="t", html="<p>t</p>"),
            sender=("a@example.com", "Acme"),
            to=("ada@example.com", name),
            message_id="<1@example.com>",
            sent_at=datetime(2026, 3, 2, tzinfo=UTC),
        )
        (tmp_path / "1.eml").write_bytes(written.data)
        (shown,) = read_outbox(tmp_path)
        assert shown.to == f"{name} <ada@example.com>"
        assert shown.subject == f"Hello {name}"
