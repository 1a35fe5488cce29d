"""``nurture deploy check`` on the dev server, with leads in flight in the evaluation
sequence: a project folder whose sequence waits before its first email fails the check,
the same change behind ``workflow.patched`` passes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from nurture.devtools.stack import DevStack
from nurture.testing import free_port
from tests.e2e.stack.tools import lead_when, reach_evaluation
from tests.helpers import ROOT

pytestmark = pytest.mark.e2e

FIRST_STEP = '        await self.send("buying_guide")\n'
REORDERED = "        await self.wait(days(1))\n" + FIRST_STEP
"""The guide a day later: runs that sent it at once cannot replay this."""
PATCHED = (
    '        if workflow.patched("guide-a-day-later"):\n'
    "            await self.wait(days(1))\n" + FIRST_STEP
)
"""The same change for new runs only: runs in flight keep sending it at once."""


def candidate(base: Path, stack_home: Path, name: str, first_step: str) -> Path:
    """A project folder like the user's next release: the worker and workflows copied
    (not linked: the check must import these), the evaluation's first step replaced."""
    home = base / name
    home.mkdir()
    shutil.copy(ROOT / "worker.py", home / "worker.py")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "workflows", home / "workflows", ignore=ignore)
    (home / "config").symlink_to(stack_home / "config")
    evaluation = home / "workflows" / "sequences" / "evaluation.py"
    source = evaluation.read_text()
    assert FIRST_STEP in source
    source = source.replace(FIRST_STEP, first_step)
    source = source.replace("from __future__ import annotations\n", _IMPORTS)
    evaluation.write_text(source)
    return home


_IMPORTS = "from __future__ import annotations\n\nfrom temporalio import workflow\n"


def deploy_check(
    env: dict[str, str], home: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nurture.cli", "deploy", "check", "--home", str(home), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def in_evaluation(api: httpx.Client) -> list[str]:
    """Two leads whose evaluation sequence sent the buying guide and now waits for a click."""
    leads = [reach_evaluation(api, name) for name in ("dora", "delia")]
    for lead_id in leads:
        lead_when(
            api, lead_id, lambda v: any(e["template"] == "buying_guide" for e in v["emails"]), 30
        )
    return leads


def _groups(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(g["workflow_type"], g["version"]): g for g in report["groups"]}


class TestDeployCheck:
    """The check replays the running workflows on the project folder's own code."""

    def test_reordered_step_fails(
        self,
        stack: DevStack,
        stack_home: Path,
        in_evaluation: list[str],
        tmp_path: Path,
    ) -> None:
        """A wait moved before the first send: exit 1, evaluation@1 named with the
        divergence of the runs in flight; every other workflow still replays."""
        home = candidate(tmp_path, stack_home, "reordered", REORDERED)
        done = deploy_check(stack.env(), home, "--json")
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        groups = _groups(report)
        evaluation = groups[("SequenceWorkflow", "evaluation@1")]
        assert evaluation["failed"] >= len(in_evaluation)
        example = evaluation["examples"][0]
        assert example["verdict"] == "diverged"
        assert any(lead_id in example["workflow_id"] for lead_id in in_evaluation)
        assert "Timer" in example["divergence"] or "Activity" in example["divergence"]
        assert report["failed"] == evaluation["failed"]
        assert groups[("LeadWorkflow", next(v for t, v in groups if t == "LeadWorkflow"))][
            "replayed"
        ] >= len(in_evaluation)

    def test_patched_step_passes(
        self,
        stack: DevStack,
        stack_home: Path,
        in_evaluation: list[str],
        tmp_path: Path,
    ) -> None:
        """The same change behind ``workflow.patched``: exit 0, said in a sentence."""
        home = candidate(tmp_path, stack_home, "patched", PATCHED)
        done = deploy_check(stack.env(), home)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0 would fail" in done.stdout
        assert "safe to deploy" in done.stdout
        assert "SequenceWorkflow" in done.stdout and "evaluation@1" in done.stdout
        assert f"workflow code in {home.resolve() / 'workflows'}" in done.stderr

    def test_a_type_no_longer_defined_fails(
        self,
        stack: DevStack,
        stack_home: Path,
        in_evaluation: list[str],
        tmp_path: Path,
    ) -> None:
        """A release whose package no longer exports LeadWorkflow: every running lead is
        a failure (the worker would fail each of its tasks), counted without a replay."""
        home = candidate(tmp_path, stack_home, "no-lead", FIRST_STEP)
        package = home / "workflows" / "__init__.py"
        source = package.read_text()
        assert '    "LeadWorkflow",\n' in source
        package.write_text(source.replace('    "LeadWorkflow",\n', "", 1))
        done = deploy_check(stack.env(), home, "--json")
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        orphans = _groups(report)[("LeadWorkflow", "not in the new code")]
        assert orphans["failed"] >= len(in_evaluation) and orphans["replayed"] == 0
        assert report["undefined"] == orphans["failed"]
        assert orphans["examples"][0]["verdict"] == "undefined"
        assert "defines no workflow LeadWorkflow" in orphans["examples"][0]["divergence"]
        assert all(g["failed"] == 0 for k, g in _groups(report).items() if k[0] != "LeadWorkflow")

    def test_sample(self, stack: DevStack, stack_home: Path, in_evaluation: list[str]) -> None:
        """``--sample 1`` replays one of the running workflows, and says how many run."""
        done = deploy_check(stack.env(), stack_home, "--sample", "1", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["sampled"] == 1
        assert report["running"] >= 2 * len(in_evaluation)


class TestUnreachable:
    """No Temporal server at the address: exit 2 with a sentence, no traceback."""

    def test_exit_2(self, stack_home: Path) -> None:
        env = {**_plain_env(), "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
        done = deploy_check(env, stack_home)
        assert done.returncode == 2
        assert done.stderr.startswith("Cannot reach Temporal at 127.0.0.1:")
        assert "Traceback" not in done.stderr


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "NURTURE_"))}
