"""The deploy check's report: runs grouped by type and version, a few failed ones named
with their first divergence in words, unfetched runs apart, and the command's wiring."""

from __future__ import annotations

import ast
import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode
from typer.testing import CliRunner

from nurture.adapters.temporal import replay as temporal_replay
from nurture.cli import app
from nurture.cli import deploy as deploy_cli
from nurture.config.settings import Settings
from nurture.domain.deploycheck import (
    DeployReport,
    Outcome,
    Verdict,
    build_report,
    first_divergence,
)
from tests.helpers import ROOT

CORE_FAILURE = (
    "Workflow activation completion failed: Failure { failure: Some(Failure { message: "
    '"[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: '
    'HistoryEvent(id: 8, ActivityTaskScheduled)", source: "", stack_trace: "", '
    "encoded_attributes: None, cause: None }) }"
)


def outcome(n: int, kind: str, version: str, verdict: Verdict, message: str = "") -> Outcome:
    return Outcome(f"wf-{n}", f"run-{n}", kind, version, verdict, message)


def sample_report() -> DeployReport:
    """Five leads on one patch (one failing), six evaluation runs (five diverging, one
    failing otherwise), a router gone before it was read."""
    return build_report(sample_report_outcomes(), running=40)


def sample_report_outcomes() -> list[Outcome]:
    outcomes = [outcome(n, "LeadWorkflow", "patch p", Verdict.REPLAYED) for n in range(4)]
    outcomes.append(outcome(4, "LeadWorkflow", "patch p", Verdict.FAILED, "ConfigNotLoaded"))
    outcomes.append(outcome(10, "SequenceWorkflow", "evaluation@1", Verdict.FAILED, "boom"))
    outcomes += [
        outcome(n, "SequenceWorkflow", "evaluation@1", Verdict.DIVERGED, CORE_FAILURE)
        for n in range(11, 16)
    ]
    outcomes.append(outcome(20, "RouterWorkflow", "no patch marker", Verdict.UNFETCHED, "gone"))
    return outcomes


class TestBuildReport:
    """Outcomes are counted per (type, version), in that order, failures named."""

    def test_groups_in_order_with_counts(self) -> None:
        report = sample_report()
        rows = [
            (g.workflow_type, g.version, g.replayed, g.failed, g.unfetched) for g in report.groups
        ]
        assert rows == [
            ("LeadWorkflow", "patch p", 4, 1, 0),
            ("RouterWorkflow", "no patch marker", 0, 0, 1),
            ("SequenceWorkflow", "evaluation@1", 0, 6, 0),
        ]

    def test_a_type_the_code_no_longer_defines_fails(self) -> None:
        """Counted as failures with the reason, the exit says so."""
        gone = [
            outcome(n, "OldWorkflow", "not in the new code", Verdict.UNDEFINED, "no class")
            for n in range(4)
        ]
        report = build_report(gone, running=4)
        (group,) = report.groups
        assert (group.failed, group.replayed, len(group.examples)) == (4, 0, 3)
        assert group.examples[0].verdict is Verdict.UNDEFINED
        assert report.exit_code == 1
        # Never replayed: not among the runs sampled for a replay.
        both = build_report([*gone, *sample_report_outcomes()], running=44)
        assert (both.undefined, both.sampled) == (4, sample_report().sampled)

    def test_totals(self) -> None:
        report = sample_report()
        assert (report.running, report.sampled) == (40, 12)
        assert (report.replayed, report.failed, report.unfetched) == (4, 7, 1)

    def test_three_examples_divergences_first(self) -> None:
        """Six failed evaluation runs: three named, each a divergence (the other failure,
        listed first, comes after them)."""
        examples = sample_report().groups[2].examples
        assert [e.workflow_id for e in examples] == ["wf-11", "wf-12", "wf-13"]
        assert {e.verdict for e in examples} == {Verdict.DIVERGED}
        assert examples[0].divergence.startswith("event 8: the history has ActivityTaskScheduled")

    def test_examples_limit(self) -> None:
        outcomes = [outcome(n, "LeadWorkflow", "v", Verdict.DIVERGED, "x") for n in range(5)]
        assert len(build_report(outcomes, running=5, examples=1).groups[0].examples) == 1

    def test_unfetched_is_not_a_failure(self) -> None:
        """A run gone before its history was read exits 0; any failure exits 1."""
        gone = [outcome(1, "LeadWorkflow", "v", Verdict.UNFETCHED, "not found")]
        assert build_report(gone, running=1).exit_code == 0
        assert sample_report().exit_code == 1

    def test_nothing_running(self) -> None:
        report = build_report([], running=0)
        assert (report.groups, report.exit_code, report.sampled) == ((), 0, 0)

    def test_json(self) -> None:
        data: dict[str, Any] = sample_report().as_json()
        assert {k: data[k] for k in ("ok", "running", "sampled", "replayed", "failed")} == {
            "ok": False,
            "running": 40,
            "sampled": 12,
            "replayed": 4,
            "failed": 7,
        }
        evaluation = data["groups"][2]
        assert evaluation["version"] == "evaluation@1"
        assert evaluation["examples"][0] == {
            "workflow_id": "wf-11",
            "run_id": "run-11",
            "verdict": "diverged",
            "divergence": first_divergence(CORE_FAILURE),
        }


class TestFirstDivergence:
    """A replay error becomes one readable line."""

    def test_core_failure_record(self) -> None:
        """The core's message is taken out of its failure record, its code dropped, and
        what it means said first."""
        assert first_divergence(CORE_FAILURE) == (
            "event 8: the history has ActivityTaskScheduled where the code now makes a Timer "
            "command (Timer machine does not handle this event: "
            "HistoryEvent(id: 8, ActivityTaskScheduled))"
        )

    def test_command_no_longer_made(self) -> None:
        message = (
            "[TMPRL1100] Nondeterminism error: "
            "No command scheduled for event HistoryEvent(id: 9, TimerStarted)"
        )
        assert first_divergence(message).startswith(
            "event 9: the history has TimerStarted, which the code no longer makes ("
        )

    def test_other_error_first_line(self) -> None:
        assert (
            first_divergence("\n  Config   abc not loaded\n  at line 3\n")
            == "Config abc not loaded"
        )

    def test_cut_at_limit(self) -> None:
        text = first_divergence("x" * 500, limit=50)
        assert len(text) == 50 and text.endswith("…")

    def test_empty(self) -> None:
        assert first_divergence("") == "no message"


class TestCommand:
    """``nurture deploy check`` replays the project's code, in an interpreter started on it."""

    def test_needs_worker_script(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(app, ["deploy", "check", "--home", str(tmp_path)])
        assert result.exit_code == 1
        assert f"no worker.py in {tmp_path}" in result.output

    def test_restarts_on_the_project_code(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The check starts again with the folder of worker.py (links resolved) first on
        the import path, never the working directory, and the same options."""
        code = tmp_path / "release"
        code.mkdir()
        (code / "worker.py").write_text("")
        home = tmp_path / "home"
        home.mkdir()
        (home / "worker.py").symlink_to(code / "worker.py")
        started: list[tuple[str, list[str], dict[str, str]]] = []

        def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
            started.append((path, argv, env))
            raise SystemExit(0)

        monkeypatch.setattr(os, "execve", execve)
        monkeypatch.delenv(deploy_cli._CODE_ENV, raising=False)
        argv = ["deploy", "check", "--home", str(home), "--sample", "5", "--json"]
        CliRunner().invoke(app, argv)
        ((_, args, env),) = started
        assert args[1:5] == ["-P", "-m", "nurture.cli", "deploy"]
        assert args[5:] == [
            "check",
            "--home",
            str(home),
            "--batch",
            "50",
            "--concurrency",
            "8",
            "--sample",
            "5",
            "--json",
        ]
        assert env["PYTHONPATH"].split(os.pathsep)[0] == str(code)
        assert env["NURTURE_HOME"] == str(home)
        assert env[deploy_cli._CODE_ENV] == str(code)


class TestListRefused:
    """A server that answers but will not list (a permission, a namespace) is said in one
    line, exit 2, as an unreachable one: never a traceback."""

    @pytest.mark.parametrize(
        ("status", "said"),
        [
            (RPCStatusCode.PERMISSION_DENIED, "Temporal refused to list the running workflows"),
            (RPCStatusCode.UNAVAILABLE, "Cannot reach Temporal at"),
        ],
    )
    def test_one_line_and_exit_2(
        self,
        status: RPCStatusCode,
        said: str,
        monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        async def refuse(client: object, task_queue: str, types: list[str]) -> list[object]:
            raise RPCError("namespace nurture-prod: request denied", status, b"")

        def leave(code: int = 0) -> None:
            raise SystemExit(code)

        monkeypatch.setattr(temporal_replay, "list_running", refuse)
        monkeypatch.setattr(deploy_cli, "exit_skipping_teardown", leave)
        with pytest.raises(SystemExit) as exited:
            asyncio.run(deploy_cli._listed(object(), Settings(), []))  # type: ignore[arg-type]
        assert exited.value.code == 2
        err = capfd.readouterr().err
        assert err.startswith(said) and "request denied" in err and len(err.splitlines()) == 1


class TestWorkflowsReplayed:
    """The check replays what worker.py registers."""

    def test_same_classes_as_the_worker(self) -> None:
        import workflows
        from nurture.adapters.temporal.replay import workflow_classes

        tree = ast.parse((ROOT / "worker.py").read_text())
        registered = next(
            [element.id for element in keyword.value.elts]  # type: ignore[attr-defined]
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            for keyword in node.keywords
            if keyword.arg == "workflows"
        )
        assert sorted(c.__name__ for c in workflow_classes(workflows)) == sorted(registered)
