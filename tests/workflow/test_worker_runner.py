"""The worker's workflow runner (nurture's modules shared by every run, not re-imported per
run) runs a lead and its sequence as the full sandbox does. The rest of the workflow tests
run in the full sandbox, where a non-deterministic call in workflow code fails at once; the
end-to-end tests run worker.py, so this runner, throughout."""

from __future__ import annotations

from pathlib import Path

from temporalio.worker import UnsandboxedWorkflowRunner

from nurture.adapters.temporal.runner import SHARED_MODULES, workflow_runner
from tests.waiting import view_when
from tests.workflow.test_lead_sequences import reach_evaluation, sent


class TestWorkerRunner:
    async def test_a_lead_and_its_sequence(self, harness, always_open: Path) -> None:
        """Form → thank-you, then the evaluation sequence (a child run) sends its guide and
        reports it to the lead."""
        async with harness(project_file=always_open, workflow_runner=workflow_runner()) as h:
            await reach_evaluation(h, "runner-1")
            view = await view_when(h, "runner-1", lambda v: "buying_guide" in sent(v))
            assert view.sequence is not None
            h.started.append(view.sequence.workflow_id)
            assert h.templates() == ["thank_you", "buying_guide"]

    async def test_without_the_sandbox(self, harness, always_open: Path) -> None:
        """``NURTURE_WORKER_SANDBOX=false``: the same lead and sequence, run directly."""
        runner = workflow_runner(sandboxed=False)
        assert isinstance(runner, UnsandboxedWorkflowRunner)
        async with harness(project_file=always_open, workflow_runner=runner) as h:
            await reach_evaluation(h, "runner-2")
            view = await view_when(h, "runner-2", lambda v: "buying_guide" in sent(v))
            assert view.sequence is not None
            h.started.append(view.sequence.workflow_id)
            assert h.templates() == ["thank_you", "buying_guide"]

    def test_shares_only_nurtures_modules(self) -> None:
        """Passed through: nurture's two packages, not everything (third-party modules a
        workflow imports stay sandboxed)."""
        restrictions = workflow_runner().restrictions  # type: ignore[attr-defined]
        assert set(SHARED_MODULES) <= restrictions.passthrough_modules
        assert not restrictions.passthrough_all_modules
        assert "jinja2" not in restrictions.passthrough_modules
