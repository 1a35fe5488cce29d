"""``GET /v1/leads`` on the dev stack: leads the worker moved are listed by the search
attributes their workflows set, without an address."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.stack.tools import HEADERS, post_events, post_form, wait_until
from tests.helpers import SQL_BY_SCORE

pytestmark = pytest.mark.e2e


def _listed(api: httpx.Client, **filters: Any) -> dict[str, dict[str, Any]]:
    """Every lead the filters list (all pages, five at a time), by id."""
    rows: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {**filters, "page_size": 5}
    while True:
        response = api.get("/v1/leads", params=params, headers=HEADERS)
        assert response.status_code == 200, response.text
        page = response.json()
        rows |= {row["lead_id"]: row for row in page["leads"]}
        if not page["next_page_token"]:
            return rows
        params["page_token"] = page["next_page_token"]


class TestLeadList:
    """A lead scored into sales and one just created are told apart by stage and score."""

    def test_filters_follow_the_leads(self, api: httpx.Client) -> None:
        quiet = post_form(api, "quiet@e2e.example", first_name="Quiet")
        keen = post_form(api, "keen@e2e.example", first_name="Keen")
        # 44 points (the guide gave 4), then a hand-raise: an SQL of grade B or better.
        behaviour = [(kind, {}) for kind in (*SQL_BY_SCORE, "quote_requested")]
        post_events(api, keen, behaviour, "keen-list")
        wait_until(lambda: keen in _listed(api, stage="sql", min_score=40), within=30)
        everyone = _listed(api)
        assert {quiet, keen} <= set(everyone)
        assert quiet not in _listed(api, stage="sql")
        assert quiet not in _listed(api, min_score=40)
        row = everyone[keen]
        assert row["stage"] == "sql" and row["score"] >= 40 and row["last_activity_at"]
        assert row["grade"] in {"A", "B"} and everyone[quiet]["grade"] == "C"
        assert quiet not in _listed(api, grade=row["grade"])
        assert keen not in _listed(api, grade="C")
        assert "@" not in str(everyone)
