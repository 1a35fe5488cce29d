"""``nurture enrolment check`` on the real stack: leads in flight, listed from Temporal's
visibility, their facts from the live log, judged by the shipped rules and a changed copy.

The scenario, over HTTP, on a stack of this module's own (no other test's leads):
- Ella reaches the evaluation buying stage (an MQL): she runs the evaluation sequence;
- Dina posts the white paper form only (a new lead, discovery buying stage): no rule
  takes her (discovery asks for the newsletter form), the form's welcome runs beside;
- Sam becomes an SQL and is assigned: his evaluation sequence stopped, no rule takes him.

The changed copy drops discovery's newsletter condition and lets the decision sequence
(priority 30) take evaluation-stage leads: Dina would enter discovery, Ella would change
from evaluation to decision, Sam stays out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nurture.devtools.stack import DevStack
from tests.e2e.conftest import api_client, own_stack
from tests.e2e.stack.tools import assigned_sql, lead_when, post_form, reach_evaluation

pytestmark = pytest.mark.e2e

DISCOVERY = 'buying_stages = ["discovery"]\nforms = ["newsletter"]\n'
DECISION = 'priority = 30\nbuying_stages = ["decision"]\n'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    with own_stack(tmp_path_factory) as dev:
        yield dev


@pytest.fixture(scope="module")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client


@pytest.fixture(scope="module")
def leads(api: httpx.Client) -> dict[str, str]:
    ella = reach_evaluation(api, "ella")
    dina = post_form(api, "dina@e2e.example", first_name="Dina")
    sam = assigned_sql(api, "sam@e2e.example", "Sam")["lead_id"]
    lead_when(api, ella, lambda v: v["sequence"] is not None and v["stage"] == "mql", 30)
    lead_when(api, dina, lambda v: v["stage"] == "new", 30)
    return {"ella": ella, "dina": dina, "sam": sam}


def changed_rules(stack: DevStack, where: Path) -> Path:
    shipped = (stack.home / "config" / "nurture.toml").read_text()
    assert DISCOVERY in shipped and DECISION in shipped
    where.write_text(
        shipped.replace(DISCOVERY, 'buying_stages = ["discovery"]\n', 1).replace(
            DECISION, 'priority = 30\nbuying_stages = ["evaluation", "decision"]\n', 1
        )
    )
    return where


def check(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nurture.cli", "enrolment", "check", *args],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settled(stack: DevStack, *args: str) -> dict[str, Any]:
    """The JSON report once visibility lists the three leads and the log holds Ella's
    entry (both lag the API by a moment); the last one read when that never happens."""
    deadline = time.monotonic() + 60
    while True:
        done = check(stack, *args, "--format", "json")
        assert done.returncode == 0, done.stderr
        report: dict[str, Any] = json.loads(done.stdout)
        if report["running"] == 3 and report["kinds"]["stays"][0] == 1:
            return report
        if time.monotonic() > deadline:
            return report
        time.sleep(1)


class TestEnrolmentCheckOnTheStack:
    def test_a_changed_set_of_rules(
        self, stack: DevStack, leads: dict[str, str], tmp_path: Path
    ) -> None:
        report = settled(stack, str(changed_rules(stack, tmp_path / "changed.toml")))

        assert (report["running"], report["unknown"]) == (3, 0)
        assert report["kinds"] == {
            "enters": [0, 1],
            "leaves": [0, 0],
            "changes": [0, 1],
            "stays": [1, 0],
            "none": [2, 1],
        }
        assert report["moves"] == {
            "enters discovery": [0, 1],
            "evaluation → decision": [0, 1],
            "stays in evaluation": [1, 0],
            "stays out of sequences": [2, 1],
        }
        listed = {d["lead_id"]: (d["current"], d["candidate"]) for d in report["listed"]}
        assert listed == {
            leads["dina"]: ("stays out of sequences", "enters discovery"),
            leads["ella"]: ("stays in evaluation", "evaluation → decision"),
        }
        assert report["differing"] == 2 and not report["same_rules"]

    def test_the_table_a_person_reads(
        self, stack: DevStack, leads: dict[str, str], tmp_path: Path
    ) -> None:
        settled(stack)
        done = check(stack, str(changed_rules(stack, tmp_path / "changed.toml")))
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert "Running leads at their next evaluation" in out
        assert "nurture.toml (current) and changed.toml (candidate)" in " ".join(out.split())
        assert "evaluation → decision" in out and leads["dina"] in out

    def test_without_a_candidate_the_rules_in_force(
        self, stack: DevStack, leads: dict[str, str]
    ) -> None:
        """No file named and no config/nurture.candidate.toml: the rules against themselves;
        with one there, it is the candidate."""
        report = settled(stack)
        assert report["same_rules"] and report["differing"] == 0
        assert report["kinds"]["stays"] == [1, 1] and report["kinds"]["none"] == [2, 2]
        candidate = stack.home / "config" / "nurture.candidate.toml"
        changed_rules(stack, candidate)
        try:
            picked = settled(stack)
        finally:
            candidate.unlink()
        assert picked["candidate"] == "nurture.candidate.toml" and picked["differing"] == 2

    def test_a_broken_candidate_is_refused_at_its_line(
        self, stack: DevStack, tmp_path: Path
    ) -> None:
        shipped = (stack.home / "config" / "nurture.toml").read_text()
        bad = tmp_path / "bad.toml"
        bad.write_text(shipped.replace('sequence = "discovery"', 'sequence = "discovry"', 1))
        done = check(stack, str(bad))
        assert done.returncode == 1
        line = shipped[: shipped.index('sequence = "discovery"')].count("\n") + 1
        assert f"bad.toml:{line}: enrolment.2.sequence: no sequence 'discovry'" in done.stderr
        assert done.stdout == ""
