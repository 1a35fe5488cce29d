"""The gateway's lead list on the real Temporal dev server: each filter is a visibility
query the server runs, and pages follow one another without repeating a lead.

The leads are lead workflows started with their search attributes and no worker: what the
list reads is visibility alone. Every check filters by a sequence name of its own, so other
tests' leads on the shared server never count."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from nurture.adapters.temporal.gateway import TemporalLeadGateway
from nurture.adapters.temporal.visibility import InvalidPageToken, ListRefused
from nurture.domain.lead.listing import LeadFilters, LeadRow
from nurture.domain.lifecycle import Stage
from nurture.domain.scoring import Grade
from workflows import search_attributes as sa

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Leads:
    """The leads of this module, by name, and the sequence name that isolates them."""

    gateway: TemporalLeadGateway
    sequence: str
    ids: dict[str, str]

    async def listed(self, **filters: Any) -> set[str]:
        """The names of the leads one page lists for these filters (and the sequence)."""
        page = await self.gateway.list_leads(
            LeadFilters(sequence=self.sequence, **filters), 100, None
        )
        named = {lead_id: name for name, lead_id in self.ids.items()}
        return {named[row.lead_id] for row in page.leads}


async def _ensure_owner_attribute(client: Client) -> None:
    """``NurtureOwner`` on the server, whether or not the dev server flags register it."""
    found = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    if sa.OWNER.name not in found.custom_attributes:
        wanted = {sa.OWNER.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=wanted, namespace=client.namespace)
        )


async def _start(client: Client, kind: str, queue: str, values: dict[Any, Any]) -> str:
    lead_id = uuid.uuid4().hex
    pairs = [SearchAttributePair(key, value) for key, value in values.items() if value is not None]
    prefix = "lead-" if kind == "LeadWorkflow" else "seq-"
    await client.start_workflow(
        kind,
        id=f"{prefix}{lead_id}",
        task_queue=queue,
        search_attributes=TypedSearchAttributes(pairs),
    )
    return lead_id


def _attributes(stage: str, score: int, grade: str, **more: Any) -> dict[Any, Any]:
    return {sa.STAGE: stage, sa.SCORE: score, sa.GRADE: grade, **more}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def leads(dev_env: WorkflowEnvironment) -> AsyncIterator[Leads]:
    client = dev_env.client
    await _ensure_owner_attribute(client)
    sequence, queue = f"list-{uuid.uuid4().hex[:12]}", f"nobody-{uuid.uuid4().hex}"
    seq: dict[SearchAttributeKey[Any], Any] = {sa.SEQUENCE: sequence}
    plan = {
        "ana_mql": _attributes("mql", 50, "B", **{"owner": "ana", "touch": T0 + timedelta(days=1)}),
        "bob_sql": _attributes("sql", 80, "A", **{"owner": "bob", "touch": T0 + timedelta(days=3)}),
        "cold_mql": _attributes("mql", 10, "C", **{"owner": None, "touch": None}),
    }
    ids = {}
    for name, values in plan.items():
        owner, touch = values.pop("owner"), values.pop("touch")
        values |= {**seq, sa.OWNER: owner, sa.NEXT_TOUCH: touch, sa.TEMPERATURE: "warm"}
        values[sa.LAST_ACTIVITY] = T0
        ids[name] = await _start(client, "LeadWorkflow", queue, values)
    ended = await _start(client, "LeadWorkflow", queue, {**_attributes("mql", 50, "B"), **seq})
    await client.get_workflow_handle(f"lead-{ended}").terminate("ended leads are not listed")
    await _start(client, "SequenceWorkflow", queue, {**_attributes("mql", 50, "B"), **seq})
    found = Leads(TemporalLeadGateway(client, queue), sequence, ids)
    for _ in range(100):  # visibility follows the starts closely, not at once
        if await found.listed() == set(ids):
            break
        await asyncio.sleep(0.1)
    yield found
    for lead_id in ids.values():
        await client.get_workflow_handle(f"lead-{lead_id}").terminate("test over")


class TestFilters:
    """Each filter keeps exactly the open leads it names; ended leads and sequence
    workflows are never listed."""

    async def test_open_leads_only(self, leads: Leads) -> None:
        """The sequence alone: the three running leads, not the ended one nor the
        sequence workflow carrying the same attributes."""
        assert await leads.listed() == {"ana_mql", "bob_sql", "cold_mql"}

    async def test_stage(self, leads: Leads) -> None:
        assert await leads.listed(stage=Stage.MQL) == {"ana_mql", "cold_mql"}

    async def test_min_score_is_inclusive(self, leads: Leads) -> None:
        assert await leads.listed(min_score=50) == {"ana_mql", "bob_sql"}

    async def test_grade(self, leads: Leads) -> None:
        assert await leads.listed(grade=Grade.A) == {"bob_sql"}

    async def test_owner(self, leads: Leads) -> None:
        assert await leads.listed(owner="ana") == {"ana_mql"}

    async def test_next_touch_before(self, leads: Leads) -> None:
        """Before a moment: leads with no next touch are not listed."""
        assert await leads.listed(next_touch_before=T0 + timedelta(days=2)) == {"ana_mql"}

    async def test_filters_combine(self, leads: Leads) -> None:
        assert await leads.listed(stage=Stage.MQL, min_score=20) == {"ana_mql"}
        assert await leads.listed(stage=Stage.SQL, owner="ana") == set()


class TestPages:
    """Pages of a bounded size follow one another through their opaque token."""

    async def test_pages_cover_the_list_once(self, leads: Leads) -> None:
        """Two a page: every lead once, then no token."""
        seen: list[str] = []
        token: str | None = None
        filters = LeadFilters(sequence=leads.sequence)
        for _ in range(5):
            page = await leads.gateway.list_leads(filters, 2, token)
            assert len(page.leads) <= 2
            seen += [row.lead_id for row in page.leads]
            token = page.next_page_token
            if token is None:
                break
        assert sorted(seen) == sorted(leads.ids.values())

    async def test_first_page_has_a_token(self, leads: Leads) -> None:
        page = await leads.gateway.list_leads(LeadFilters(sequence=leads.sequence), 2, None)
        assert len(page.leads) == 2 and page.next_page_token

    @pytest.mark.parametrize("token", ["bm90LWEtdG9rZW4", "x", "AAAAAAAAAAAA"])
    async def test_foreign_token_refused(self, leads: Leads, token: str) -> None:
        """A token no list gave: InvalidPageToken (a 422 on the API), at once."""
        with pytest.raises(InvalidPageToken):
            await leads.gateway.list_leads(LeadFilters(), 2, token)

    async def test_token_of_other_filters_refused(self, leads: Leads) -> None:
        """A page token belongs to its filters: with others it is refused."""
        page = await leads.gateway.list_leads(LeadFilters(sequence=leads.sequence), 2, None)
        other = LeadFilters(sequence=leads.sequence, stage=Stage.MQL)
        with pytest.raises(InvalidPageToken):
            await leads.gateway.list_leads(other, 2, page.next_page_token)


class TestRows:
    """A row carries the lead's search attributes, and no address."""

    async def test_row(self, leads: Leads) -> None:
        page = await leads.gateway.list_leads(
            LeadFilters(sequence=leads.sequence, owner="ana"), 5, None
        )
        assert page.leads == (
            LeadRow(
                lead_id=leads.ids["ana_mql"],
                stage="mql",
                score=50,
                grade="B",
                temperature="warm",
                owner="ana",
                sequence=leads.sequence,
                next_touch_at=T0 + timedelta(days=1),
                last_activity_at=T0,
            ),
        )


class TestRefusal:
    """A query the server cannot run (an attribute it does not know) says what to do
    instead of passing for an outage to retry."""

    async def test_unknown_attribute(self, leads: Leads, monkeypatch: pytest.MonkeyPatch) -> None:
        unknown = SearchAttributeKey.for_keyword("NurtureNoSuchAttribute")
        monkeypatch.setattr(sa, "OWNER", unknown)
        with pytest.raises(ListRefused, match="nurture setup"):
            await leads.gateway.list_leads(LeadFilters(owner="ana"), 5, None)
