"""The router's counts: a pooled lead a rep claims and later closes, and simultaneous
hand-offs shared out by weight, each lead once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from nurture.domain.lead.messages import EventReceived
from nurture.domain.sales.router import router_workflow_id
from tests.helpers import event, persona_lead, submission
from tests.waiting import eventually, view_when
from tests.workflow.handoff.handofftools import TEAM, act, log, make_sql
from workflows import RouterWorkflow

POOL_TEAM = """
manager = "boss@example.com"
match = ["territory"]
relax = []
[hours]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"
[[reps]]
id = "ana"
name = "Ana Lima"
email = "ana@example.com"
timezone = "UTC"
territories = ["FR"]
capacity = 1
[[reps]]
id = "bob"
name = "Bob Stone"
email = "bob@example.com"
timezone = "UTC"
territories = ["FR"]
"""


class TestPool:
    """A rep who takes a lead from the pool has one more open lead, counted by the router."""

    async def test_claim_counts_and_close_balances(
        self, harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
    ) -> None:
        """A US lead matches nobody and goes to the pool; Ana (capacity 1) accepts it, so
        the next French lead goes to Bob, Ana being full. Disqualifying the pooled lead
        releases Ana: open counts are back where they were, Bob's lead still counted."""
        team = tmp_path / "sales.toml"
        team.write_text(POOL_TEAM)
        async with harness(project_file=always_open, sales_file=team, env=sales_env) as h:
            router = h.client.get_workflow_handle(router_workflow_id(h.task_queue))
            now = await h.now()
            us = submission(persona_lead(country="US"), at=now)
            await h.gateway.submit_form("ho-pool", us)
            await h.gateway.tell("ho-pool", EventReceived(event=event("demo_requested", at=now)))
            await view_when(h, "ho-pool", lambda v: "pooled" in log(v))
            view = await act(h, "ho-pool", action="accept", actor="ana")
            assert view.handoffs[-1].owner == "ana"

            async def ana_counted() -> bool:
                return (await router.query(RouterWorkflow.rotation))["open"].get("ana") == 1

            await eventually(ana_counted)
            fr = submission(persona_lead("grace@example.fr", country="FR"), at=await h.now())
            await h.gateway.submit_form("ho-next", fr)
            await h.gateway.tell(
                "ho-next", EventReceived(event=event("demo_requested", at=await h.now()))
            )
            routed = await view_when(h, "ho-next", lambda v: "assigned" in log(v))
            await act(h, "ho-pool", action="disqualify", actor="ana", reason="student")

            async def ana_released() -> bool:
                return (await router.query(RouterWorkflow.rotation))["open"].get("ana") == 0

            await eventually(ana_released)
            rotation = await router.query(RouterWorkflow.rotation)
        assert routed.handoffs[-1].owner == "bob"
        assert rotation == {"assigned": {"bob": 1}, "open": {"ana": 0, "bob": 1}}


async def test_concurrent_handoffs_keep_the_rotation_exact(
    harness, always_open: Path, tmp_path: Path, sales_env: WorkflowEnvironment
) -> None:
    """Twelve leads raise their hands at the same moment; with Ana at weight 2 and Bob at 1
    the router gives Ana exactly 8 and Bob 4, each lead once."""
    weighted = tmp_path / "sales.toml"
    weighted.write_text(TEAM.replace('id = "ana"', 'id = "ana"\nweight = 2'))
    async with harness(project_file=always_open, sales_file=weighted, env=sales_env) as h:
        leads = [f"ho-many-{i}" for i in range(12)]
        await asyncio.gather(*(make_sql(h, lead) for lead in leads))
        views = [await view_when(h, lead, lambda v: "assigned" in log(v)) for lead in leads]
        router = h.client.get_workflow_handle(router_workflow_id(h.task_queue))
        rotation = await router.query(RouterWorkflow.rotation)
    owners = Counter(v.handoffs[-1].owner for v in views)
    assert owners == {"ana": 8, "bob": 4}
    assert rotation == {"assigned": {"ana": 8, "bob": 4}, "open": {"ana": 8, "bob": 4}}
