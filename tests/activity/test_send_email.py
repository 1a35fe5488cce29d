"""The send activity against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import EmailActivities
from nurture.adapters.ledger import SendLedger, SqliteLedger, Suppression
from nurture.adapters.links.links import UNSUBSCRIBE
from nurture.adapters.links.tokens import email_hash
from nurture.adapters.links.tracking import CLICK, Tracker
from nurture.adapters.mail.smtp import TransientDeliveryError
from nurture.domain.emails import PERMANENT_FAILURE, SUPPRESSED, EmailKind, SendEmailInput
from nurture.domain.tracking import TrackingPolicy
from nurture.testing import ScriptedSmtpServer, free_port
from tests.conftest import MailerFor
from tests.helpers import (
    PUBLIC_URL,
    SECRET,
    email_activities,
    links,
    submission,
    thank_you_input,
)
from tests.waiting import view_when


def activities_for(
    mailer_for: MailerFor, smtp: ScriptedSmtpServer, ledger: SendLedger
) -> EmailActivities:
    return email_activities(mailer_for(smtp.port), ledger)


class TestSmtpOutcomes:
    """Each SMTP answer becomes the right activity outcome."""

    async def test_accepted_message_is_complete(self, smtp, tmp_path, mailer_for) -> None:
        """multipart/alternative, explicit single recipient, Message-ID from the key."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        result = await ActivityEnvironment().run(acts.send_email, thank_you_input())
        assert result.status == "sent" and len(smtp.messages) == 1
        message = smtp.messages[0]
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["Message-ID"] == result.message_id
        # The comma in the display name is quoted, not a second recipient.
        assert message["To"].addresses[0].addr_spec == "ada@globex.example"
        assert len(message["To"].addresses) == 1
        assert "Bonjour Ada" in message.get_body(("plain",)).get_content()

    async def test_550_is_permanent(self, smtp, tmp_path, mailer_for) -> None:
        """A 5xx raises a non-retryable error of the bounce type; nothing is delivered."""
        smtp.script.append("550 5.1.1 No such user")
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, thank_you_input())
        assert info.value.non_retryable and info.value.type == PERMANENT_FAILURE
        assert "550" in str(info.value) and smtp.messages == []

    async def test_451_is_transient(self, smtp, tmp_path, mailer_for) -> None:
        """A 4xx raises a retryable error."""
        smtp.script.append("451 4.3.0 Try again later")
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        with pytest.raises(TransientDeliveryError, match="451"):
            await ActivityEnvironment().run(acts.send_email, thank_you_input())

    async def test_connection_refused_is_transient(self, tmp_path, mailer_for) -> None:
        """No server at all is a transient problem, retried later."""
        mailer = mailer_for(free_port(), timeout=2)
        acts = email_activities(mailer, SqliteLedger(tmp_path / "l.db"))
        with pytest.raises(TransientDeliveryError, match="cannot use the SMTP relay"):
            await ActivityEnvironment().run(acts.send_email, thank_you_input())


class TestLedger:
    """The ledger makes a second send of the same key a no-op."""

    async def test_same_key_sent_once(self, smtp, tmp_path, mailer_for) -> None:
        """Two calls with one key: one message, the second reports already_sent."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        first = await ActivityEnvironment().run(acts.send_email, thank_you_input())
        second = await ActivityEnvironment().run(acts.send_email, thank_you_input())
        assert (first.status, second.status) == ("sent", "already_sent")
        assert second.message_id == first.message_id and len(smtp.messages) == 1

    async def test_ledger_survives_a_restart(self, smtp, tmp_path, mailer_for) -> None:
        """A new worker process (new ledger object, same file) still knows the key."""
        await ActivityEnvironment().run(
            activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db")).send_email,
            thank_you_input(),
        )
        again = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        result = await ActivityEnvironment().run(again.send_email, thank_you_input())
        assert result.status == "already_sent" and len(smtp.messages) == 1

    async def test_other_key_is_sent(self, smtp, tmp_path, mailer_for) -> None:
        """Another step is another email."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, thank_you_input())
        await ActivityEnvironment().run(
            acts.send_email, thank_you_input(key="L1/form-x/thank_you/2")
        )
        assert len(smtp.messages) == 2


def marketing(key: str = "L1/seq-discovery-1/about_your_needs/1") -> SendEmailInput:
    return thank_you_input(key=key, template="about_your_needs", kind=EmailKind.MARKETING)


class TestUnsubscribeHeaders:
    """Marketing mail carries RFC 8058 one-click headers and a visible link; the link's
    token names the lead and the address hash, and unsubscribes nobody else."""

    async def test_marketing_mail_has_both_headers_and_the_link(
        self, smtp, tmp_path, mailer_for
    ) -> None:
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, marketing())
        message = smtp.messages[0]
        header = str(message["List-Unsubscribe"])
        https, mailto = (part.strip(" <>") for part in header.split(","))
        assert https.startswith(f"{PUBLIC_URL}/u/") and mailto.startswith(
            "mailto:unsubscribe@example.com?subject=unsubscribe%20"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = https.rsplit("/", 1)[1]
        assert links().signer.verify(token, UNSUBSCRIBE, datetime.now(UTC)) == {
            "l": "L1",
            "h": email_hash("ada@globex.example", SECRET),
            "lc": "fr",  # the lead's locale: the unsubscribe page speaks it
        }
        assert token in mailto  # the same token travels in the mailto's subject
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert https in text and f'href="{https}"' in html
        assert "désabonnez-vous" in text  # the lead's locale (fr)
        assert html.rstrip().endswith("</html>")  # the link sits inside the body

    async def test_the_headers_arrive_as_plain_urls(self, smtp, tmp_path, mailer_for) -> None:
        """On the wire, not RFC 2047 encoded words (which Python's default folding makes of
        a long unbroken URL, and which mailbox providers do not decode in this header)."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, marketing())
        head = smtp.raw[0].split(b"\r\n\r\n", 1)[0]
        (line,) = [h for h in head.split(b"\r\n") if h.startswith(b"List-Unsubscribe:")]
        assert line.startswith(b"List-Unsubscribe: <" + PUBLIC_URL.encode() + b"/u/")
        assert b"=?" not in line and line.endswith(b">")
        assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head.split(b"\r\n")

    async def test_transactional_mail_has_none(self, smtp, tmp_path, mailer_for) -> None:
        """A thank-you answers the person's own request: no list headers, no footer."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, thank_you_input())
        message = smtp.messages[0]
        assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
        assert "/u/" not in message.get_body(("plain",)).get_content()


class TestTracking:
    """Marketing mail to a lead that consented gets the open pixel and click redirects in
    its HTML; the text part, transactional mail and leads without consent are untouched."""

    async def send(self, mailer_for, smtp, tmp_path, input: SendEmailInput) -> tuple[str, str]:
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, input)
        message = smtp.messages[0]
        text = message.get_body(("plain",)).get_content()
        return text, message.get_body(("html",)).get_content()

    async def test_consented_marketing_mail_is_tracked(self, mailer_for, smtp, tmp_path) -> None:
        text, html = await self.send(
            mailer_for, smtp, tmp_path, marketing().model_copy(update={"track": True})
        )
        assert f"{PUBLIC_URL}/o/" in html and f"{PUBLIC_URL}/r/" in html
        start = html.index(f"{PUBLIC_URL}/r/") + len(f"{PUBLIC_URL}/r/")
        clicked = Tracker(links().signer, PUBLIC_URL, TrackingPolicy()).read(
            html[start : html.index('"', start)], CLICK, datetime.now(UTC)
        )
        assert clicked.url is not None and clicked.url in text  # the text keeps it plain
        assert (clicked.lead_id, clicked.template) == ("L1", "about_your_needs")
        assert f"{PUBLIC_URL}/r/" not in text
        unsubscribe = str(smtp.messages[0]["List-Unsubscribe"]).split(",")[0].strip(" <>")
        assert f'href="{unsubscribe}"' in html  # never through the redirect

    async def test_no_consent_no_tracking(self, mailer_for, smtp, tmp_path) -> None:
        _, html = await self.send(mailer_for, smtp, tmp_path, marketing())
        assert "/o/" not in html and "/r/" not in html

    async def test_transactional_mail_is_never_tracked(self, mailer_for, smtp, tmp_path) -> None:
        _, html = await self.send(mailer_for, smtp, tmp_path, thank_you_input(track=True))
        assert "/o/" not in html and "/r/" not in html


class TestSuppression:
    """The suppression list is checked inside the activity, at the moment of sending."""

    @staticmethod
    async def suppress(ledger: SqliteLedger, reason: str) -> None:
        await ledger.suppress(
            Suppression.model_validate(
                {
                    "address_hash": email_hash("ADA@globex.example", SECRET),
                    "reason": reason,
                    "recorded_at": datetime.now(UTC),
                }
            )
        )

    async def test_unsubscribed_gets_no_marketing_but_its_thank_you(
        self, smtp, tmp_path, mailer_for
    ) -> None:
        ledger = SqliteLedger(tmp_path / "l.db")
        await self.suppress(ledger, "unsubscribed")
        acts = activities_for(mailer_for, smtp, ledger)
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, marketing())
        assert info.value.type == SUPPRESSED and info.value.non_retryable
        assert "unsubscribed" in str(info.value)
        result = await ActivityEnvironment().run(acts.send_email, thank_you_input())
        assert result.status == "sent" and len(smtp.messages) == 1
        assert await ledger.find(marketing().key) is None  # nothing recorded as sent

    async def test_erased_gets_nothing_at_all(self, smtp, tmp_path, mailer_for) -> None:
        ledger = SqliteLedger(tmp_path / "l.db")
        await self.suppress(ledger, "erased")
        acts = activities_for(mailer_for, smtp, ledger)
        for email in (marketing(), thank_you_input()):
            with pytest.raises(ApplicationError, match="erased"):
                await ActivityEnvironment().run(acts.send_email, email)
        assert smtp.attempts == 0

    async def test_hard_bounce_suppresses_the_address(self, smtp, tmp_path, mailer_for) -> None:
        """550 5.1.1: the address is suppressed for all mail; the next send never reaches
        the relay."""
        smtp.script.append("550 5.1.1 No such user")
        ledger = SqliteLedger(tmp_path / "l.db")
        acts = activities_for(mailer_for, smtp, ledger)
        with pytest.raises(ApplicationError):
            await ActivityEnvironment().run(acts.send_email, thank_you_input())
        found = await ledger.suppression(email_hash("ada@globex.example", SECRET))
        assert found is not None and found.reason == "hard_bounce"
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, thank_you_input(key="L1/x/y/2"))
        assert info.value.type == SUPPRESSED and smtp.attempts == 1

    async def test_policy_rejection_does_not_suppress(self, smtp, tmp_path, mailer_for) -> None:
        """550 5.7.1 (DMARC, blocklist): the sender's problem, not the address's."""
        smtp.script.append("550 5.7.1 Message rejected by DMARC policy")
        ledger = SqliteLedger(tmp_path / "l.db")
        acts = activities_for(mailer_for, smtp, ledger)
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, thank_you_input())
        assert info.value.type == PERMANENT_FAILURE
        assert await ledger.suppression(email_hash("ada@globex.example", SECRET)) is None


class TestRetriesThroughTemporal:
    """Real SMTP plus Temporal's retry policy: 550 is tried once, 451 until it passes."""

    async def test_550_bounces_without_retry(self, harness, smtp, mailer_for) -> None:
        """One attempt, the lead bounced."""
        smtp.script.append("550 5.1.1 No such user")
        mailer = mailer_for(smtp.port)
        async with harness(mailer=mailer) as h:
            await h.gateway.submit_form("act-550", submission(at=await h.now()))
            view = await view_when(h, "act-550", lambda v: bool(v.emails))
            assert view.emails[0].status == "bounced" and "550" in (view.emails[0].detail or "")
            assert smtp.attempts == 1 and smtp.messages == []

    async def test_451_retried_then_sent(self, harness, smtp, mailer_for) -> None:
        """Two 451s, then 250: three attempts, one message."""
        smtp.script.extend(["451 4.3.0 later", "451 4.3.0 later"])
        mailer = mailer_for(smtp.port)
        async with harness(mailer=mailer) as h:
            await h.gateway.submit_form("act-451", submission(at=await h.now()))
            view = await view_when(h, "act-451", lambda v: bool(v.emails), within=20)
            assert view.emails[0].status == "sent"
            assert smtp.attempts == 3 and len(smtp.messages) == 1


class TestConnectionPool:
    """Connections to the relay are reused, and a dropped one is replaced without a failure."""

    async def test_connection_reused(
        self, smtp: ScriptedSmtpServer, tmp_path: Path, mailer_for
    ) -> None:
        """Three sends, one EHLO."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        for n in range(3):
            await ActivityEnvironment().run(acts.send_email, thank_you_input(key=f"L1/c/s/{n}"))
        assert (len(smtp.messages), smtp.greetings) == (3, 1)

    async def test_dropped_connection_replaced(
        self, smtp: ScriptedSmtpServer, tmp_path: Path, mailer_for: MailerFor
    ) -> None:
        """The relay restarts between two sends: the second still succeeds, once."""
        acts = activities_for(mailer_for, smtp, SqliteLedger(tmp_path / "l.db"))
        await ActivityEnvironment().run(acts.send_email, thank_you_input(key="L1/c/s/1"))
        smtp.restart()
        result = await ActivityEnvironment().run(acts.send_email, thank_you_input(key="L1/c/s/2"))
        assert result.status == "sent" and len(smtp.messages) == 2 and smtp.greetings == 2
