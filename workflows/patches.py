"""The patches a lead's or a sequence's run decides first thing, in one marker.

Each ``workflow.patched`` call that records a marker also makes the SDK upsert the
``TemporalChangeVersion`` search attribute: one more history event and one more write to
the server's visibility store, in every run (every new lead, every sequence, every
continue-as-new). A run that starts on this code records :data:`RUN_PATCH` alone, which
stands for every patch before it; a run that began earlier finds its own markers on
replay (``RUN_PATCH`` is then not in its history) and goes on as it began. A new patch
gets a new ``RUN_PATCH`` id; the one it replaces stays here, checked next, for the runs
that recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

from workflows.config import CONFIG_REF_PATCH
from workflows.lead_facts import FACTS_LOG_PATCH

__all__ = [
    "FACTS_CONFIG_PATCH",
    "OWNER_ATTRIBUTES_PATCH",
    "RUN_PATCH",
    "RunPatches",
    "decide_patches",
]

OWNER_ATTRIBUTES_PATCH = "owner-attributes"
"""A lead publishes ``NurtureOwner`` and ``NurtureAcceptBy`` (more upserts in its run)."""
RUN_PATCH = f"facts-log+config-ref+{OWNER_ATTRIBUTES_PATCH}"
"""One marker for :data:`FACTS_LOG_PATCH`, :data:`CONFIG_REF_PATCH` and
:data:`OWNER_ATTRIBUTES_PATCH` together."""
FACTS_CONFIG_PATCH = "facts-log+config-ref"
"""The one marker of runs begun before :data:`OWNER_ATTRIBUTES_PATCH`."""


@dataclass(frozen=True)
class RunPatches:
    """Which of the changes this run has (a run that began before one lacks it)."""

    facts_log: bool
    config_ref: bool
    owner_attributes: bool


def decide_patches() -> RunPatches:
    """Call first thing in ``run()``, once: the markers' place never moves."""
    if workflow.patched(RUN_PATCH):
        return RunPatches(facts_log=True, config_ref=True, owner_attributes=True)
    if workflow.patched(FACTS_CONFIG_PATCH):
        return RunPatches(facts_log=True, config_ref=True, owner_attributes=False)
    return RunPatches(
        facts_log=workflow.patched(FACTS_LOG_PATCH),
        config_ref=workflow.patched(CONFIG_REF_PATCH),
        owner_attributes=False,
    )
