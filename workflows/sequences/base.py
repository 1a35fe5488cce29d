"""The vocabulary marketing ops write sequences in: send, wait, wait_for, split, exit.

A sequence is a class with a ``steps`` coroutine; ``@sequence(name, version)`` registers it.
The Temporal plumbing lives in ``SequenceWorkflow``, which runs ``steps`` and provides the
primitives below through ``self``; nothing here needs to know about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import time, timedelta
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from nurture.domain.emails import EmailKind
    from nurture.domain.models import FormContext, LeadEvent
    from nurture.domain.sequences.models import LeadSnapshot

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = [
    "REGISTRY",
    "Runner",
    "Sequence",
    "SequenceExit",
    "any_event_except",
    "days",
    "goals_of",
    "hours",
    "human_duration",
    "latest",
    "matches",
    "minutes",
    "sequence",
    "unknown_sequences",
]

EventMatch = str | Callable[[LeadEvent], bool]
"""An event type (``"email_clicked"``) or a predicate over the event."""


def any_event_except(*types: str) -> Callable[[LeadEvent], bool]:
    """A predicate matching every event but those types: "any sign of life" for a goal."""
    excluded = frozenset(types)
    return lambda event: event.type not in excluded


def days(n: float) -> timedelta:
    """``n`` days."""
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    """``n`` hours."""
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    """``n`` minutes."""
    return timedelta(minutes=n)


class SequenceExit(Exception):
    """Raised by :meth:`Sequence.exit` to leave the sequence early."""


class Runner(Protocol):
    """What a running sequence can ask of its workflow (implemented by SequenceWorkflow)."""

    lead: LeadSnapshot
    form: FormContext | None

    def send(self, template: str, kind: EmailKind, skip_if_capped: bool) -> Awaitable[bool]: ...
    def sleep(self, duration: timedelta, label: str) -> Awaitable[None]: ...
    def sleep_until_local(
        self, at: time, weekdays: frozenset[int] | None, label: str
    ) -> Awaitable[None]: ...
    def wait_for(self, match: EventMatch, within: timedelta) -> Awaitable[LeadEvent | None]: ...
    def split(self, experiment: str, variants: dict[str, int], holdout: float) -> str | None: ...
    def seen(self, match: EventMatch) -> bool: ...


class Sequence:
    """Base class of every sequence. Override :meth:`steps`; set ``goal`` to leave early.

    Example::

        @sequence("evaluation", version=1)
        class Evaluation(Sequence):
            goal = "demo_requested"

            async def steps(self) -> None:
                await self.send("buying_guide")
                if await self.wait_for("email_clicked", within=days(4)):
                    await self.send("case_study")
    """

    name: ClassVar[str]
    version: ClassVar[int]
    goal: ClassVar[EventMatch | tuple[EventMatch, ...] | None] = None
    """Event type(s) or predicate(s) that end the sequence at once, wherever it is."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def steps(self) -> None:
        """The campaign, step by step."""
        raise NotImplementedError

    @property
    def lead(self) -> LeadSnapshot:
        """The lead now: stage, score, grade, buying stage, attributes."""
        return self._runner.lead

    @property
    def form(self) -> FormContext | None:
        """The form that started this sequence (offer, related content), if a form did."""
        return self._runner.form

    async def send(self, template: str, *, skip_if_capped: bool = False) -> bool:
        """Send a marketing email in the lead's send window, within the frequency cap.

        A capped send waits for the next allowed slot, or is skipped with
        ``skip_if_capped=True``. It is skipped, too, when the lead has unsubscribed or left
        the stages the sequence runs in. Returns whether the email went out.
        """
        return await self._runner.send(template, EmailKind.MARKETING, skip_if_capped)

    async def send_now(self, template: str) -> bool:
        """Send a transactional email at once (no window, no cap): only for what was asked."""
        return await self._runner.send(template, EmailKind.TRANSACTIONAL, False)

    async def wait(self, duration: timedelta) -> None:
        """Wait a duration (``days(3)``)."""
        await self._runner.sleep(duration, f"wait {human_duration(duration)}")

    async def wait_until(self, at: time, *, weekdays: frozenset[int] | None = None) -> None:
        """Wait until the lead's clock next shows ``at`` (on one of ISO ``weekdays``)."""
        await self._runner.sleep_until_local(at, weekdays, f"wait until {at:%H:%M} local")

    async def wait_for(self, event: EventMatch, *, within: timedelta) -> LeadEvent | None:
        """Wait for an event (a type or a predicate) for at most ``within``; the event or None."""
        return await self._runner.wait_for(event, within)

    def split(
        self, experiment: str, variants: dict[str, int] | list[str], *, holdout: float = 0.0
    ) -> str | None:
        """A stable A/B(/n) assignment for this lead; ``None`` for the holdout."""
        weights = variants if isinstance(variants, dict) else dict.fromkeys(variants, 1)
        return self._runner.split(experiment, weights, holdout)

    def opened(self, template: str) -> bool:
        """Whether the lead opened ``template`` during this sequence."""
        return self._runner.seen(_about("email_opened", template))

    def clicked(self, template: str) -> bool:
        """Whether the lead clicked in ``template`` during this sequence."""
        return self._runner.seen(_about("email_clicked", template))

    def exit(self, reason: str = "exited by the sequence") -> None:
        """Leave the sequence now."""
        raise SequenceExit(reason)


S = TypeVar("S", bound=type[Sequence])
REGISTRY: dict[tuple[str, int], type[Sequence]] = {}
"""Every registered sequence by (name, version)."""


def sequence(name: str, *, version: int) -> Callable[[S], S]:
    """Register a sequence class under ``name`` and ``version``."""

    def register(cls: S) -> S:
        key = (name, version)
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise ValueError(f"sequence {name!r} version {version} is registered twice")
        cls.name, cls.version = name, version
        REGISTRY[key] = cls
        return cls

    return register


def goals_of(cls: type[Sequence]) -> tuple[EventMatch, ...]:
    """A sequence's goals as a tuple, whichever way it spelt them."""
    goal = cls.goal
    if goal is None:
        return ()
    return goal if isinstance(goal, tuple) else (goal,)


def matches(match: EventMatch, event: LeadEvent) -> bool:
    """Whether ``event`` is of type ``match`` or satisfies the predicate ``match``."""
    return event.type == match if isinstance(match, str) else bool(match(event))


def latest(name: str) -> type[Sequence]:
    """The newest registered version of ``name``: what new enrolments get."""
    versions = [v for (n, v) in REGISTRY if n == name]
    if not versions:
        raise KeyError(
            f"no sequence named {name!r}; registered: {sorted({n for n, _ in REGISTRY})}"
        )
    return REGISTRY[(name, max(versions))]


def unknown_sequences(names: Iterable[str]) -> list[str]:
    """The names no registered sequence answers to (for checking enrolment rules at start)."""
    known = {name for name, _ in REGISTRY}
    return sorted(set(names) - known)


def _about(event_type: str, template: str) -> Callable[[LeadEvent], bool]:
    return lambda e: e.type == event_type and e.properties.get("template") == template


def human_duration(duration: timedelta) -> str:
    """``3d``, ``6h`` or ``90m``: how a duration reads in a step label."""
    if duration % timedelta(days=1) == timedelta(0):
        return f"{duration.days}d"
    if duration % timedelta(hours=1) == timedelta(0):
        return f"{int(duration.total_seconds() // 3600)}h"
    return f"{int(duration.total_seconds() // 60)}m"
