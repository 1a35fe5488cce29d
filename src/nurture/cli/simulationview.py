"""How ``nurture sequences simulate`` reads: each branch a title saying what the lead did,
then a timeline of its emails and of what happened between them, each line in the lead's
local time (with UTC beside it), and how the branch ended.

Pure: a :class:`~nurture.domain.sequences.simulation.Simulation` in, lines out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from nurture.domain.sequences.simulation import (
    EVENT,
    HOLDOUT,
    Branch,
    Choice,
    SimulatedEmail,
    Simulation,
)

__all__ = ["branch_title", "local_moment", "simulation_lines"]

_EVENT_MARK = "←"
"""Before a line that is something the lead did (the simulation delivered it)."""
_WAIT_MARK = "·"
"""Before a line that is a wait running out."""


def local_moment(at: datetime, zone: ZoneInfo, *, pad: bool = True) -> str:
    """``Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)``: the weekday padded so the
    dates of a column line up (``pad``); no UTC beside a time that is UTC already."""
    local = at.astimezone(zone)
    weekday = f"{local:%A}".ljust(9 if pad else 0)
    text = f"{weekday} {local:%Y-%m-%d %H:%M} {zone.key}"
    if zone.key != "UTC":
        text += f" ({at.astimezone(UTC):%H:%M} UTC)"
    return text


def branch_title(branch: Branch) -> str:
    """What the lead did in this branch, point by point: ``email_clicked within 4d`` or
    not, the variant of each split, the goal."""
    parts = [_choice(choice) for choice in branch.choices]
    if branch.goal:
        parts.append(f"{branch.goal} just after the first email")
    said = "; ".join(parts) if parts else "one way only"
    return f"Branch {branch.number}: {said}"


def simulation_lines(simulation: Simulation, columns: int | None = None) -> list[str]:
    """The whole report: a header, each branch's timeline, and a note when cut. An email's
    note (why it waited, why it was skipped) that would make its line wider than
    ``columns`` goes on a line of its own, under the template."""
    zone = ZoneInfo(simulation.zone)
    count = len(simulation.branches)
    lines = [
        f"{simulation.sequence} v{simulation.version} for a lead in {simulation.zone}: "
        f"{count} branch{'es' if count != 1 else ''}",
        f"Enters {local_moment(simulation.start, zone, pad=False)}",
    ]
    width = max(
        (len(e.template) for b in simulation.branches for e in b.emails),
        default=0,
    )
    for branch in simulation.branches:
        lines += [
            "",
            branch_title(branch),
            *_timeline(branch, zone, width, columns),
            _ending(branch),
        ]
    if simulation.cut:
        lines += [
            "",
            f"Stopped at {simulation.limit} branches: the others were not run "
            "(raise --max-branches to see them).",
        ]
    return lines


def _choice(choice: Choice) -> str:
    point = choice.point
    if point.kind == "split":
        taken = "the holdout" if choice.option == HOLDOUT else f"variant {choice.option}"
        return f"{point.label} split: {taken}"
    within = point.within
    if choice.option == EVENT:
        return f"{point.label} during the {within} wait"
    return f"no {point.label} within {within}"


def _timeline(branch: Branch, zone: ZoneInfo, width: int, columns: int | None) -> list[str]:
    """Emails and steps in the order they happened: to the instant, so that a click comes
    before the email it brings in the same minute, and a goal after the one it follows."""
    entries = [(email.at, email.template.ljust(width), _note(email)) for email in branch.emails]
    for step in branch.steps:
        mark = _WAIT_MARK if step.what.startswith("no ") else _EVENT_MARK
        entries.append((step.at, f"{mark} {step.what}", None))
    entries.sort(key=lambda entry: entry[0])
    lines = []
    for at, text, note in entries:
        head = f"  {local_moment(at, zone)}  "
        line = f"{head}{text}  {note}" if note else f"{head}{text}".rstrip()
        if note and columns is not None and len(line) > columns:
            lines += [f"{head}{text}".rstrip(), f"{' ' * len(head)}↳ {note}"]
        else:
            lines.append(line)
    return lines


def _note(email: SimulatedEmail) -> str | None:
    """Why an email waited, or why it did not go out."""
    if email.status != "sent":
        return f"{email.status}: {email.detail or 'not sent'}"
    if email.waited_for:
        return f"waited: {', '.join(email.waited_for)}"
    return None


def _ending(branch: Branch) -> str:
    if branch.outcome == "goal":
        return f"  → goal reached ({branch.goal or branch.detail}): nothing more is sent"
    if branch.outcome == "completed":
        return "  → completed"
    return f"  → {branch.outcome}: {branch.detail}"
