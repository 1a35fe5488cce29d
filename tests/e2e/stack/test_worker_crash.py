"""Killing the worker (SIGKILL) at every awkward moment of a send."""

from __future__ import annotations

import time

import httpx
import pytest

from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import (
    lead_when,
    mail_to,
    post_form,
    wait_until,
)

pytestmark = pytest.mark.e2e


class TestWorkerCrash:
    """Killing the worker (SIGKILL) never loses a thank-you and never doubles one."""

    def test_kill_between_submission_and_send(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """The relay holds mail (451), the worker dies, a new one delivers exactly once."""
        smtp.hold = "451 4.3.0 Greylisted, try again"
        attempts = smtp.attempts
        post_form(api, "ken@e2e.example", first_name="Ken")
        # Kill inside a retry backoff: after the third 451 the next try is 4 s away (1, 2,
        # 4 s). A kill during an attempt: see the next test.
        wait_until(lambda: smtp.attempts >= attempts + 3)
        time.sleep(0.3)
        stack.get("worker").kill()
        smtp.hold = None
        time.sleep(1.5)
        assert mail_to(smtp, "ken@e2e.example") == [], "sent with no worker running?"
        stack.start_worker()
        wait_until(lambda: bool(mail_to(smtp, "ken@e2e.example")), within=30)
        time.sleep(3)
        assert len(mail_to(smtp, "ken@e2e.example")) == 1

    def test_kill_during_an_attempt_is_retried_in_seconds(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """The relay takes a minute to accept the recipient, the worker dies mid-attempt: the
        attempt stops heartbeating, so a new worker sends within seconds, not after the
        attempt's timeout; the unfinished transfer never arrives, so one email in all."""
        smtp.rcpt_after = 90
        seen = smtp.recipients
        post_form(api, "frances@e2e.example", first_name="Frances")
        wait_until(lambda: smtp.recipients > seen, within=10)
        stack.get("worker").kill()
        smtp.rcpt_after = 0
        stack.start_worker()
        started = time.monotonic()
        wait_until(lambda: bool(mail_to(smtp, "frances@e2e.example")), within=45)
        elapsed = time.monotonic() - started
        assert elapsed < 30, f"the retry came {elapsed:.0f} s after the new worker started"
        time.sleep(2)
        assert len(mail_to(smtp, "frances@e2e.example")) == 1

    def test_kill_after_the_handover_never_sends_twice(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """The relay has the whole message and takes 8 s to answer; the worker dies while
        waiting. The new worker's retry finds the claim, waits out the time an answer may
        take, and records the email unconfirmed: the relay has it once, never twice."""
        smtp.answer_after = 8
        before = smtp.attempts
        lead_id = post_form(api, "mary@e2e.example", first_name="Mary")
        wait_until(lambda: smtp.attempts > before, within=10)  # the end of data arrived
        stack.get("worker").kill()
        smtp.answer_after = 0
        stack.start_worker()
        view = lead_when(api, lead_id, lambda v: bool(v["emails"]), within=60)
        (email,) = view["emails"]
        assert (email["template"], email["status"]) == ("thank_you", "sent")
        assert "not sent again" in email["detail"]
        time.sleep(2)
        assert len(mail_to(smtp, "mary@e2e.example")) == 1

    def test_submission_while_no_worker_runs(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer
    ) -> None:
        """Temporal accepts the form with every worker down; the first worker back sends it."""
        stack.get("worker").kill()
        post_form(api, "barbara@e2e.example", first_name="Barbara")
        time.sleep(1)
        assert mail_to(smtp, "barbara@e2e.example") == []
        stack.start_worker()
        wait_until(lambda: bool(mail_to(smtp, "barbara@e2e.example")), within=30)
        time.sleep(2)
        assert len(mail_to(smtp, "barbara@e2e.example")) == 1
