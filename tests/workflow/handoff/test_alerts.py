"""How the owner hears of a new SQL: the webhook posts the Slack message once despite a
failure, and an alert that bounces is logged while the hand-off goes on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from nurture.adapters.links.links import REP_LEAD
from nurture.adapters.mail.smtp import PermanentDeliveryError
from nurture.domain.lead.messages import EventReceived
from nurture.testing import HttpRecorder
from tests.helpers import event, links, submission
from tests.waiting import eventually, sent, view_when
from tests.workflow.handoff.handofftools import TEAM, act, log, make_sql


async def test_webhook_posts_the_slack_message_once_despite_a_failure(
    harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
) -> None:
    """With `webhook_url` set, the assignment posts one Slack-compatible message: the
    receiver's first answer is a 503, the activity retries, and the message arrives once,
    with the owner, the score explanation and a button to the lead."""
    with HttpRecorder(fail_first=1) as hook:
        hooked = tmp_path / "sales.toml"
        hooked.write_text(TEAM.replace("[hours]", f'webhook_url = "{hook.url}/slack"\n[hours]'))
        async with harness(project_file=always_open, sales_file=hooked, env=sales_env) as h:
            await make_sql(h, "ho-hook")
            await view_when(h, "ho-hook", lambda v: "assigned" in log(v))

            async def delivered() -> bool:
                return bool(hook.posts)

            await eventually(delivered)
            await h.skip(timedelta(seconds=30))
    assert hook.attempts == 2 and len(hook.posts) == 1
    path, raw = hook.posts[0]
    body = json.loads(raw)
    assert path == "/slack"
    assert str(body["text"]).startswith("New SQL for Ana Lima: ")
    blocks = json.dumps(body["blocks"])
    assert "Why this score" in blocks and "Recent activity" in blocks
    # The button opens the lead's page by a signed, read-only link (a channel is no rep).
    [link] = re.findall(r"https://crm\.example\.com/s/lead/[\w-]+\.[\w-]+", blocks)
    fields = links().signer.verify(link.rpartition("/")[2], REP_LEAD, datetime.now(UTC))
    assert fields == {"r": "", "l": "ho-hook"} and "/v1/leads/" not in raw.decode()
    assert "lead_id" not in body and "app_url" not in body


class TestUndeliverableAlert:
    """A sales alert that bounces is in the sales log, and the hand-off goes on."""

    async def test_the_lead_lives_on_and_can_be_accepted(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """Ana's address answers 550: the lead does not fail, the log says what was not
        delivered, and Ana can still accept it (from the CRM, say)."""
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            now = await h.now()
            await h.gateway.submit_form("ho-bounce", submission(at=now))
            await view_when(h, "ho-bounce", lambda v: sent(v, "thank_you"))
            h.mailer.failures.append(PermanentDeliveryError("SMTP 550: no such user", 550))
            await h.gateway.tell("ho-bounce", EventReceived(event=event("demo_requested", at=now)))
            view = await view_when(h, "ho-bounce", lambda v: "undelivered" in log(v))
            (entry,) = [e for e in view.sales_log if e.kind == "undelivered"]
            assert entry.detail.startswith("sales_alert to ana@example.com: bounced, SMTP 550")
            assert (view.stage, view.handoffs[-1].owner) == ("sql", "ana")
            view = await act(h, "ho-bounce", action="accept", actor="ana")
            assert view.handoffs[-1].accepted_at is not None
