"""``nurture sequences simulate`` and the simulation beneath it: the real SequenceWorkflow,
run once per branch on the time-skipping test server, prints what the timing tests assert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activities import ConfigActivities
from nurture.adapters.mail.rendering import TemplateRenderer
from nurture.config.files import load_sales_team
from nurture.devtools.binaries import find_binary
from nurture.domain.models import FormContext
from nurture.domain.sequences.models import LeadSnapshot
from nurture.domain.sequences.simulation import EVENT, HOLDOUT, NO_EVENT, Simulation
from nurture.services.simulation import simulate
from nurture.services.simulation_branch import Project, SimulationError, SimulationRequest
from nurture.services.simulation_parts import sequences_from_file
from nurture.testing import MemoryConfigStore
from tests.helpers import PROJECT_FILE, ROOT, SALES_FILE, SCORING_FILE, TEMPLATES, project
from tests.workflow.sequences.sequencetools import saturday_before_spring_change

PARIS_LEAD = LeadSnapshot(lead_id="sim-lead", email="sim@example.com", timezone="Europe/Paris")
EVALUATION_EDIT = """
from workflows.sequences.base import Sequence, days, sequence


@sequence("evaluation", version=1)
class EvaluationEdit(Sequence):
    goal = "demo_requested"

    async def steps(self) -> None:
        await self.send("buying_guide")
        if await self.wait_for("email_clicked", within=days(2)):
            await self.send("case_study")
        else:
            await self.send("webinar_invite")
"""
FOUR_AT_ONCE = """
from workflows.sequences.base import Sequence, sequence


@sequence("four-at-once", version=1)
class FourAtOnce(Sequence):
    async def steps(self) -> None:
        for template in ("buying_guide", "case_study", "webinar_invite", "talk_to_an_expert"):
            await self.send(template)
"""

BROKEN = """
from workflows.sequences.base import Sequence, sequence


@sequence("broken", version=1)
class Broken(Sequence):
    async def steps(self) -> None:
        await self.send("buying_guide")
        raise KeyError("industry")
"""


def _saturday() -> datetime:
    return saturday_before_spring_change(datetime.now(UTC))


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NURTURE_HOME": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "nurture.cli", "sequences", "simulate", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _paris(at: datetime) -> str:
    """How the report writes a moment of a Paris lead after the spring change (UTC+2)."""
    local = at + timedelta(hours=2)
    return f"{local:%A}".ljust(9) + f" {local:%Y-%m-%d %H:%M} Europe/Paris ({at:%H:%M} UTC)"


def _project() -> Project:
    shipped = project()
    team = load_sales_team(SALES_FILE)
    config = ConfigActivities(SCORING_FILE, PROJECT_FILE, lambda: team, MemoryConfigStore())
    return Project(
        test_server=find_binary("temporal-test-server"),
        config_activities=config.activities(),
        renderer=TemplateRenderer(TEMPLATES, shipped.defaults.locale),
        brand=shipped.brand,
        sending=shipped.sending,
    )


def _templates(simulation: Simulation) -> list[list[str]]:
    return [[e.template for e in b.emails] for b in simulation.branches]


class TestSimulateCommand:
    """The command prints each branch of the shipped evaluation with the times the timing
    tests assert: guide Monday 09:00 Paris (07:00 UTC, after the spring change) for a lead
    enrolled on the Saturday before; webinar at +4d without a click, the case study at the
    click with a click; the expert 3 days after either; the goal ends it early."""

    def test_evaluation_across_the_spring_change(self) -> None:
        saturday = _saturday()
        done = _cli(
            "evaluation", "--start", saturday.isoformat(), "--profile", "timezone=Europe/Paris"
        )
        assert done.returncode == 0, done.stderr
        monday = saturday + timedelta(days=2, hours=-3)  # 07:00 UTC = 09:00 Paris
        click = monday + timedelta(hours=1)
        assert done.stdout.splitlines() == [
            "evaluation v1 for a lead in Europe/Paris: 3 branches",
            f"Enters Saturday {saturday:%Y-%m-%d} 11:00 Europe/Paris (10:00 UTC)",
            "",
            "Branch 1: no email_clicked within 4d",
            f"  {_paris(monday)}  buying_guide       waited: send window",
            f"  {_paris(monday + timedelta(days=4))}  · no email_clicked within 4d",
            f"  {_paris(monday + timedelta(days=4))}  webinar_invite",
            f"  {_paris(monday + timedelta(days=7))}  talk_to_an_expert",
            "  → completed",
            "",
            "Branch 2: email_clicked during the 4d wait",
            f"  {_paris(monday)}  buying_guide       waited: send window",
            f"  {_paris(click)}  ← email_clicked (buying_guide)",
            f"  {_paris(click)}  case_study",
            f"  {_paris(click + timedelta(days=3))}  talk_to_an_expert",
            "  → completed",
            "",
            "Branch 3: demo_requested just after the first email",
            f"  {_paris(monday)}  buying_guide       waited: send window",
            f"  {_paris(monday)}  ← demo_requested",
            "  → goal reached (demo_requested): nothing more is sent",
        ]
        assert _paris(monday).startswith("Monday ") and "09:00 Europe/Paris (07:00 UTC)" in _paris(
            monday
        )

    def test_json_and_an_edit_from_a_file(self, tmp_path: Path) -> None:
        """``--file`` simulates the edit (a 2-day wait, no expert) in place of the
        registered version; ``--json`` gives the same branches for scripts."""
        edit = tmp_path / "evaluation_edit.py"
        edit.write_text(EVALUATION_EDIT)
        saturday = _saturday()
        done = _cli("evaluation@1", "--file", str(edit), "--start", saturday.isoformat(), "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        branches = result["branches"]
        assert [[e["template"] for e in b["emails"]] for b in branches] == [
            ["buying_guide", "webinar_invite"],
            ["buying_guide", "case_study"],
            ["buying_guide"],
        ]
        webinar = datetime.fromisoformat(branches[0]["emails"][1]["at"])
        assert webinar.astimezone(UTC).replace(second=0, microsecond=0) == saturday + timedelta(
            days=4, hours=-3
        )  # Wednesday 09:00 Paris

    def test_a_start_in_the_past_is_refused(self) -> None:
        done = _cli("evaluation", "--start", "2020-01-01T09:00")
        assert done.returncode == 2
        assert "is in the past" in done.stderr

    def test_an_unknown_sequence_is_refused(self) -> None:
        done = _cli("nope")
        assert done.returncode == 2
        assert "no sequence named 'nope'" in done.stderr


class TestSimulation:
    """The simulation service: splits explored variant by variant, the cap held on the
    simulated clock, the bound on branches."""

    async def test_every_variant_of_a_split_and_both_sides_of_the_wait(self) -> None:
        request = SimulationRequest("discovery", 3, PARIS_LEAD, _saturday())
        simulation = await simulate(request, _project())
        taken = [[(c.point.label, c.option) for c in b.choices] for b in simulation.branches]
        variants = {choices[0][1] for choices in taken}
        assert variants == {"question", "benefit", HOLDOUT}
        assert (
            sorted(c[1][1] for c in taken if len(c) == 2) == [EVENT, EVENT, EVENT] + [NO_EVENT] * 3
        )
        assert simulation.branches[-1].goal == "demo_requested"
        assert len(simulation.branches) == 7 and not simulation.cut
        holdout = [b for b in simulation.branches if b.choices[0].option == HOLDOUT]
        assert all("about_your_needs" not in [e.template for e in b.emails] for b in holdout)

    async def test_the_frequency_cap_holds_the_fourth_email_a_week(self, tmp_path: Path) -> None:
        sequence = tmp_path / "four.py"
        sequence.write_text(FOUR_AT_ONCE)
        with sequences_from_file(sequence):
            request = SimulationRequest("four-at-once", 1, PARIS_LEAD, _saturday())
            simulation = await simulate(request, _project())
        (branch,) = simulation.branches
        first, *_, fourth = branch.emails
        assert fourth.waited_for == ("frequency cap",)
        # A week after the first, to the second: each send's moment is the server's clock
        # when its activity ran, a few milliseconds either side of the timer's.
        held = fourth.at - first.at
        assert timedelta(days=7) - timedelta(seconds=1) <= held < timedelta(days=7, minutes=1)

    async def test_a_goal_given_as_a_predicate_is_reached_with_a_declared_event(self) -> None:
        """Re-engagement ends on any sign of life: a declared type other than an open."""
        project = replace(_project(), event_types=("email_opened", "page_viewed"))
        request = SimulationRequest("reengagement", 1, PARIS_LEAD, _saturday())
        simulation = await simulate(request, project)
        goal = simulation.branches[-1]
        assert (goal.goal, goal.outcome) == ("page_viewed", "goal")
        assert [e.template for e in goal.emails] == ["whats_new"]

    async def test_the_welcome_sends_what_its_form_offers(self) -> None:
        form = FormContext(form_id="white-paper", related=project().forms["white-paper"].related)
        request = SimulationRequest("welcome", 1, PARIS_LEAD, _saturday(), form=form)
        (branch,) = (await simulate(request, _project())).branches
        assert [e.template for e in branch.emails] == ["second_conversion"]

    async def test_a_bug_in_the_sequence_is_reported(self, tmp_path: Path) -> None:
        sequence = tmp_path / "broken.py"
        sequence.write_text(BROKEN)
        with sequences_from_file(sequence), pytest.raises(SimulationError, match="industry"):
            await simulate(SimulationRequest("broken", 1, PARIS_LEAD, _saturday()), _project())

    async def test_the_bound_cuts_and_says_so(self) -> None:
        request = SimulationRequest("evaluation", 1, PARIS_LEAD, _saturday(), limit=2)
        simulation = await simulate(request, _project())
        assert _templates(simulation) == [
            ["buying_guide", "webinar_invite", "talk_to_an_expert"],
            ["buying_guide", "case_study", "talk_to_an_expert"],
        ]
        assert simulation.cut
