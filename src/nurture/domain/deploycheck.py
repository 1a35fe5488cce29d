"""What ``nurture deploy check`` found, grouped for a person and for scripts.

Each running workflow's replay ends in an :class:`Outcome`; here they are counted by
workflow type and code version (a sequence's ``name@version``, another workflow's patch
markers), a few examples are kept per group with their first divergence trimmed to one
readable line, and the whole gives the command's exit code and JSON. Pure: the replaying
is ``nurture.adapters.temporal.replay``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "EXAMPLES_PER_GROUP",
    "DeployReport",
    "Example",
    "Group",
    "Outcome",
    "Verdict",
    "build_report",
    "first_divergence",
]

EXAMPLES_PER_GROUP = 3
"""Failed runs named per group: enough to find the pattern, few enough to read."""
_MESSAGE_LIMIT = 300
_NOISE = re.compile(r"^\s*(\[TMPRL\d+\]\s*)?(nondeterminism error:\s*)?", re.IGNORECASE)
_INNER = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
"""The message inside the core's failure record (``Failure { message: "...", ... }``)."""
_EVENT = r"HistoryEvent\(id: (\d+), (\w+)\)"
_OTHER_COMMAND = re.compile(rf"(\w+) machine does not handle this event: {_EVENT}")
_NO_COMMAND = re.compile(rf"No command scheduled for event {_EVENT}")


class Verdict(StrEnum):
    """How one run's replay ended."""

    REPLAYED = "replayed"
    """The new code makes the same commands as the history: the run goes on."""
    DIVERGED = "diverged"
    """A non-determinism error: the new code would wedge the run."""
    FAILED = "failed"
    """Another error stopped the replay (a configuration snapshot missing, say)."""
    UNDEFINED = "undefined"
    """Its workflow type is not in the new code: every task it gets would fail."""
    UNFETCHED = "unfetched"
    """Its history could not be read (gone since it was listed): not a failure."""


@dataclass(frozen=True)
class Outcome:
    """One run's replay: which run, on which code path, how it ended and why."""

    workflow_id: str
    run_id: str
    workflow_type: str
    version: str
    verdict: Verdict
    message: str = ""


@dataclass(frozen=True)
class Example:
    """A failed run a person can look up, and where its replay left the history."""

    workflow_id: str
    run_id: str
    verdict: Verdict
    divergence: str


@dataclass(frozen=True)
class Group:
    """The runs of one workflow type on one version."""

    workflow_type: str
    version: str
    replayed: int = 0
    failed: int = 0
    """Runs that would fail: diverged, failed or of a type the new code does not define."""
    unfetched: int = 0
    examples: tuple[Example, ...] = ()
    undefined: int = 0
    """Of ``failed``, the runs of a type the new code does not define (never replayed)."""

    @property
    def checked(self) -> int:
        """Runs whose history was replayed (whatever the outcome)."""
        return self.replayed + self.failed - self.undefined


@dataclass(frozen=True)
class DeployReport:
    """Every group, ordered by type then version, and how many runs were running."""

    running: int
    groups: tuple[Group, ...] = field(default_factory=tuple)

    @property
    def replayed(self) -> int:
        return sum(g.replayed for g in self.groups)

    @property
    def failed(self) -> int:
        return sum(g.failed for g in self.groups)

    @property
    def unfetched(self) -> int:
        return sum(g.unfetched for g in self.groups)

    @property
    def undefined(self) -> int:
        return sum(g.undefined for g in self.groups)

    @property
    def sampled(self) -> int:
        """Runs picked for a replay (all the running ones of a type the new code defines,
        or ``--sample`` of them)."""
        return self.replayed + self.failed - self.undefined + self.unfetched

    @property
    def exit_code(self) -> int:
        """0 when every replayed run goes on, 1 when any would fail."""
        return 1 if self.failed else 0

    def as_json(self) -> dict[str, Any]:
        """The report for scripts: totals, then each group with its examples."""
        return {
            "ok": self.failed == 0,
            "running": self.running,
            "sampled": self.sampled,
            "replayed": self.replayed,
            "failed": self.failed,
            "undefined": self.undefined,
            "unfetched": self.unfetched,
            "groups": [
                {
                    "workflow_type": g.workflow_type,
                    "version": g.version,
                    "replayed": g.replayed,
                    "failed": g.failed,
                    "unfetched": g.unfetched,
                    "examples": [
                        {
                            "workflow_id": e.workflow_id,
                            "run_id": e.run_id,
                            "verdict": str(e.verdict),
                            "divergence": e.divergence,
                        }
                        for e in g.examples
                    ],
                }
                for g in self.groups
            ],
        }


_FAILING = (Verdict.DIVERGED, Verdict.FAILED, Verdict.UNDEFINED)


def build_report(
    outcomes: Iterable[Outcome], *, running: int, examples: int = EXAMPLES_PER_GROUP
) -> DeployReport:
    """The outcomes grouped by (type, version), with up to ``examples`` failed runs each,
    divergences before other failures (they are what the change broke)."""
    counts: dict[tuple[str, str], dict[Verdict, int]] = {}
    failures: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        key = (outcome.workflow_type, outcome.version)
        by_verdict = counts.setdefault(key, dict.fromkeys(Verdict, 0))
        by_verdict[outcome.verdict] += 1
        if outcome.verdict in _FAILING:
            failures.setdefault(key, []).append(outcome)
    groups = []
    for key in sorted(counts):
        picked = sorted(failures.get(key, []), key=lambda o: o.verdict != Verdict.DIVERGED)
        groups.append(
            Group(
                workflow_type=key[0],
                version=key[1],
                replayed=counts[key][Verdict.REPLAYED],
                failed=sum(counts[key][verdict] for verdict in _FAILING),
                unfetched=counts[key][Verdict.UNFETCHED],
                undefined=counts[key][Verdict.UNDEFINED],
                examples=tuple(
                    Example(o.workflow_id, o.run_id, o.verdict, first_divergence(o.message))
                    for o in picked[:examples]
                ),
            )
        )
    return DeployReport(running=running, groups=tuple(groups))


def first_divergence(message: str, limit: int = _MESSAGE_LIMIT) -> str:
    """The replay error as one readable line: the core's own message (not the failure
    record around it), without its error code and the "Nondeterminism error:" every such
    message starts with, spaces folded, the two common mismatches said in words first,
    cut at ``limit`` characters."""
    inner = _INNER.search(message)
    text = inner.group(1) if inner else message
    lines = [line for line in text.strip().splitlines() if line.strip()]
    text = " ".join(_NOISE.sub("", lines[0]).split()) if lines else ""
    text = _gloss(text) or "no message"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _gloss(text: str) -> str:
    """``text``, with what it means first when it is a mismatch of commands."""
    if found := _OTHER_COMMAND.search(text):
        machine, event, kind = found.groups()
        made = f"the code now makes a {machine} command"
        return f"event {event}: the history has {kind} where {made} ({text})"
    if found := _NO_COMMAND.search(text):
        event, kind = found.groups()
        return f"event {event}: the history has {kind}, which the code no longer makes ({text})"
    return text
