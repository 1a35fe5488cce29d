"""``nurture scoring backtest`` on the facts log the real stack wrote for a scripted
scenario: the shipped model against a copy whose SQL threshold is 60.

The scenario, over HTTP, on a stack of this module's own (no other test's leads):
- Wanda and Rita score 54 (the persona form's 8, 44 points of webinars, support and
  demos, a product page), become SQLs and are assigned; sales wins Wanda and returns Rita
  (budget);
- Mia scores 20 with six product pages: an MQL.

At 60 neither SQL would have crossed the threshold: the report must say so.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nurture.adapters.factlog import open_fact_store
from nurture.devtools.stack import DevStack
from tests.e2e.conftest import api_client, own_stack
from tests.e2e.stack.tools import HEADERS, assigned_sql, lead_when, reach_evaluation, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with own_stack(tmp_path_factory) as dev:
        yield dev


@pytest.fixture(scope="module")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client


def act(api: httpx.Client, view: dict[str, Any], action: str, **body: str) -> None:
    rep = view["handoffs"][-1]["owner"]
    response = api.post(
        f"/v1/leads/{view['lead_id']}/{action}", headers=HEADERS, json={"actor": rep, **body}
    )
    assert response.status_code == 200, response.text


def kinds_logged(stack: DevStack, lead_id: str) -> list[str]:
    async def read() -> list[str]:
        store = open_fact_store(f"sqlite:///{stack.data / 'ledger.sqlite3'}", stack.home)
        try:
            return [f.kind async for f in store.read(lead_ids=[lead_id])]
        finally:
            await store.close()

    return asyncio.run(read())


class TestBacktestOnTheStack:
    """The live facts log holds what a back-test needs, and the report counts it right."""

    def test_a_higher_sql_threshold(
        self, api: httpx.Client, stack: DevStack, tmp_path: Path
    ) -> None:
        wanda = assigned_sql(api, "wanda@e2e.example", "Wanda")
        rita = assigned_sql(api, "rita@e2e.example", "Rita")
        mia = reach_evaluation(api, "mia")
        lead_when(api, mia, lambda v: v["stage"] == "mql", 30)
        for action in ("accept", "convert", "won"):
            act(api, wanda, action)
        act(api, rita, "return-to-nurture", reason="budget")
        # Written by the leads' workflows a moment after the API answered.
        wait_until(lambda: kinds_logged(stack, rita["lead_id"]).count("sales_action") == 1, 30)
        wait_until(lambda: kinds_logged(stack, wanda["lead_id"]).count("sales_action") == 3, 30)

        shipped = (stack.home / "config" / "scoring.toml").read_text()
        assert "\nsql = 50 " in shipped
        candidate = tmp_path / "sql60.toml"
        candidate.write_text(shipped.replace("\nsql = 50 ", "\nsql = 60 ", 1))
        report = json.loads(self.backtest(stack, candidate))

        assert report["leads"] == 3
        stages = {k: v for k, v in report["stages"].items() if any(v)}
        assert stages == {"mql": [1, 1], "customer": [1, 1], "recycled": [1, 1]}
        mql, sql = report["crossings"]
        assert (mql["current"], mql["candidate"], mql["same"]) == (3, 3, 3)
        assert (sql["current"], sql["candidate"], sql["only_current"]) == (2, 0, 2)
        outcomes = {row["outcome"]: row for row in report["outcomes"]}
        assert set(outcomes) == {"won", "returned"}
        for row in outcomes.values():
            assert (row["handoffs"], row["current_sql"], row["candidate_sql"]) == (1, 1, 0)
        assert report["never_handed_off"] == [1, 0, 0]
        assert [m["auc"] for m in report["models"]] == [0.5, 0.5]  # both scored 54
        assert [m["sql"] for m in report["models"]] == [50, 60]

    def backtest(self, stack: DevStack, candidate: Path) -> str:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nurture.cli",
                "scoring",
                "backtest",
                str(candidate),
                "--format",
                "json",
            ],
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout
