"""``nurture sequences simulate`` refuses what it cannot simulate before starting anything,
and builds the lead from ``--lead`` and ``--profile``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from typer.testing import CliRunner

from nurture.cli import app
from nurture.cli.sequences import _lead, _pick, _start


def _run(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["sequences", "simulate", *argv], prog_name="nurture", terminal_width=200
    )
    return result.exit_code, result.output


class TestRefusals:
    """Bad input is a usage error (exit 2) naming the option, before any server starts."""

    def test_an_unknown_version(self) -> None:
        code, output = _run("evaluation@9")
        assert code == 2 and "evaluation has no version '9' (it has 1)" in output

    def test_a_profile_value_of_the_wrong_type(self) -> None:
        code, output = _run("evaluation", "--profile", "score=lots")
        assert code == 2 and "score" in output and "--lead/--profile" in output

    def test_a_lead_file_that_is_not_an_object(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)  # a short path: the error box folds long lines
        Path("lead.json").write_text("[1, 2]")
        code, output = _run("evaluation", "--lead", "lead.json")
        assert code == 2 and "is not a JSON object" in output

    def test_a_file_without_sequences(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        Path("nothing.py").write_text("X = 1\n")
        code, output = _run("evaluation", "--file", "nothing.py")
        assert code == 2 and "registers no sequence" in output

    def test_an_unknown_form(self) -> None:
        code, output = _run("welcome", "--form", "nope")
        assert code == 2 and "no form 'nope'" in output

    def test_an_event_delay_that_is_not_a_duration(self) -> None:
        code, output = _run("evaluation", "--event-after", "soon")
        assert code == 2 and "--event-after" in output


class TestTheLead:
    """Defaults, then the file, then ``--profile``; keys a sequence reads on the lead go on
    the lead, others are its profile fields."""

    def test_defaults(self) -> None:
        lead = _lead(None, {})
        assert (lead.lead_id, lead.email, lead.attributes) == (
            "simulated-lead",
            "simulated.lead@example.com",
            {},
        )

    def test_file_then_profile(self, tmp_path: Path) -> None:
        path = tmp_path / "lead.json"
        path.write_text(
            json.dumps({"timezone": "Asia/Tokyo", "score": 12, "attributes": {"industry": "x"}})
        )
        lead = _lead(path, {"score": "40", "grade": "A", "company": "Globex"})
        assert (lead.timezone, lead.score, lead.grade) == ("Asia/Tokyo", 40, "A")
        assert lead.attributes == {"industry": "x", "company": "Globex"}


class TestPickAndStart:
    """NAME is the newest version; ``--start`` without an offset is the lead's clock."""

    def test_newest_version(self) -> None:
        assert _pick("discovery") == ("discovery", 3)
        assert _pick("discovery@1") == ("discovery", 1)

    def test_a_start_in_the_lead_zone(self) -> None:
        start = _start("2099-03-27T11:00", ZoneInfo("Europe/Paris"))
        assert start == datetime(2099, 3, 27, 10, 0, tzinfo=UTC)

    def test_a_start_in_the_past(self) -> None:
        with pytest.raises(typer.BadParameter, match="in the past"):
            _start("2020-01-01T00:00+00:00", ZoneInfo("UTC"))
