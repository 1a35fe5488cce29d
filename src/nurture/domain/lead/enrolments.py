"""The lead's record of its sequences: planned starts, entries, steps and ends.

Which sequence a lead enters is decided by the rules (``nurture.domain.sequences``); the
workflow starts and stops the sequences and notes each change here.
"""

from __future__ import annotations

from datetime import datetime

from nurture.domain.lead.state import Enrolment, LeadState, PlannedStart
from nurture.domain.sequences.models import sequence_workflow_id

__all__ = [
    "drop_start",
    "due_starts",
    "end_enrolment",
    "record_progress",
    "sequence_workflow_ids",
    "start_enrolment",
]


def sequence_workflow_ids(state: LeadState) -> tuple[str, ...]:
    """The workflow id of every sequence the lead ever entered, those its state no longer
    carries (``archived``) too: each sequence's entries are numbered from 1 without gaps."""
    ids = dict.fromkeys(e.workflow_id for e in state.enrolments)
    names = dict.fromkeys([*state.archived.enrolments, *(e.sequence for e in state.enrolments)])
    for name in names:
        for number in range(1, state.next_enrolment_number(name)):
            ids.setdefault(sequence_workflow_id(state.lead_id, name, number))
    return tuple(ids)


def due_starts(state: LeadState, now: datetime) -> list[PlannedStart]:
    """Planned sequence starts whose time has come, earliest first."""
    return sorted((p for p in state.starts if p.due_at <= now), key=lambda p: p.due_at)


def drop_start(state: LeadState, start: PlannedStart) -> LeadState:
    """A planned start happened (or cannot): it is no longer planned."""
    return state.model_copy(update={"starts": tuple(p for p in state.starts if p != start)})


def start_enrolment(state: LeadState, enrolment: Enrolment) -> LeadState:
    """Note that the lead entered a sequence."""
    return state.model_copy(update={"enrolments": (*state.enrolments, enrolment)})


def end_enrolment(
    state: LeadState, workflow_id: str, result: str, detail: str | None, at: datetime
) -> LeadState:
    """Note how an enrolment ended; an unknown or already ended one changes nothing."""
    enrolments = tuple(
        e.model_copy(
            update={
                "ended_at": at,
                "result": result,
                "detail": detail,
                "step": None,
                "next_touch_at": None,
            }
        )
        if e.workflow_id == workflow_id and e.ended_at is None
        else e
        for e in state.enrolments
    )
    return state.model_copy(update={"enrolments": enrolments})


def record_progress(
    state: LeadState,
    workflow_id: str,
    step: str,
    next_touch_at: datetime | None,
    variants: dict[str, str | None],
) -> LeadState:
    """Note a running sequence's step, next touch and A/B variants; an ended or unknown one
    changes nothing."""
    enrolments = tuple(
        e.model_copy(
            update={
                "step": step,
                "next_touch_at": next_touch_at,
                "variants": {**e.variants, **variants},
            }
        )
        if e.workflow_id == workflow_id and e.ended_at is None
        else e
        for e in state.enrolments
    )
    return state.model_copy(update={"enrolments": enrolments})
