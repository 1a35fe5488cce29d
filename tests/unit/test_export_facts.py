"""``nurture export facts`` streams the project's facts log, filtered by moment and kind."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.adapters.factlog import SqliteFactStore
from nurture.cli import app
from nurture.domain.factlog import Fact
from tests.configfiles import copy_project
from tests.helpers import T0

FACTS = [
    Fact(id="f1", lead_id="a", kind="lead_created", at=T0, data={"source": "=web"}),
    Fact(id="f2", lead_id="a", kind="email_sent", at=T0 + timedelta(days=1), data={}),
    Fact(id="f3", lead_id="b", kind="lead_created", at=T0 + timedelta(days=2), data={}),
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = copy_project(tmp_path / "project")

    async def seed() -> None:
        store = SqliteFactStore(home / ".nurture" / "ledger.sqlite3")
        await store.append(FACTS)
        await store.close()

    asyncio.run(seed())
    monkeypatch.delenv("NURTURE_LEDGER_URL", raising=False)
    monkeypatch.delenv("NURTURE_HOME", raising=False)
    monkeypatch.chdir(home)
    return home


def _export(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["export", "facts", *args])
    return result.exit_code, result.stdout


class TestExportFacts:
    """Each fact is one JSON line (or CSV row); --since, --until and --kind filter."""

    @pytest.mark.usefixtures("home")
    def test_every_fact_as_json_lines(self) -> None:
        code, out = _export()
        assert code == 0
        lines = [json.loads(line) for line in out.splitlines()]
        assert [line["id"] for line in lines] == ["f1", "f2", "f3"]
        assert lines[0]["data"] == {"source": "=web"}

    @pytest.mark.usefixtures("home")
    def test_filters(self) -> None:
        code, out = _export("--since", "2026-03-03", "--until", "2026-03-04T09:00")
        assert code == 0 and [json.loads(x)["id"] for x in out.splitlines()] == ["f2"]
        code, out = _export("--kind", "lead_created")
        assert [json.loads(x)["id"] for x in out.splitlines()] == ["f1", "f3"]

    @pytest.mark.usefixtures("home")
    def test_csv(self) -> None:
        code, out = _export("--format", "csv")
        rows = list(csv.DictReader(io.StringIO(out, newline="")))
        assert code == 0 and [r["kind"] for r in rows][:2] == ["lead_created", "email_sent"]
        assert rows[0]["data"] == '{"source":"=web"}'

    @pytest.mark.usefixtures("home")
    def test_unknown_kind(self) -> None:
        result = CliRunner().invoke(app, ["export", "facts", "--kind", "nope"])
        assert result.exit_code == 2 and "no fact kind nope" in result.output
