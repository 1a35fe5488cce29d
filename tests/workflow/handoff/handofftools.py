"""What the hand-off tests share: the sales team they route to, and the short ways to make an
SQL, act on it as a rep and read what happened."""

from __future__ import annotations

from nurture.domain.identity import workflow_id_for
from nurture.domain.lead.messages import EventReceived
from nurture.domain.lead.view import LeadView
from nurture.domain.sales.records import SalesAction
from tests.conftest import Harness
from tests.helpers import event, submission
from workflows import LeadWorkflow

__all__ = ["TEAM", "act", "log", "mail", "make_sql"]


TEAM = """
manager = "boss@example.com"
app_url = "https://crm.example.com"
[hours]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"
[sla]
accept_within = "1h"
remind_after = "30m"
max_reassignments = 1
[[reps]]
id = "ana"
name = "Ana Lima"
email = "ana@example.com"
timezone = "UTC"
[[reps]]
id = "bob"
name = "Bob Stone"
email = "bob@example.com"
timezone = "UTC"
"""


async def make_sql(h: Harness, lead_id: str) -> None:
    """A form, then a demo request: a hand-raise makes the lead an SQL at once."""
    now = await h.now()
    await h.gateway.submit_form(lead_id, submission(at=now))
    await h.gateway.tell(lead_id, EventReceived(event=event("demo_requested", at=now)))


def log(view: LeadView) -> list[str]:
    return [e.kind for e in view.sales_log]


def mail(h: Harness) -> list[tuple[str, str]]:
    return [(m["To"].addresses[0].addr_spec, str(m["X-Nurture-Template"])) for m in h.mailer.sent]


async def act(h: Harness, lead_id: str, **fields: object) -> LeadView:
    handle = h.client.get_workflow_handle(workflow_id_for(lead_id))
    action = SalesAction.model_validate(fields)
    return await handle.execute_update(LeadWorkflow.act, action)
