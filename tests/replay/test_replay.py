"""Every saved history replays on today's code, and together they take every path the
workflows declare: no change breaks a lead, a sequence or the router in flight.

The corpus is recorded by ``python -m tests.replay.record``. What it must cover is read
from the workflow and activity definitions, not listed here: a signal, update, activity
or sequence added without recording a history that uses it fails these tests.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from temporalio import activity, workflow
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import activities
import workflows
from nurture.adapters.temporal.runner import workflow_runner
from nurture.domain.config import CATALOG, ConfigSnapshot
from nurture.domain.lead.messages import LeadMessage
from tests.replay.record import CONFIG
from workflows import search_attributes
from workflows.config import CONFIG_REF_PATCH
from workflows.lead_facts import FACTS_LOG_PATCH
from workflows.patches import FACTS_CONFIG_PATCH, RUN_PATCH
from workflows.sequences import REGISTRY

HERE = Path(__file__).parent
SNAPSHOTS = sorted((HERE / CONFIG).glob("*.json"))
"""The configuration snapshots the corpus names by digest, as a worker's database holds them."""
HISTORIES = sorted(p for p in HERE.glob("**/*.json") if p not in SNAPSHOTS)
"""The corpus; in ``before_facts_log/`` leads recorded before the facts log (c8a8952), in
``before_config_ref/`` the corpus recorded before the configuration was referenced by
digest (d47e967), in ``before_run_patch/`` the corpus recorded with one marker per
patch (7c3365c), and in ``before_owner_attributes/`` the corpus recorded before leads
published their owner (2c5a736): runs in flight on an upgrade must go on
(``workflows.lead_facts.FACTS_LOG_PATCH``, ``workflows.config.CONFIG_REF_PATCH``,
``workflows.patches.FACTS_CONFIG_PATCH``, ``workflows.patches.RUN_PATCH``)."""
LOADED = {path: WorkflowHistory.from_json(path.stem, path.read_text()) for path in HISTORIES}
WORKFLOWS = [
    cls
    for cls in (getattr(workflows, name) for name in workflows.__all__)
    if inspect.isclass(cls) and workflow._Definition.from_class(cls) is not None
]
"""Every workflow class the package exports (the private lookup is the SDK's own: it is
how a worker reads a class's signals and updates)."""


@pytest.fixture(scope="module", autouse=True)
def _snapshots() -> None:
    """The worker's catalog holds the saved snapshots, as a worker preloads its database's."""
    CATALOG.preload({p.stem: ConfigSnapshot.model_validate_json(p.read_text()) for p in SNAPSHOTS})


def _definitions() -> list[workflow._Definition]:
    return [workflow._Definition.must_from_class(cls) for cls in WORKFLOWS]


def _activity_names() -> set[str]:
    """The names of every activity the ``activities`` package defines."""
    names = set()
    for exported in (getattr(activities, name) for name in activities.__all__):
        members = vars(exported).values() if inspect.isclass(exported) else [exported]
        for member in members:
            found = activity._Definition.from_callable(member) if callable(member) else None
            if found is not None and found.name:
                names.add(found.name)
    return names


def _events() -> Iterator[HistoryEvent]:
    for history in LOADED.values():
        yield from history.events


def _workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


def _local_activity(event: HistoryEvent) -> str | None:
    """The activity type a local activity's marker records."""
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != "core_local_activity":
        return None
    return str(json.loads(marker.details["data"].payloads[0].data)["activity_type"])


def _config_digests(history: WorkflowHistory) -> set[str]:
    """The digests the history's ``current_config`` markers returned."""
    return {
        json.loads(e.marker_recorded_event_attributes.details["result"].payloads[0].data)["digest"]
        for e in history.events
        if _local_activity(e) == "current_config"
    }


def _patches(history: WorkflowHistory) -> set[str]:
    """The patch ids the history's patch markers record."""
    return {
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_patch"
    }


class TestReplay:
    """Each saved history replays on today's workflows without a non-determinism error."""

    @pytest.mark.parametrize("runner", ["sandbox", "worker", "unsandboxed"])
    @pytest.mark.parametrize(
        "path", HISTORIES, ids=[str(p.relative_to(HERE).with_suffix("")) for p in HISTORIES]
    )
    async def test_replays(self, path: Path, runner: str) -> None:
        """Replayed with every workflow class, the history raises nothing: in the full
        sandbox (as the tests run workflows), in the worker's, which shares nurture's
        modules between runs, and without the sandbox (``NURTURE_WORKER_SANDBOX=false``)."""
        history = LOADED[path]
        runners = {
            "sandbox": SandboxedWorkflowRunner,
            "worker": workflow_runner,
            "unsandboxed": lambda: workflow_runner(sandboxed=False),
        }
        replayer = Replayer(
            workflows=WORKFLOWS,
            data_converter=pydantic_data_converter,
            workflow_runner=runners[runner](),
        )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None
        started = history.events[0].workflow_execution_started_event_attributes
        # A run continued as new may end soon after it starts; replaying it still proves
        # the input carried over decodes. Any other history this short proves little.
        assert len(history.events) > 10 or started.continued_execution_run_id, "too short"


class TestCoverage:
    """The corpus takes every signal, update, activity and workflow the code defines."""

    def test_every_workflow_has_histories(self) -> None:
        """LeadWorkflow, SequenceWorkflow and RouterWorkflow each have a history."""
        recorded = {_workflow_type(h) for h in LOADED.values()}
        assert {d.name for d in _definitions()} <= recorded

    def test_every_signal_is_received(self) -> None:
        """Each signal a workflow declares arrives in some history."""
        declared = {name for d in _definitions() for name in d.signals if name}
        received = {
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in _events()
            if e.HasField("workflow_execution_signaled_event_attributes")
        }
        assert declared - received == set()

    def test_every_lead_message_kind_is_received(self) -> None:
        """Each kind of the lead's message union arrives in some history: one signal takes
        them all, so its name alone would not show a kind left unrecorded."""
        union = get_args(get_args(LeadMessage)[0])
        declared = {get_args(kind.model_fields["kind"].annotation)[0] for kind in union}
        received = {
            json.loads(payload.data).get("kind")
            for e in _events()
            if e.HasField("workflow_execution_signaled_event_attributes")
            for payload in e.workflow_execution_signaled_event_attributes.input.payloads
        }
        assert declared - received == set()

    def test_every_update_is_accepted(self) -> None:
        """Each update a workflow declares is accepted in some history."""
        declared = {name for d in _definitions() for name in d.updates if name}
        accepted = {
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in _events()
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        }
        assert declared - accepted == set()

    def test_every_activity_is_called(self) -> None:
        """Each activity the workers offer is scheduled (or run locally) in some history."""
        called = {
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in _events()
            if e.HasField("activity_task_scheduled_event_attributes")
        }
        called |= {name for e in _events() if (name := _local_activity(e))}
        assert _activity_names() - called == set()

    def test_children_are_started_by_their_parents(self) -> None:
        """Each workflow type recorded as a child is started as one in a parent's history."""
        children = {_workflow_type(h) for h in LOADED.values() if _has_parent(h)}
        started = {
            e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
            for e in _events()
            if e.HasField("start_child_workflow_execution_initiated_event_attributes")
        }
        assert children and children <= started

    @pytest.mark.parametrize("workflow_type", ["LeadWorkflow", "RouterWorkflow"])
    def test_continues_as_new(self, workflow_type: str) -> None:
        """Some history of the lead and of the router is a run its previous run continued
        as new: the input a run carries over replays too."""
        assert any(
            _workflow_type(h) == workflow_type
            and h.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
            for h in LOADED.values()
        )

    def test_every_sequence_version_has_a_history(self) -> None:
        """Each registered sequence version has ``sequence_<name>_v<version>.json``."""
        by_name = {path.name: LOADED[path] for path in HISTORIES}
        for name, version in REGISTRY:
            history = by_name.get(f"sequence_{name}_v{version}.json")
            assert history is not None, f"{name} v{version} has no history"
            assert _workflow_type(history) == "SequenceWorkflow"


class TestConfigSnapshots:
    """The snapshots the corpus names are saved, each under its own digest, and each patch
    has histories recorded on both sides of it."""

    def test_every_digest_has_its_snapshot(self) -> None:
        named = set().union(*(_config_digests(h) for h in LOADED.values()))
        assert named, "no history references its configuration"
        assert named <= {p.stem for p in SNAPSHOTS}

    @pytest.mark.parametrize("path", SNAPSHOTS, ids=[p.stem for p in SNAPSHOTS])
    def test_snapshot_named_by_its_digest(self, path: Path) -> None:
        """Recomputed here, in another process with another hash seed, the digest is the
        one the recording worker gave it."""
        snapshot = ConfigSnapshot.model_validate_json(path.read_text())
        assert snapshot.ref().digest == path.stem
        assert snapshot.canonical_json() == path.read_text()

    @pytest.mark.parametrize(
        ("patch", "workflow_type"),
        [
            (CONFIG_REF_PATCH, "LeadWorkflow"),
            (CONFIG_REF_PATCH, "SequenceWorkflow"),
            # Only lead histories were kept from before the facts log.
            (FACTS_LOG_PATCH, "LeadWorkflow"),
            (FACTS_CONFIG_PATCH, "LeadWorkflow"),
            (FACTS_CONFIG_PATCH, "SequenceWorkflow"),
            (RUN_PATCH, "LeadWorkflow"),
            (RUN_PATCH, "SequenceWorkflow"),
        ],
    )
    def test_both_sides_of_each_patch(self, patch: str, workflow_type: str) -> None:
        sides = {
            patch in _patches(h) for h in LOADED.values() if _workflow_type(h) == workflow_type
        }
        assert sides == {True, False}


class TestOwnerAttributes:
    """Leads recorded on today's code publish their owner and acceptance deadline and
    unset the deadline once accepted; leads recorded before never upsert them (their
    replay proves the new code does not either)."""

    @staticmethod
    def _upserts(history: WorkflowHistory) -> list[tuple[str, bool]]:
        """Each owner attribute upserted, in order, with whether it was set (not unset)."""
        names = search_attributes.OWNER_ATTRIBUTES
        return [
            (name, payload.metadata.get("encoding") != b"binary/null")
            for e in history.events
            if e.HasField("upsert_workflow_search_attributes_event_attributes")
            for name, payload in (
                e.upsert_workflow_search_attributes_event_attributes.search_attributes
            ).indexed_fields.items()
            if name in names
        ]

    def test_set_then_accepted(self) -> None:
        upserts = [u for p, h in LOADED.items() if p.parent == HERE for u in self._upserts(h)]
        assert ("NurtureOwner", True) in upserts
        assert ("NurtureAcceptBy", True) in upserts and ("NurtureAcceptBy", False) in upserts

    def test_never_in_runs_begun_before(self) -> None:
        before = [h for p, h in LOADED.items() if p.parent.name.startswith("before_")]
        assert before and not any(self._upserts(h) for h in before)


def _has_parent(history: WorkflowHistory) -> bool:
    started = history.events[0].workflow_execution_started_event_attributes
    return started.HasField("parent_workflow_execution")
