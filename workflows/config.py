"""How a run gets its configuration: the reference of the configuration now, then the
snapshot the worker holds under it.

History keeps the reference alone (a digest in one local activity's marker), not the
scoring model, enrolment rules, sending policy and sales team themselves. A replay reads
the digest from the marker and the snapshot from the worker's catalog, which holds every
version stored in the ledger's database: the very configuration the run started with,
whatever the files say now. A digest this worker does not hold yet fails the workflow
task (``ConfigNotLoaded``), never the workflow; the worker fetches it for the retry.

Runs that began before this (no ``CONFIG_REF_PATCH`` marker) keep loading each part with
its own local activity, as they did when they started.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nurture.domain.config import CATALOG, ConfigSnapshot

from workflows.activities import current_config

__all__ = ["CONFIG_REF_PATCH", "LOAD_TIMEOUT", "load_config"]

CONFIG_REF_PATCH = "config-ref"
"""The patch that replaced the configuration in history by its reference."""
LOAD_TIMEOUT = timedelta(seconds=10)
"""How long a configuration local activity may take."""


async def load_config() -> ConfigSnapshot:
    """The configuration as it is now (on replay: as it was when the run asked)."""
    ref = await workflow.execute_local_activity(current_config, start_to_close_timeout=LOAD_TIMEOUT)
    return CATALOG.get(ref.digest)
