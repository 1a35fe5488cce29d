"""The worker's capacity settings: read from the environment, refused when out of range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nurture.config.settings import Settings


class TestWorkerSettings:
    """``NURTURE_WORKER_*`` sets what a worker caches and runs at once."""

    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Unset, the worker keeps 1,000 runs cached and runs 100 tasks of each kind."""
        for name in ("MAX_CACHED_WORKFLOWS", "MAX_CONCURRENT_WORKFLOW_TASKS"):
            monkeypatch.delenv(f"NURTURE_WORKER_{name}", raising=False)
        worker = Settings().worker
        assert (worker.max_cached_workflows, worker.max_concurrent_workflow_tasks) == (1000, 100)

    def test_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each variable sets its field."""
        monkeypatch.setenv("NURTURE_WORKER_MAX_CACHED_WORKFLOWS", "250")
        monkeypatch.setenv("NURTURE_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "8")
        monkeypatch.setenv("NURTURE_WORKER_MAX_CONCURRENT_ACTIVITIES", "16")
        worker = Settings().worker
        assert (
            worker.max_cached_workflows,
            worker.max_concurrent_workflow_tasks,
            worker.max_concurrent_activities,
        ) == (250, 8, 16)

    def test_sandbox_on_unless_turned_off(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Workflow code runs in the sandbox by default; ``false`` turns it off."""
        monkeypatch.delenv("NURTURE_WORKER_SANDBOX", raising=False)
        assert Settings().worker.sandbox is True
        monkeypatch.setenv("NURTURE_WORKER_SANDBOX", "false")
        assert Settings().worker.sandbox is False
        monkeypatch.setenv("NURTURE_WORKER_SANDBOX", "sometimes")
        with pytest.raises(ValidationError) as info:
            Settings()
        assert "sandbox" in str(info.value)

    @pytest.mark.parametrize(
        ("name", "value"),
        [("MAX_CACHED_WORKFLOWS", "-1"), ("MAX_CONCURRENT_WORKFLOW_TASKS", "0")],
    )
    def test_out_of_range_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, name: str, value: str
    ) -> None:
        """A negative cache or no task at all is an error naming the field."""
        monkeypatch.setenv(f"NURTURE_WORKER_{name}", value)
        with pytest.raises(ValidationError) as info:
            Settings()
        assert name.lower() in str(info.value)
