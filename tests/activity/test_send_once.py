"""At most once, whatever the relay's pace: the send activity against a real, slow SMTP
server, with attempts cancelled (as Temporal does when an attempt times out) and retried.

Every test counts what the relay received for the key: duplicates are impossible, not rare.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import EmailActivities
from nurture.adapters.ledger import LedgerEntry, SqliteLedger
from nurture.adapters.mail.smtp import TransientDeliveryError
from nurture.domain.emails import (
    MESSAGE_FAILURE,
    SEND_IN_PROGRESS,
    SendEmailInput,
    SendEmailResult,
    message_id_for,
)
from nurture.testing import MemoryLedger, ScriptedSmtpServer
from tests.conftest import MailerFor
from tests.helpers import email_activities, thank_you_input
from tests.waiting import eventually

KEY = "L1/form-white-paper/thank_you/1"


def thank_you(key: str = KEY) -> SendEmailInput:
    return thank_you_input(key)


def activities(
    mailer_for: MailerFor, smtp: ScriptedSmtpServer, ledger_file: Path, wait: float = 5
) -> EmailActivities:
    """The send activity over a real mailer and a SQLite ledger, as a worker has them."""
    mailer = mailer_for(smtp.port, timeout=wait)
    return email_activities(mailer, SqliteLedger(ledger_file), answer_timeout=wait)


def received(smtp: ScriptedSmtpServer, key: str = KEY) -> int:
    """How many messages of this key the relay has (they share the key's Message-ID)."""
    wanted = message_id_for(key, "example.com")
    return sum(1 for m in smtp.messages if m["Message-ID"] == wanted)


async def cancelled_after(acts: EmailActivities, seconds: float) -> SendEmailResult | None:
    """One attempt, cancelled after ``seconds`` as Temporal cancels a timed-out attempt (or
    a stopped sequence its send): what the attempt reports, ``None`` if it gave up."""
    env = ActivityEnvironment()
    attempt = asyncio.create_task(env.run(acts.send_email, thank_you()))
    await asyncio.sleep(seconds)
    env.cancel()
    try:
        return await attempt
    except asyncio.CancelledError:
        return None


class TestCancelledAttempt:
    """An attempt cancelled mid-send never lets its message complete behind the retry."""

    async def test_cancelled_while_the_relay_answers_is_not_sent_again(
        self, mailer_for, smtp, tmp_path
    ) -> None:
        """Cancelled while the relay takes 2 s to answer the end of the data (the filed
        case): the attempt waits for that answer and records it, so the retry finds the
        email sent. The relay has one message, not two."""
        smtp.answer_after = 2
        acts = activities(mailer_for, smtp, tmp_path / "l.db")
        cancelled = await cancelled_after(acts, 0.5)
        result = await ActivityEnvironment().run(acts.send_email, thank_you())
        await asyncio.sleep(2.5)  # the relay finishes what it had
        # The cancelled attempt reports the send it finished: whoever cancelled it learns
        # the email went out.
        assert cancelled is not None and cancelled.status == "sent"
        assert result.status == "already_sent"
        assert received(smtp) == 1

    async def test_cancelled_before_the_end_of_the_data_sends_nothing(
        self, mailer_for, smtp, tmp_path
    ) -> None:
        """Cancelled while the relay is slow to take the recipient: the connection is
        dropped before the message ends, the relay discards it, and the retry sends the one
        message."""
        smtp.rcpt_after = 1.5
        acts = activities(mailer_for, smtp, tmp_path / "l.db")
        assert await cancelled_after(acts, 0.5) is None
        await asyncio.sleep(1.5)  # the relay finishes what it had
        assert received(smtp) == 0
        smtp.rcpt_after = 0
        result = await ActivityEnvironment().run(acts.send_email, thank_you())
        assert result.status == "sent" and received(smtp) == 1

    async def test_a_retry_during_the_handover_waits_for_its_outcome(
        self, mailer_for, smtp, tmp_path
    ) -> None:
        """Two attempts at once (a retry started while the first still runs, as after a
        heartbeat timeout on a stalled worker): one hands the message over, the other is
        told to come back, and coming back finds it sent."""
        smtp.answer_after = 1.5
        acts = activities(mailer_for, smtp, tmp_path / "l.db")
        first = asyncio.create_task(ActivityEnvironment().run(acts.send_email, thank_you()))
        await asyncio.sleep(0.5)
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, thank_you())
        assert info.value.type == SEND_IN_PROGRESS and not info.value.non_retryable
        assert (await first).status == "sent"
        again = await ActivityEnvironment().run(acts.send_email, thank_you())
        assert again.status == "already_sent" and received(smtp) == 1


class SlowClaims(MemoryLedger):
    """A ledger whose claims take a second to land (a busy database)."""

    def __init__(self) -> None:
        super().__init__()
        self.claiming = asyncio.Event()

    async def claim(self, entry: LedgerEntry) -> LedgerEntry | None:
        self.claiming.set()
        await asyncio.sleep(1)
        return await super().claim(entry)


class TestCancelledWhileClaiming:
    """Cancelled with the whole message at the relay but its end, while the claim lands."""

    async def test_the_claim_is_dropped_and_nothing_delivered(
        self, mailer_for, smtp, tmp_path
    ) -> None:
        """The claim lands anyway, is dropped again, the connection closes without the
        end of the data: the relay has nothing, and the retry sends the one message."""
        ledger = SlowClaims()
        acts = email_activities(mailer_for(smtp.port), ledger)
        env = ActivityEnvironment()
        attempt = asyncio.create_task(env.run(acts.send_email, thank_you()))
        await ledger.claiming.wait()
        env.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        assert ledger.entries == {} and smtp.attempts == 0
        result = await ActivityEnvironment().run(acts.send_email, thank_you())
        assert result.status == "sent" and received(smtp) == 1


class TestSlowOpening:
    """How long the relay took before the message was handed over does not age the claim."""

    async def test_a_retry_right_after_the_claim_waits(self, mailer_for, smtp, tmp_path) -> None:
        """The relay takes 6.5 s to accept the recipient, while an attempt silent for 6 s is
        taken for dead: a retry 0.3 s after the claim still waits for the first attempt,
        which sends; the ledger says sent, the relay has one message."""
        smtp.rcpt_after, smtp.answer_after = 6.5, 1.5
        path = tmp_path / "l.db"
        acts = email_activities(mailer_for(smtp.port, 10), SqliteLedger(path), answer_timeout=0.5)
        first = asyncio.create_task(ActivityEnvironment().run(acts.send_email, thank_you()))
        watcher = SqliteLedger(path)

        async def claimed() -> bool:
            return await watcher.find(KEY) is not None

        await eventually(claimed, within=10)
        await asyncio.sleep(0.3)
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, thank_you())
        assert info.value.type == SEND_IN_PROGRESS
        assert (await first).status == "sent"
        entry = await watcher.find(KEY)
        assert entry is not None and entry.status == "sent" and received(smtp) == 1


class TestUnansweredRelay:
    """A relay that answers after our timeout has the message: it is never sent again."""

    async def test_no_answer_in_time_is_unconfirmed_not_resent(
        self, mailer_for, smtp, tmp_path
    ) -> None:
        """The relay keeps the message but answers after 2 s, the mailer waits 1 s: the
        email is recorded unconfirmed, and every retry says so without sending."""
        smtp.answer_after = 2
        acts = activities(mailer_for, smtp, tmp_path / "l.db", wait=1)
        first = await ActivityEnvironment().run(acts.send_email, thank_you())
        retry = await ActivityEnvironment().run(acts.send_email, thank_you())
        await asyncio.sleep(2)  # the relay finishes what it had
        assert (first.status, retry.status) == ("unconfirmed", "unconfirmed")
        assert first.detail and "not sent again" in first.detail
        assert received(smtp) == 1

    async def test_a_definite_refusal_is_retried(self, mailer_for, smtp, tmp_path) -> None:
        """451 to the end of the data is an answer: nothing was delivered, the claim is
        dropped, and the retry sends the one message."""
        smtp.script.append("451 4.3.0 try again later")
        acts = activities(mailer_for, smtp, tmp_path / "l.db")
        with pytest.raises(TransientDeliveryError, match="451"):
            await ActivityEnvironment().run(acts.send_email, thank_you())
        result = await ActivityEnvironment().run(acts.send_email, thank_you())
        assert result.status == "sent" and received(smtp) == 1


class TestAttemptThatDied:
    """A claim left by a worker that died handing the message over decides the retry."""

    async def seed(self, ledger_file: Path, age: timedelta) -> None:
        await SqliteLedger(ledger_file).claim(
            LedgerEntry(
                key=KEY,
                lead_id="L1",
                template="thank_you",
                message_id=message_id_for(KEY, "example.com"),
                status="sending",
                recorded_at=datetime.now(UTC) - age,
            )
        )

    async def test_a_fresh_claim_is_waited_for(self, mailer_for, smtp, tmp_path) -> None:
        """Its attempt may still be waiting for the relay: retry later, send nothing."""
        await self.seed(tmp_path / "l.db", timedelta(seconds=1))
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(
                activities(mailer_for, smtp, tmp_path / "l.db").send_email, thank_you()
            )
        assert info.value.type == SEND_IN_PROGRESS and smtp.attempts == 0

    async def test_a_stale_claim_is_unconfirmed(self, mailer_for, smtp, tmp_path) -> None:
        """Older than any answer could take: the relay may have it, so it is not sent."""
        await self.seed(tmp_path / "l.db", timedelta(minutes=5))
        acts = activities(mailer_for, smtp, tmp_path / "l.db")
        result = await ActivityEnvironment().run(acts.send_email, thank_you())
        assert result.status == "unconfirmed" and smtp.attempts == 0
        entry = await SqliteLedger(tmp_path / "l.db").find(KEY)
        assert entry is not None and entry.status == "unconfirmed"


class TestInternationalAddresses:
    """A local part that is not ASCII goes out with SMTPUTF8 when the relay offers it, and
    fails for good (not retried) when it does not."""

    def input(self) -> SendEmailInput:
        return thank_you().model_copy(update={"to_email": "josé@globex.example"})

    async def test_sent_with_smtputf8(self, mailer_for, tmp_path) -> None:
        with ScriptedSmtpServer(smtputf8=True) as relay:
            acts = activities(mailer_for, relay, tmp_path / "l.db")
            result = await ActivityEnvironment().run(acts.send_email, self.input())
        assert result.status == "sent"
        to = next(line for line in relay.raw[0].split(b"\r\n") if line.startswith(b"To:"))
        assert to.endswith("<josé@globex.example>".encode())

    async def test_refused_for_good_without_it(self, mailer_for, smtp, tmp_path) -> None:
        acts = activities(mailer_for, smtp, tmp_path / "l.db")
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, self.input())
        assert info.value.type == MESSAGE_FAILURE and info.value.non_retryable
        assert "SMTPUTF8" in str(info.value) and smtp.attempts == 0
