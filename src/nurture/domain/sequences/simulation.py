"""What a sequence simulation finds, as plain data, and which branches are left to explore.

A simulation runs a sequence for one synthetic lead again and again, each run (a branch)
taking other choices at the points where the sequence can go more than one way: a
``wait_for`` (the event arrives, or it does not), a ``split`` (each variant, the holdout),
and the goal (reached just after the first email). The first run takes the default
everywhere (no event, the lead's own variant); every point it reaches adds the branches
that choose otherwise there, explored depth-first up to a bound. This module holds the
record of those runs and the planning; running them is :mod:`nurture.services.simulation`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

__all__ = [
    "EVENT",
    "HOLDOUT",
    "NO_EVENT",
    "Branch",
    "Choice",
    "DecisionPoint",
    "Plan",
    "SimulatedEmail",
    "SimulatedStep",
    "Simulation",
    "plans_after",
]

_FROZEN = ConfigDict(frozen=True)

NO_EVENT = "no event"
"""The choice at a ``wait_for`` where the event never comes (the default)."""
EVENT = "event"
"""The choice at a ``wait_for`` where the event arrives."""
HOLDOUT = "holdout"
"""The choice at a ``split`` that keeps the lead out of every variant."""


class DecisionPoint(BaseModel):
    """A point where the sequence can go more than one way, as a run reached it.

    ``options[0]`` is what happens by default there: no event, or the variant the lead
    gets. A split carries what the sequence asked (variants and their weights, holdout),
    so that a lead landing in another variant can be found.
    """

    model_config = _FROZEN

    kind: Literal["wait_for", "split"]
    label: str
    """The event waited for, or the experiment's name."""
    options: tuple[str, ...]
    within: str | None = None
    """How long the ``wait_for`` waits, as its step says it (``4d``)."""
    variants: dict[str, int] = {}
    holdout: float = 0.0


class Choice(BaseModel):
    """What a branch takes at one decision point."""

    model_config = _FROZEN

    point: DecisionPoint
    option: str


class Plan(BaseModel):
    """A branch to run: its choices at the first decision points it will reach (the
    default after them), and whether the goal is reached just after the first email."""

    model_config = _FROZEN

    choices: tuple[Choice, ...] = ()
    goal: str | None = None
    """The goal event sent just after the first email, if this branch reaches the goal."""

    def option_at(self, index: int) -> str | None:
        """The option this plan takes at the ``index``-th point, None for the default."""
        return self.choices[index].option if index < len(self.choices) else None


class SimulatedEmail(BaseModel):
    """One email of a branch: when it went out (or was skipped) and why it waited."""

    model_config = _FROZEN

    template: str
    at: AwareDatetime
    kind: str
    status: str
    """``sent``, ``skipped`` (with ``detail``), or a failure (a template that cannot render)."""
    waited_for: tuple[str, ...] = ()
    """What held it back: ``send window``, ``frequency cap``."""
    detail: str | None = None
    subject: str | None = None


class SimulatedStep(BaseModel):
    """Something that happened to the lead in a branch besides an email: an event the
    simulation delivered, a wait that ran out, the variant of a split."""

    model_config = _FROZEN

    at: AwareDatetime
    what: str


class Branch(BaseModel):
    """One run of the sequence: the choices it took, what it sent, how it ended."""

    model_config = _FROZEN

    number: int
    choices: tuple[Choice, ...]
    goal: str | None = None
    emails: tuple[SimulatedEmail, ...]
    steps: tuple[SimulatedStep, ...] = ()
    outcome: str
    """``completed``, ``goal`` or ``exited``, as the sequence's own outcome says."""
    detail: str | None = None
    ended_at: AwareDatetime


class Simulation(BaseModel):
    """Every branch explored for one lead in one version of one sequence."""

    model_config = _FROZEN

    sequence: str
    version: int
    zone: str
    """The lead's time zone, in which the timelines read."""
    start: AwareDatetime
    branches: tuple[Branch, ...]
    cut: bool = False
    """More branches were left than the bound allowed: they were not run."""
    limit: int


def plans_after(plan: Plan, reached: list[DecisionPoint]) -> list[Plan]:
    """The branches a run of ``plan`` that reached ``reached`` opens, earliest point first:
    for each point past the plan's own choices, each option other than the default there,
    the points before it taking their default."""
    opened: list[Plan] = []
    for index in range(len(plan.choices), len(reached)):
        defaults = tuple(
            Choice(point=p, option=p.options[0]) for p in reached[len(plan.choices) : index]
        )
        point = reached[index]
        for option in point.options[1:]:
            choices = (*plan.choices, *defaults, Choice(point=point, option=option))
            opened.append(Plan(choices=choices, goal=plan.goal))
    return opened
