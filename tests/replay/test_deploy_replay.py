"""The deploy check's replaying, on saved histories instead of a server: the version each
run is grouped under, and each run's verdict (goes on, diverges, gone)."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

import workflows
from nurture.adapters.temporal.replay import (
    NO_PATCH,
    RunRef,
    code_version,
    pick,
    replay_runs,
    replayer_for,
    running_query,
    workflow_classes,
    workflow_type_names,
)
from nurture.domain.config import CATALOG, ConfigSnapshot
from nurture.domain.deploycheck import Verdict
from tests.replay.record import CONFIG

HERE = Path(__file__).parent


def history(name: str) -> WorkflowHistory:
    path = HERE / name
    return WorkflowHistory.from_json(path.stem, path.read_text())


@pytest.fixture(scope="module", autouse=True)
def _snapshots() -> None:
    """The catalog holds the corpus's snapshots, as the check preloads the database's."""
    snapshots = sorted((HERE / CONFIG).glob("*.json"))
    CATALOG.preload({p.stem: ConfigSnapshot.model_validate_json(p.read_text()) for p in snapshots})


class TestCodeVersion:
    """A run is grouped by its sequence's name@version, else by its patch markers."""

    @pytest.mark.parametrize(
        ("name", "version"),
        [
            ("sequence_evaluation_v1.json", "evaluation@1"),
            ("sequence_discovery_v2.json", "discovery@2"),
            ("lead_customer_run1.json", "patch facts-log+config-ref+owner-attributes"),
            ("before_run_patch/lead_customer_run1.json", "patch facts-log, config-ref"),
            ("before_facts_log/lead_customer_run1.json", NO_PATCH),
            ("router_won.json", NO_PATCH),
        ],
    )
    def test_version(self, name: str, version: str) -> None:
        assert code_version(history(name)) == version


class TestListing:
    """The running runs of the types asked for, all or a random sample."""

    def test_query(self) -> None:
        """Every type on the queue: one the new code no longer defines is seen too."""
        assert running_query("nurture", ["RouterWorkflow", "LeadWorkflow"]) == (
            "ExecutionStatus = 'Running' AND (TaskQueue = 'nurture' "
            "OR WorkflowType IN ('LeadWorkflow', 'RouterWorkflow'))"
        )
        with pytest.raises(ValueError, match="cannot go into a visibility query"):
            running_query("nurture' OR 'a' = 'a", [])

    def test_type_names_are_the_definitions(self) -> None:
        """A class's workflow type is its ``defn`` name (the class's own by default)."""
        names = workflow_type_names(workflow_classes(workflows))
        assert {"LeadWorkflow", "SequenceWorkflow", "RouterWorkflow"} <= names

    def test_pick(self) -> None:
        runs = [RunRef(f"wf-{n}", f"run-{n}", "LeadWorkflow") for n in range(10)]
        assert pick(runs, None, random.Random(1)) == runs
        assert pick(runs, 20, random.Random(1)) == runs
        drawn = pick(runs, 3, random.Random(1))
        assert len(set(drawn)) == 3 and set(drawn) <= set(runs)


class _Handle:
    def __init__(self, found: WorkflowHistory | None) -> None:
        self._found = found

    async def fetch_history(self) -> WorkflowHistory:
        if self._found is None:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        return self._found


class _Client:
    """Answers history reads from saved histories, by workflow id."""

    def __init__(self, histories: dict[str, WorkflowHistory]) -> None:
        self._histories = histories

    def get_workflow_handle(self, workflow_id: str, *, run_id: str) -> _Handle:
        return _Handle(self._histories.get(workflow_id))


@workflow.defn(name="SequenceWorkflow")
class _WaitFirst:
    """A sequence that now waits before anything: no history of the real one replays."""

    @workflow.run
    async def run(self, given: object) -> None:
        await workflow.sleep(timedelta(days=1))


class TestReplayRuns:
    """Each run is fetched, replayed on the classes given, and judged."""

    async def test_verdicts(self) -> None:
        lead = history("lead_customer_run1.json")
        sequence = history("sequence_evaluation_v1.json")
        client = _Client({"lead": lead, "seq": sequence})
        runs = [
            RunRef("lead", lead.run_id, "LeadWorkflow"),
            RunRef("seq", sequence.run_id, "SequenceWorkflow"),
            RunRef("gone", "r", "RouterWorkflow"),
        ]
        classes = [c for c in workflow_classes(workflows) if c.__name__ != "SequenceWorkflow"]
        replayer = replayer_for([*classes, _WaitFirst], sandboxed=False)
        settled: list[int] = []
        outcomes = await replay_runs(
            client,  # type: ignore[arg-type]
            replayer,
            runs,
            batch=2,
            concurrency=2,
            advance=settled.append,
        )
        verdicts = {o.workflow_id: (o.verdict, o.version) for o in outcomes}
        assert verdicts == {
            "lead": (Verdict.REPLAYED, "patch facts-log+config-ref+owner-attributes"),
            "seq": (Verdict.DIVERGED, "evaluation@1"),
            "gone": (Verdict.UNFETCHED, "?"),
        }
        assert settled == [2, 1]
        diverged = next(o for o in outcomes if o.workflow_id == "seq")
        assert "Nondeterminism" in diverged.message
