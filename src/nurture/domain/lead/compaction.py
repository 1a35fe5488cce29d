"""What a lead carries into its next run: the records of a long life, capped.

A lead's workflow continues as new when its history grows long (Temporal suggests it after
about 4,000 events) and hands its state to the next run. Most of that state is bounded by
design (one score, the ids of the last ``SEEN_EVENTS_KEPT`` events, the last
``CONSENTS_KEPT`` consents); the records of what happened are not: every email, stage
change, sequence entry, hand-off and sales action is appended for as long as the lead
lives. :func:`compact` keeps the newest of each and counts the others in
``LeadState.archived``; the facts log holds every one of them (the lead writes its facts
before a record can be dropped: facts not written yet ride into the next run).

What the journey still reads is never dropped:

- the newest ``RECENT_SENDS`` marketing emails sent (the frequency cap counts them);
- the latest move to SQL (a hand-off starts from it), the last hand-off and any still open;
- for each sequence, every enrolment still running and the one that ended last (whether
  the lead was ever in it and when it left decide re-entry), and how many there were
  (the next entry's number names its workflow);
- hand-off numbers continue from the archived count (they key routing and alerts).

Applied only on the way into the next run, so within a run nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from nurture.domain.lead.facts import recent_marketing_sends
from nurture.domain.lead.state import Archived, Enrolment, LeadState
from nurture.domain.sales.handoff import last_sql_move

__all__ = [
    "EMAILS_KEPT",
    "ENROLMENTS_KEPT",
    "HANDOFFS_KEPT",
    "SALES_LOG_KEPT",
    "TRANSITIONS_KEPT",
    "compact",
]

EMAILS_KEPT = 100
"""The newest email records carried (and the marketing sends the frequency cap counts)."""
TRANSITIONS_KEPT = 100
"""The newest stage, buying-stage and condition changes carried (and the latest move to SQL)."""
SALES_LOG_KEPT = 100
"""The newest sales log entries carried."""
HANDOFFS_KEPT = 10
"""The newest hand-offs carried (the last one always)."""
ENROLMENTS_KEPT = 20
"""The newest ended enrolments carried (running ones and each sequence's last always)."""

_T = TypeVar("_T")


def compact(state: LeadState) -> LeadState:
    """``state`` with its long records cut to their newest entries and what the journey
    still reads; the counts of what was dropped added to ``archived``. A state within
    every limit is returned as it is."""
    emails = _newest(state.emails, EMAILS_KEPT, recent_marketing_sends(state.emails))
    move = last_sql_move(state.transitions)
    transitions = _newest(state.transitions, TRANSITIONS_KEPT, [move] if move else [])
    sales_log = state.sales_log[-SALES_LOG_KEPT:]
    handoffs = state.handoffs[-HANDOFFS_KEPT:]
    enrolments = _newest(state.enrolments, ENROLMENTS_KEPT, _enrolments_read(state.enrolments))
    kept_enrolments = {id(e) for e in enrolments}
    by_sequence = dict(state.archived.enrolments)
    for entry in state.enrolments:
        if id(entry) not in kept_enrolments:
            by_sequence[entry.sequence] = by_sequence.get(entry.sequence, 0) + 1
    before = state.archived
    archived = Archived(
        emails=before.emails + len(state.emails) - len(emails),
        transitions=before.transitions + len(state.transitions) - len(transitions),
        sales_log=before.sales_log + len(state.sales_log) - len(sales_log),
        handoffs=before.handoffs + len(state.handoffs) - len(handoffs),
        enrolments=by_sequence,
    )
    if archived == before:
        return state
    return state.model_copy(
        update={
            "emails": emails,
            "transitions": transitions,
            "sales_log": sales_log,
            "handoffs": handoffs,
            "enrolments": enrolments,
            "archived": archived,
        }
    )


def _newest(items: tuple[_T, ...], count: int, also: Iterable[_T]) -> tuple[_T, ...]:
    """The newest ``count`` of ``items`` and the ones in ``also``, in their order."""
    if len(items) <= count:
        return items
    keep = {id(item) for item in items[-count:]} | {id(item) for item in also}
    return tuple(item for item in items if id(item) in keep)


def _enrolments_read(enrolments: tuple[Enrolment, ...]) -> list[Enrolment]:
    """Every running enrolment, and each sequence's last ended one."""
    running = [e for e in enrolments if e.ended_at is None]
    last_ended: dict[str, Enrolment] = {}
    for entry in enrolments:
        if entry.ended_at is None:
            continue
        latest = last_ended.get(entry.sequence)
        if latest is None or latest.ended_at is None or entry.ended_at >= latest.ended_at:
            last_ended[entry.sequence] = entry
    return [*running, *last_ended.values()]
