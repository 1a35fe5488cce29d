"""A lead sales returned to nurture: it stays in its recycle sequence and re-qualifies only by
points earned after the return."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.view import LeadView
from tests.helpers import event, submission
from tests.waiting import sent, view_when
from tests.workflow.handoff.handofftools import act, log


class TestRecycling:
    """A lead sales returned stays in its recycle sequence until it shows new interest."""

    async def test_returned_lead_requalifies_only_by_new_points(
        self, harness, always_open: Path, team_file: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """The filed case: 44 points (MQL at 20), a demo request, accepted, returned for
        'timing' (34 points). 70 s later an event worth nothing, an unknown type, then 8 new
        points: still recycled, recycle-timing still running. 4 more (12 since the return):
        an MQL again, and recycle-timing stops."""
        lead = "ho-recycle"
        async with harness(project_file=always_open, sales_file=team_file, env=sales_env) as h:
            now = await h.now()
            await h.gateway.submit_form(lead, submission(at=now))
            for section in ["product"] * 10 + ["blog"] * 10:
                await h.gateway.tell(
                    lead, EventReceived(event=event("page_viewed", at=now, section=section))
                )
            for kind in ("webinar_registered", "webinar_registered", "demo_requested"):
                await h.gateway.tell(lead, EventReceived(event=event(kind, at=now)))
            # Two dozen signals, a sequence and the router: time enough on a busy machine.
            view = await view_when(h, lead, lambda v: "assigned" in log(v), within=30)
            assert (view.stage, view.score) == ("sql", 44)
            await act(h, lead, action="accept", actor="ana")
            await act(h, lead, action="return_to_nurture", actor="ana", reason="timing")
            view = await view_when(h, lead, lambda v: sent(v, "keep_in_touch"), within=30)
            assert (view.stage, view.score) == ("recycled", 34)

            await h.skip(timedelta(seconds=70))
            for kind, props in [("page_viewed", {"section": "careers"}), ("no_such_event", {})]:
                at = await h.now()
                await h.gateway.tell(lead, EventReceived(event=event(kind, at=at, **props)))
                view = await view_when(h, lead, lambda v, at=at: v.last_activity_at == at)
                assert (view.stage, track(view)) == ("recycled", "recycle-timing")
            for kind in ("webinar_registered", "support_contacted"):
                await h.gateway.tell(lead, EventReceived(event=event(kind, at=await h.now())))
            view = await view_when(h, lead, lambda v: v.score == 34 + 8)
            assert (view.stage, track(view)) == ("recycled", "recycle-timing")

            await h.gateway.tell(
                lead, EventReceived(event=event("webinar_replay_watched", at=await h.now()))
            )
            view = await view_when(h, lead, lambda v: v.stage == "mql")
            view = await view_when(h, lead, lambda v: track(v) != "recycle-timing")
        assert view.score == 46 and len(view.handoffs) == 1
        change = [t for t in view.transitions if t.field == "stage"][-1]
        assert (change.from_value, change.to_value) == ("recycled", "mql")
        assert change.reason == "event webinar_replay_watched: score 46 reached the mql threshold"
        recycle = next(e for e in view.enrolments if e.sequence == "recycle-timing")
        assert recycle.result == "stopped" and recycle.ended_at is not None


def track(view: LeadView) -> str | None:
    """The rule-driven sequence the lead is in, by name."""
    return view.sequence.sequence if view.sequence else None
