"""The round trip between marketing and sales, as pure functions over the lead's state.

A lead becomes an SQL (score or hand-raise) → a hand-off starts and the router picks an
owner (or the pool) → the owner must accept within the SLA, reminded half-way, escalated to
the manager and reassigned after → sales acts: accept, return to nurture (with a reason and
maybe a date to wait for), disqualify, convert to an opportunity, won or lost.

``LeadWorkflow`` performs the effects (the router, the alerts) and records them here; every
step lands in ``LeadState.sales_log`` with its actor and reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from nurture.domain.lead.state import EmailRecord, LeadState, Transition
from nurture.domain.lifecycle import MARKETING_STAGES, Stage, check_transition
from nurture.domain.sales.records import (
    RETURN_REASONS,
    Assignment,
    HandOff,
    SalesAction,
    SalesEntry,
)
from nurture.domain.scoring import ScoringModel, apply_adjustment

__all__ = [
    "apply_action",
    "begin_handoff",
    "current_handoff",
    "hand_raise",
    "last_sql_move",
    "needs_handoff",
    "open_handoff",
    "record_assignment",
    "record_escalation",
    "record_reminder",
    "record_undelivered",
    "refusal",
    "sla_deadline",
    "sla_next_deadline",
    "why_not",
]


def current_handoff(state: LeadState) -> HandOff | None:
    """The hand-off in progress, if any."""
    return open_handoff(state.handoffs)


def open_handoff(handoffs: Sequence[HandOff]) -> HandOff | None:
    """The last of ``handoffs`` if it has not ended (a lead's or a view's)."""
    last = handoffs[-1] if handoffs else None
    return last if last is not None and last.ended_at is None else None


def hand_raise(state: LeadState, event_type: str, now: datetime) -> LeadState:
    """A hand-raise event (demo or quote request) makes a marketing lead an SQL at once,
    unless sales asked to wait until a date that has not come.

    A recycled lead too, whatever it earned since the return: asking for a demo is the
    new interest re-qualification waits for, said outright."""
    if state.stage not in MARKETING_STAGES:
        return state
    if state.revisit_after is not None and now < state.revisit_after:
        return state
    return _move(state, Stage.SQL, now, f"hand-raise: {event_type}", f"hand-raise {event_type}")


def last_sql_move(transitions: tuple[Transition, ...]) -> Transition | None:
    """The lead's latest move to SQL: what a hand-off starts from."""
    return next(
        (t for t in reversed(transitions) if t.field == "stage" and t.to_value == Stage.SQL),
        None,
    )


def needs_handoff(state: LeadState) -> str | None:
    """Why a hand-off must start now (the lead is an SQL with none in progress), or None."""
    if state.stage is not Stage.SQL or current_handoff(state) is not None:
        return None
    last = state.handoffs[-1] if state.handoffs else None
    move = last_sql_move(state.transitions)
    if move is None or (last is not None and move.at <= last.started_at):
        return None
    return move.reason


def sla_next_deadline(state: LeadState) -> datetime | None:
    """The reminder or the acceptance deadline of the hand-off waiting to be accepted."""
    current = current_handoff(state)
    if current is None or current.accepted_at is not None:
        return None
    moments = [current.accept_by, None if current.reminded else current.remind_at]
    return min(filter(None, moments), default=None)


def begin_handoff(state: LeadState, trigger: str, now: datetime) -> LeadState:
    """The lead just became an SQL: open a hand-off, to be routed."""
    handoff = HandOff(number=state.next_handoff_number(), started_at=now, trigger=trigger)
    move = last_sql_move(state.transitions)
    return _log(
        state.model_copy(update={"handoffs": (*state.handoffs, handoff)}),
        now,
        "handed_off",
        "nurture",
        trigger,
        handoff=handoff.number,
        reason=move.cause if move else None,
    )


def sla_deadline(state: LeadState, remind_at: datetime, accept_by: datetime) -> LeadState:
    """Set the reminder and acceptance deadlines of the current hand-off."""
    return _update_current(state, remind_at=remind_at, accept_by=accept_by)


def record_assignment(
    state: LeadState, assignment: Assignment, now: datetime, cause: str | None = None
) -> LeadState:
    """The router's decision for the current hand-off; ``cause``, when the assignment's own
    reason is no fixed wording (an escalation's names the late rep), says why in a few
    fixed words."""
    handoff = current_handoff(state)
    assert handoff is not None, "no hand-off in progress"
    state = _update_current(
        state,
        owner=assignment.rep_id,
        owner_name=assignment.rep_name,
        owner_email=assignment.rep_email,
        manager_email=assignment.manager_email,
        assigned_at=now,
        reminded=False,
        remind_at=None,
        accept_by=None,
    )
    fields = {"handoff": handoff.number, "reason": cause or assignment.reason}
    if assignment.rep_id is None:
        return _log(state, now, "pooled", "nurture", assignment.reason, **fields)
    detail = f"to {assignment.rep_name or assignment.rep_id}: {assignment.reason}"
    return _log(state, now, "assigned", "nurture", detail, rep=assignment.rep_id, **fields)


def record_undelivered(
    state: LeadState, now: datetime, what: str, record: EmailRecord
) -> LeadState:
    """A mail to sales (``what``: the alert to its owner, say) could not be delivered."""
    handoff = current_handoff(state)
    return _log(
        state,
        now,
        "undelivered",
        "nurture",
        f"{what}: {record.status}, {record.detail}",
        handoff=handoff.number if handoff else None,
    )


def record_reminder(state: LeadState, now: datetime) -> LeadState:
    """The owner was reminded."""
    handoff = current_handoff(state)
    assert handoff is not None
    state = _update_current(state, reminded=True)
    detail = f"{handoff.owner} reminded to accept"
    return _log(
        state, now, "reminded", "nurture", detail, handoff=handoff.number, rep=handoff.owner
    )


def record_escalation(state: LeadState, now: datetime, detail: str) -> LeadState:
    """The owner let the SLA lapse: they are passed over for this hand-off."""
    handoff = current_handoff(state)
    assert handoff is not None
    passed = (*handoff.passed_over, handoff.owner) if handoff.owner else handoff.passed_over
    state = _update_current(
        state,
        passed_over=passed,
        reassignments=handoff.reassignments + 1,
        remind_at=None,
        accept_by=None,
    )
    return _log(
        state, now, "escalated", "nurture", detail, handoff=handoff.number, rep=handoff.owner
    )


def why_not(state: LeadState, action: SalesAction) -> str | None:
    """Why ``action`` is not allowed in the lead's current state, or ``None`` when it is.

    The rules that do not depend on the state (a return's reason, say) are the action
    model's own: a :class:`SalesAction` that exists already follows them."""
    return refusal(state.stage, current_handoff(state), action.action)


def refusal(stage: Stage, handoff: HandOff | None, action: str) -> str | None:
    """Why sales ``action`` is not allowed at ``stage`` with ``handoff`` in progress (the
    same rules for the lead workflow and the pages that offer only what is allowed)."""
    if action == "accept":
        if stage is not Stage.SQL or handoff is None:
            return f"only an SQL waiting for its owner can be accepted; the lead is '{stage}'"
        if handoff.accepted_at is not None:
            return f"already accepted by {handoff.owner} at {handoff.accepted_at:%Y-%m-%d %H:%M}"
        return None
    if action == "return_to_nurture":
        if stage is not Stage.SQL:
            return f"only an SQL can be returned to nurture; the lead is '{stage}'"
        return None
    target = _TARGETS[action]
    if target is Stage.OPPORTUNITY and (handoff is None or handoff.accepted_at is None):
        return "accept the lead before converting it"
    if target not in _ALLOWED_FROM.get(stage, frozenset()):
        return f"'{action}' is not possible from stage '{stage}'"
    return None


def apply_action(
    state: LeadState,
    action: SalesAction,
    model: ScoringModel,
    now: datetime,
    return_points: int,
) -> LeadState:
    """Apply an allowed sales action (check :func:`why_not` first)."""
    reason = why_not(state, action)
    if reason:
        raise ValueError(reason)
    note = f" ({action.note})" if action.note else ""
    if action.action == "accept":
        handoff = current_handoff(state)
        assert handoff is not None
        owner = handoff.owner or action.actor
        state = _update_current(state, accepted_at=now, owner=owner, remind_at=None, accept_by=None)
        detail = f"accepted by {action.actor}{note}"
        return _log(state, now, "accepted", action.actor, detail, handoff=handoff.number, rep=owner)
    if action.action == "return_to_nurture":
        revisit = (
            datetime.combine(action.revisit_after, time(0), tzinfo=now.tzinfo)
            if action.revisit_after
            else None
        )
        update = apply_adjustment(
            model,
            state.score,
            "returned_to_nurture",
            "Returned to nurture by sales",
            return_points,
        )
        state = state.model_copy(
            update={
                "score": update.score,
                "recycle_reason": action.reason,
                "revisit_after": revisit,
                "points_since_return": 0,
            }
        )
        until = f"; not before {action.revisit_after}" if action.revisit_after else ""
        detail = f"reason {action.reason}{until}{note}"
        return _close(
            _move(state, Stage.RECYCLED, now, f"returned: {detail}", f"returned {action.reason}"),
            now,
            "returned",
            action.actor,
            detail,
            reason=action.reason,
            revisit_after=action.revisit_after,
        )
    target = _TARGETS[action.action]
    kind = {"disqualify": "disqualified", "convert": "converted", "won": "won", "lost": "lost"}[
        action.action
    ]
    detail = f"{action.reason or action.action}{note}"
    if action.action == "lost":
        # Back to nurture like a return: the "lost" rules pick its recycle sequence.
        state = state.model_copy(
            update={"recycle_reason": "lost", "revisit_after": None, "points_since_return": 0}
        )
    state = _move(state, target, now, f"{action.action} by {action.actor}: {detail}", kind)
    reason = _fixed_reason(action.reason)
    if target is Stage.OPPORTUNITY:
        number = handoff.number if (handoff := current_handoff(state)) else None
        return _log(state, now, "converted", action.actor, detail, handoff=number, reason=reason)
    return _close(state, now, kind, action.actor, detail, reason=reason)


_TARGETS: dict[str, Stage] = {
    "disqualify": Stage.DISQUALIFIED,
    "convert": Stage.OPPORTUNITY,
    "won": Stage.CUSTOMER,
    "lost": Stage.RECYCLED,
}
_ALLOWED_FROM: dict[Stage, frozenset[Stage]] = {
    Stage.SQL: frozenset({Stage.DISQUALIFIED, Stage.OPPORTUNITY}),
    Stage.OPPORTUNITY: frozenset({Stage.DISQUALIFIED, Stage.CUSTOMER, Stage.RECYCLED}),
    **{s: frozenset({Stage.DISQUALIFIED}) for s in MARKETING_STAGES},
}


def _fixed_reason(reason: str | None) -> str | None:
    """A sales action's reason as the facts log may keep it: one of the return reasons,
    else ``other``. A disqualification's reason is whatever the rep typed, and the log
    keeps no free text (it could name the person)."""
    if reason is None:
        return None
    return reason if reason in RETURN_REASONS else "other"


def _move(state: LeadState, target: Stage, now: datetime, reason: str, cause: str) -> LeadState:
    check_transition(state.stage, target)
    change = Transition(
        field="stage",
        from_value=state.stage,
        to_value=target,
        at=now,
        reason=reason,
        cause=cause,
        score=state.score.total,
    )
    return state.model_copy(update={"stage": target, "transitions": (*state.transitions, change)})


def _close(
    state: LeadState, now: datetime, kind: str, actor: str, detail: str, **fields: object
) -> LeadState:
    current = current_handoff(state)
    if current is not None:
        state = _update_current(state, ended_at=now, remind_at=None, accept_by=None)
    number = current.number if current else None
    return _log(state, now, kind, actor, detail, handoff=number, **fields)


def _update_current(state: LeadState, **changes: object) -> LeadState:
    handoff = current_handoff(state)
    if handoff is None:
        return state
    updated = handoff.model_copy(update=changes)
    return state.model_copy(update={"handoffs": (*state.handoffs[:-1], updated)})


def _log(
    state: LeadState, now: datetime, kind: str, actor: str, detail: str, **fields: object
) -> LeadState:
    entry = SalesEntry.model_validate(
        {"at": now, "kind": kind, "actor": actor, "detail": detail, **fields}
    )
    return state.model_copy(update={"sales_log": (*state.sales_log, entry)})
