"""The send activity against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import EmailActivities
from nurture.emails import PERMANENT_FAILURE, EmailKind, SendEmailInput
from nurture.ledger import SqliteLedger
from nurture.mailer import SmtpMailer, TransientDeliveryError
from nurture.rendering import TemplateRenderer
from nurture.settings import SmtpSettings
from nurture.testing import ScriptedSmtpServer, free_port
from tests.helpers import TEMPLATES, project, submission
from tests.waiting import view_when


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


def make_input(key: str = "L1/form-x/thank_you/1", **changes: object) -> SendEmailInput:
    fields: dict[str, object] = {
        "key": key,
        "lead_id": "L1",
        "to_email": "ada@globex.example",
        "to_name": "Lovelace, Ada",
        "locale": "fr",
        "template": "thank_you",
        "kind": EmailKind.TRANSACTIONAL,
        "context": {
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"},
            "offer": {"title": "Guide", "url": "https://example.com/g.pdf"},
            "related": [],
        },
        **changes,
    }
    return SendEmailInput.model_validate(fields)


_open_mailers: list[SmtpMailer] = []


@pytest_asyncio.fixture(autouse=True)
async def close_mailers() -> AsyncIterator[None]:
    """Close every pooled SMTP connection a test opened, before its server stops."""
    yield
    while _open_mailers:
        await _open_mailers.pop().close()


def smtp_mailer(port: int, timeout: float = 5) -> SmtpMailer:
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, timeout=timeout))
    _open_mailers.append(mailer)
    return mailer


def activities_for(smtp: ScriptedSmtpServer, ledger: SqliteLedger) -> EmailActivities:
    return EmailActivities(
        TemplateRenderer(TEMPLATES), smtp_mailer(smtp.port), ledger, project().brand
    )


class TestSmtpOutcomes:
    """Each SMTP answer becomes the right activity outcome."""

    async def test_accepted_message_is_complete(self, smtp, tmp_path) -> None:
        """multipart/alternative, explicit single recipient, Message-ID from the key."""
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        result = await ActivityEnvironment().run(acts.send_email, make_input())
        assert result.status == "sent" and len(smtp.messages) == 1
        message = smtp.messages[0]
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["Message-ID"] == result.message_id
        # The comma in the display name is quoted, not a second recipient.
        assert message["To"].addresses[0].addr_spec == "ada@globex.example"
        assert len(message["To"].addresses) == 1
        assert "Bonjour Ada" in message.get_body(("plain",)).get_content()

    async def test_550_is_permanent(self, smtp, tmp_path) -> None:
        """A 5xx raises a non-retryable error of the bounce type; nothing is delivered."""
        smtp.script.append("550 5.1.1 No such user")
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, make_input())
        assert info.value.non_retryable and info.value.type == PERMANENT_FAILURE
        assert "550" in str(info.value) and smtp.messages == []

    async def test_451_is_transient(self, smtp, tmp_path) -> None:
        """A 4xx raises a retryable error."""
        smtp.script.append("451 4.3.0 Try again later")
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        with pytest.raises(TransientDeliveryError, match="451"):
            await ActivityEnvironment().run(acts.send_email, make_input())

    async def test_connection_refused_is_transient(self, tmp_path) -> None:
        """No server at all is a transient problem, retried later."""
        mailer = smtp_mailer(free_port(), timeout=2)
        acts = EmailActivities(
            TemplateRenderer(TEMPLATES), mailer, SqliteLedger(tmp_path / "l.db"), project().brand
        )
        with pytest.raises(TransientDeliveryError, match="cannot use the SMTP relay"):
            await ActivityEnvironment().run(acts.send_email, make_input())


class TestLedger:
    """The ledger makes a second send of the same key a no-op."""

    async def test_same_key_sent_once(self, smtp, tmp_path) -> None:
        """Two calls with one key: one message, the second reports already_sent."""
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        first = await ActivityEnvironment().run(acts.send_email, make_input())
        second = await ActivityEnvironment().run(acts.send_email, make_input())
        assert (first.status, second.status) == ("sent", "already_sent")
        assert second.message_id == first.message_id and len(smtp.messages) == 1

    async def test_ledger_survives_a_restart(self, smtp, tmp_path) -> None:
        """A new worker process (new ledger object, same file) still knows the key."""
        await ActivityEnvironment().run(
            activities_for(smtp, SqliteLedger(tmp_path / "l.db")).send_email, make_input()
        )
        again = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        result = await ActivityEnvironment().run(again.send_email, make_input())
        assert result.status == "already_sent" and len(smtp.messages) == 1

    async def test_other_key_is_sent(self, smtp, tmp_path) -> None:
        """Another step is another email."""
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, make_input())
        await ActivityEnvironment().run(acts.send_email, make_input(key="L1/form-x/thank_you/2"))
        assert len(smtp.messages) == 2


class TestRetriesThroughTemporal:
    """Real SMTP plus Temporal's retry policy: 550 is tried once, 451 until it passes."""

    async def test_550_bounces_without_retry(self, harness, smtp) -> None:
        """One attempt, the lead bounced."""
        smtp.script.append("550 5.1.1 No such user")
        mailer = smtp_mailer(smtp.port)
        async with harness(mailer=mailer) as h:
            await h.gateway.submit_form("act-550", submission(at=await h.now()))
            view = await view_when(h, "act-550", lambda v: bool(v.emails))
            assert view.emails[0].status == "bounced" and "550" in (view.emails[0].detail or "")
            assert smtp.attempts == 1 and smtp.messages == []

    async def test_451_retried_then_sent(self, harness, smtp) -> None:
        """Two 451s, then 250: three attempts, one message."""
        smtp.script.extend(["451 4.3.0 later", "451 4.3.0 later"])
        mailer = smtp_mailer(smtp.port)
        async with harness(mailer=mailer) as h:
            await h.gateway.submit_form("act-451", submission(at=await h.now()))
            view = await view_when(h, "act-451", lambda v: bool(v.emails), within=20)
            assert view.emails[0].status == "sent"
            assert smtp.attempts == 3 and len(smtp.messages) == 1


class TestConnectionPool:
    """Connections to the relay are reused, and a dropped one is replaced without a failure."""

    async def test_connection_reused(self, smtp: ScriptedSmtpServer, tmp_path: Path) -> None:
        """Three sends, one EHLO."""
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        for n in range(3):
            await ActivityEnvironment().run(acts.send_email, make_input(key=f"L1/c/s/{n}"))
        assert (len(smtp.messages), smtp.greetings) == (3, 1)

    async def test_dropped_connection_replaced(
        self, smtp: ScriptedSmtpServer, tmp_path: Path
    ) -> None:
        """The relay restarts between two sends: the second still succeeds, once."""
        acts = activities_for(smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, make_input(key="L1/c/s/1"))
        smtp.restart()
        result = await ActivityEnvironment().run(acts.send_email, make_input(key="L1/c/s/2"))
        assert result.status == "sent" and len(smtp.messages) == 2 and smtp.greetings == 2
