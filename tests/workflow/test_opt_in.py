"""Double opt-in on the time-skipping server: only the confirmation goes out until the
link is used; then the post takes effect; left unconfirmed, the lead is forgotten."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus

from nurture.adapters.links.links import CONFIRM
from nurture.adapters.temporal.gateway import LeadNotFound
from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import OptInConfirmed
from tests.conftest import Harness
from tests.helpers import PUBLIC_URL, doi_submission, links
from tests.waiting import eventually, sent, view_when


def confirm_token(h: Harness, index: int = -1) -> str:
    """The token of the link in the ``index``-th confirmation email."""
    message = [m for m in h.mailer.sent if m["X-Nurture-Template"] == "confirm_subscription"]
    text = message[index].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(re.escape(PUBLIC_URL) + r"/c/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", text)
    assert match, text
    return match.group(1)


async def sent_count(h: Harness, n: int) -> None:
    """``n`` emails handed over, and no activity of the test still in flight
    (``Harness.quiet``: skipping time meanwhile can stop the time-skipping server for good)."""

    async def handed_over() -> bool:
        return len(h.mailer.sent) >= n

    await eventually(handed_over)
    await h.quiet()


async def test_nothing_but_the_confirmation_until_the_link_is_used(
    harness, always_open: Path
) -> None:
    async with harness(project_file=always_open) as h:
        await h.gateway.submit_form("doi-1", doi_submission(at=await h.now()))
        await sent_count(h, 1)
        assert h.templates() == ["confirm_subscription"]
        assert "List-Unsubscribe" not in h.mailer.sent[0]  # transactional, no marketing
        fields = links().signer.verify(confirm_token(h), CONFIRM, await h.now())
        assert fields == {"l": "doi-1", "s": "doi-1", "lc": "en"}  # lc: the page language
        view = await view_when(h, "doi-1", lambda v: v.awaiting_confirmation == ("newsletter",))
        assert view.conditions == ("unconfirmed",) and view.forms == () and view.score == 0

        await h.env.sleep(timedelta(days=3))  # the welcome and discovery would be due by now
        assert h.templates() == ["confirm_subscription"]

        clicked = OptInConfirmed(
            submission_id=str(fields["s"]), at=await h.now(), ip="198.51.100.4", user_agent="UA"
        )
        await h.gateway.tell("doi-1", clicked)
        view = await view_when(h, "doi-1", lambda v: v.sequence is not None)
        assert view.conditions == () and view.forms == ("newsletter",) and view.score > 0
        assert view.consent is not None and view.consent.confirmed_ip == "198.51.100.4"
        assert view.consent.ip == "203.0.113.7"
        assert view.sequence is not None and view.sequence.sequence == "discovery"
        await view_when(h, "doi-1", lambda v: sent(v, "thank_you"))
        assert h.templates()[0] == "confirm_subscription"
        assert h.templates().count("confirm_subscription") == 1


async def test_unconfirmed_lead_is_forgotten_and_may_sign_up_again(
    harness, always_open: Path
) -> None:
    async with harness(project_file=always_open) as h:
        await h.gateway.submit_form("doi-2", doi_submission("first", at=await h.now()))
        await sent_count(h, 1)
        assert [e.lead_id for e in h.ledger.entries.values()] == ["doi-2"]
        handle = h.client.get_workflow_handle(workflow_id_for("doi-2"))

        await h.env.sleep(timedelta(days=7, minutes=1))

        async def closed() -> bool:
            return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

        await eventually(closed)
        assert h.ledger.entries == {}  # its send records went with it
        assert h.templates() == ["confirm_subscription"]
        with pytest.raises(LeadNotFound):
            await h.gateway.get_lead("doi-2")
        late = OptInConfirmed(submission_id="first", at=datetime.now(UTC))
        with pytest.raises(LeadNotFound):
            await h.gateway.tell("doi-2", late)

        # Signing up again starts afresh: a new run, a new link.
        await h.gateway.submit_form("doi-2", doi_submission("second", at=await h.now()))
        await sent_count(h, 2)
        assert h.templates() == ["confirm_subscription"] * 2
        assert links().signer.verify(confirm_token(h), CONFIRM, await h.now())["s"] == "second"
        view = await view_when(h, "doi-2", lambda v: v.awaiting_confirmation == ("newsletter",))
        assert view.conditions == ("unconfirmed",)
