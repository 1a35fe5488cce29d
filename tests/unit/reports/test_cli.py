"""``nurture report <name>`` reads the project's facts store and prints the report as a
table, as JSON scripts can rely on, or as CSV with one header row."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from nurture.adapters.factlog import SqliteFactStore
from nurture.cli import app
from nurture.cli.reports import print_tables
from nurture.domain.reports import REPORT_NAMES
from nurture.domain.reports.funnel import funnel
from nurture.domain.reports.velocity import velocity
from nurture.services.reports import parse_query
from tests.configfiles import copy_project
from tests.unit.reports import test_funnel, test_velocity
from tests.unit.reports.factbook import at, fact, ordered


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose ledger database (the default, .nurture/ledger.sqlite3) holds the
    funnel's and the velocity's fixtures, the velocity's leads renamed apart."""
    home = copy_project(tmp_path / "project")

    async def seed() -> None:
        store = SqliteFactStore(home / ".nurture" / "ledger.sqlite3")
        await store.append(LOG)
        await store.close()

    asyncio.run(seed())
    monkeypatch.delenv("NURTURE_LEDGER_URL", raising=False)
    monkeypatch.delenv("NURTURE_HOME", raising=False)
    monkeypatch.chdir(home)
    return home


def nurture(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), prog_name="nurture", terminal_width=100)
    return result.exit_code, result.output


NOVEMBER = ("--since", "2026-11-01", "--until", "2026-12-01")
LOG = ordered(
    [
        *test_funnel.LOG,
        *(f.model_copy(update={"lead_id": f"v-{f.lead_id}"}) for f in test_velocity.LOG),
    ]
)


class TestFormats:
    """JSON is the report's model; CSV has one header row; tables are for people."""

    def test_json(self, home: Path) -> None:
        """The funnel of November as the pure report computes it over the same facts."""
        code, output = nurture("report", "funnel", *NOVEMBER, "--by", "source", "--format", "json")
        assert code == 0, output
        data = json.loads(output)
        expected = funnel(LOG, parse_query("funnel", *NOVEMBER[1::2], "source"))
        assert data == expected.model_dump(mode="json")
        # The funnel's 5 leads of November and velocity's a, b, c, e (not d: October).
        assert data["stages"][0] == {
            "stage": "new",
            "reached": 9,
            "rate": None,
            "of_new": 1.0,
            "entered": 9,
        }
        assert [s["stage"] for s in data["stages"]] == [
            "new",
            "mql",
            "sql",
            "accepted",
            "opportunity",
            "customer",
        ]

    def test_csv_of_one_table(self, home: Path) -> None:
        code, output = nurture("report", "funnel", *NOVEMBER, "--format", "csv")
        assert code == 0, output
        rows = list(csv.reader(io.StringIO(output)))
        assert rows[0] == ["stage", "reached", "rate", "of_new", "entered"]
        mql = funnel(LOG, parse_query("funnel", *NOVEMBER[1::2])).stages[1]
        assert rows[1:3] == [
            ["new", "9", "", "1.0", "9"],
            ["mql", str(mql.reached), str(mql.rate), str(mql.of_new), str(mql.entered)],
        ]
        assert len(rows) == 7

    def test_csv_of_several_tables(self, home: Path) -> None:
        """Velocity's two tables under one header, each row naming its table."""
        code, output = nurture("report", "velocity", *NOVEMBER, "--format", "csv")
        assert code == 0, output
        rows = list(csv.DictReader(io.StringIO(output)))
        assert [r["table"] for r in rows] == ["moves"] * 6 + ["acceptance"]
        expected = velocity(LOG, parse_query("velocity", *NOVEMBER[1::2]))
        assert rows[0]["median_hours"] == str(expected.moves[0].median_hours)
        assert rows[-1]["handoffs"] == "5"  # only velocity's leads were handed off
        assert rows[-1]["sla_hours"] == "1.0"  # sales.toml: accept_within = "1h"

    def test_table(self, home: Path) -> None:
        code, output = nurture("report", "funnel", *NOVEMBER)
        assert code == 0, output
        assert "Funnel, 2026-11-01 to 2026-12-01 (excluded)" in output
        assert "Reached" in output
        assert "88.9%" in output  # mql: 8 of 9
        assert max(map(len, output.splitlines())) <= 100

    @pytest.mark.parametrize("name", REPORT_NAMES)
    def test_every_report_prints(self, home: Path, name: str) -> None:
        code, output = nurture("report", name)
        assert code == 0, output
        assert max(map(len, output.splitlines())) <= 100


class TestRefusals:
    """A bad parameter is a usage error naming the option."""

    @pytest.mark.parametrize(
        ("args", "option"),
        [
            (("funnel", "--since", "2026-11-31"), "--since"),
            (("funnel", "--by", "rep"), "--by"),
            (("sales", "--by", "source"), "--by"),
            (("funnel", "--since", "2026-12-01", "--until", "2026-11-01"), "--until"),
        ],
    )
    def test_bad_parameter(self, home: Path, args: tuple[str, ...], option: str) -> None:
        code, output = nurture("report", *args)
        assert code == 2
        assert f"Invalid value for '{option}'" in output

    def test_bad_format(self, home: Path) -> None:
        code, output = nurture("report", "funnel", "--format", "xml")
        assert code == 2
        assert "--format" in output


class TestMarkupInCells:
    """A cell is printed as the text it is: Rich markup in a campaign name is shown, never
    interpreted (no crash on ``[/]``, no hidden link)."""

    @pytest.mark.parametrize(
        "campaign", ["[/]", "[link=http://evil.example]spring[/link]", "[bold red]x"]
    )
    def test_printed_literally(self, campaign: str) -> None:
        log = [fact("l1", "lead_created", at(1), source="inbound", utm_campaign=campaign)]
        result = funnel(log, parse_query("funnel", *NOVEMBER[1::2], "utm_campaign"))
        console = Console(width=120, record=True, file=io.StringIO())
        print_tables(result, console)
        assert campaign in console.export_text()
        assert "evil.example" not in console.export_html().replace(campaign, "")


class TestUnusableDatabase:
    """A database URL nurture does not support, or a database it cannot reach, ends the
    command with one line saying why and exit status 1, never a traceback."""

    @pytest.mark.parametrize(
        ("url", "words"),
        [
            ("mysql://nurture@localhost/nurture", "is not supported"),
            ("postgresql://nobody@127.0.0.1:1/none", "127.0.0.1"),
            ("sqlite:///config/nurture.toml/ledger.sqlite3", "nurture report: "),
        ],
        ids=["unsupported", "unreachable", "not-a-folder"],
    )
    def test_one_line_and_exit_1(
        self, home: Path, monkeypatch: pytest.MonkeyPatch, url: str, words: str
    ) -> None:
        monkeypatch.setenv("NURTURE_LEDGER_URL", url)
        result = CliRunner().invoke(app, ["report", "funnel"], prog_name="nurture")
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        (line,) = result.stderr.splitlines()
        assert line.startswith("nurture report: ") and words in line
        assert "Traceback" not in result.output
