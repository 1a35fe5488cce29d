"""``GET /v1/leads``: filters validated before any query is built, rows from visibility."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.temporal.visibility import InvalidPageToken, ListRefused
from nurture.domain.lead.listing import LeadFilters, LeadPage, LeadRow
from nurture.domain.lifecycle import Stage
from nurture.domain.scoring import Grade
from nurture.testing import MemoryLeadGateway
from tests.api.apitools import AUTH, fields

HOSTILE = [
    ("stage", "mql' OR WorkflowType = 'RouterWorkflow"),
    ("stage", "MQL"),
    ("grade", "A' OR 'a' = 'a"),
    ("grade", "D"),
    ("owner", "ana' OR NurtureOwner != 'x"),
    ("owner", 'ana" OR "1"="1'),
    ("owner", "ana\\"),
    ("owner", "Ana Smith"),
    ("owner", "ana\n"),
    ("sequence", "welcome') OR ('1'='1"),
    ("sequence", "welcome AND NurtureScore > 0"),
    ("min_score", "1 OR 1=1"),
    ("next_touch_before", "2026-12-01' OR '1'='1"),
    ("next_touch_before", "2026-12-01T10:00:00"),
    ("page_size", "0"),
    ("page_size", "101"),
    ("page_token", "abc' OR 'x"),
]


class TestFilters:
    """Each filter reaches the gateway typed; a hostile or malformed value is a 422 naming
    its field, and no list is asked for."""

    def test_every_filter_passes_through(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """Stage, score, grade, owner, sequence, moment and paging arrive as given."""
        query = {
            "stage": "sql",
            "min_score": "40",
            "grade": "A",
            "owner": "ana.b",
            "sequence": "discovery",
            "next_touch_before": "2026-12-01T10:00:00+01:00",
            "page_size": "7",
            "page_token": "c29tZS10b2tlbg",
        }
        assert client.get("/v1/leads", params=query, headers=AUTH).status_code == 200
        expected = LeadFilters(
            stage=Stage.SQL,
            min_score=40,
            grade=Grade.A,
            owner="ana.b",
            sequence="discovery",
            next_touch_before=datetime(2026, 12, 1, 9, tzinfo=UTC),
        )
        assert gateway.listings == [(expected, 7, "c29tZS10b2tlbg")]

    def test_no_filter_lists_every_open_lead(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """No query: no filter, 25 rows a page, the first page."""
        assert client.get("/v1/leads", headers=AUTH).status_code == 200
        assert gateway.listings == [(LeadFilters(), 25, None)]

    @pytest.mark.parametrize(("field", "value"), HOSTILE, ids=lambda v: str(v))
    def test_hostile_value_refused(
        self, client: TestClient, gateway: MemoryLeadGateway, field: str, value: str
    ) -> None:
        """The value never reaches a query: 422 naming the field."""
        response = client.get("/v1/leads", params={field: value}, headers=AUTH)
        assert response.status_code == 422
        assert set(fields(response)) == {field}
        assert gateway.listings == []

    def test_unknown_filter_refused(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """A misspelt filter is refused rather than silently listing every lead."""
        response = client.get("/v1/leads", params={"stages": "mql"}, headers=AUTH)
        assert response.status_code == 422 and set(fields(response)) == {"stages"}
        assert gateway.listings == []

    def test_needs_a_key(self, client: TestClient) -> None:
        """Without an API key: 401."""
        assert client.get("/v1/leads").status_code == 401


class TestRows:
    """A page answers its rows and the token of the next page, and no address."""

    def test_page(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """The page as the gateway gave it."""
        row = LeadRow(lead_id="abc", stage="mql", score=42, grade="B", owner="ana")
        gateway.page = LeadPage(leads=(row,), next_page_token="bmV4dA")
        body = client.get("/v1/leads", headers=AUTH).json()
        assert body["next_page_token"] == "bmV4dA"
        assert body["leads"][0]["lead_id"] == "abc" and body["leads"][0]["score"] == 42
        assert "email" not in body["leads"][0]

    def test_token_the_gateway_refuses(
        self, client: TestClient, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A well-formed token no list gave: 422 naming page_token, saying what to do."""

        async def refuse(*_: object) -> LeadPage:
            raise InvalidPageToken

        monkeypatch.setattr(gateway, "list_leads", refuse)
        response = client.get("/v1/leads", params={"page_token": "abc"}, headers=AUTH)
        assert response.status_code == 422
        assert "start again without one" in fields(response)["page_token"]

    def test_server_that_cannot_list(
        self, client: TestClient, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Search attributes missing on the server: 503 saying how to register them."""

        async def refuse(*_: object) -> LeadPage:
            raise ListRefused("invalid search attribute: NurtureOwner")

        monkeypatch.setattr(gateway, "list_leads", refuse)
        response = client.get("/v1/leads", params={"owner": "ana"}, headers=AUTH)
        assert response.status_code == 503
        assert "NurtureOwner" in response.json()["detail"]
        assert "nurture setup" in response.json()["detail"]
