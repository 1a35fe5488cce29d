"""The workflow runner of the worker: Temporal's sandbox, with nurture's own code shared.

The sandbox imports the modules a workflow needs afresh for every workflow run it starts
(so one run's module state can never leak into another's), and keeps them as long as the
run is cached. For nurture's workflows that was 19 modules re-executed per run, 9-19 ms of
the worker's CPU for each new lead, sequence or continue-as-new, and about 300 KiB held by
each of up to ``max_cached_workflows`` cached runs.

``workflows`` and ``nurture`` are passed through instead: every run uses the modules the
worker imported once. What that gives up, and how it is kept:

- The sandbox's run-time check of calls such as ``datetime.now()`` or ``random.random()``
  inside those modules: ruff's banned-API rule forbids them in ``workflows/`` (see
  ``[tool.ruff.lint.flake8-tidy-imports]`` in ``pyproject.toml``), and the test suite runs
  every workflow in the full sandbox (this runner is the worker's, not the tests').
- Isolation of module state: nothing in ``workflows/`` or ``nurture.domain`` changes module
  or class state after import (the sequence registry is filled once, at import), but for
  one store meant to be shared: the configuration catalog (``nurture.domain.config.
  CATALOG``), append-only snapshots by digest, which every run must see.

Builtins stay guarded (``open``, ``input``...), and every other module a workflow imports
(third-party ones) is still sandboxed as before.
"""

from __future__ import annotations

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

__all__ = ["SHARED_MODULES", "workflow_runner"]

SHARED_MODULES = ("workflows", "nurture", "email_validator")
"""Imported once by the worker and shared by every workflow run, with their submodules.
``email_validator`` is pydantic's, imported lazily when a lead's address is first decoded
(inside a run, it would be imported after the run's modules, which the sandbox refuses)."""


def workflow_runner(*, sandboxed: bool = True) -> WorkflowRunner:
    """The sandbox with :data:`SHARED_MODULES` passed through; without the sandbox
    (``NURTURE_WORKER_SANDBOX=false``), the runner that runs workflow code directly."""
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*SHARED_MODULES)
    return SandboxedWorkflowRunner(restrictions=restrictions)
