"""What the lead's behaviour and silence do to its score and its stages.

An event notes the activity and scores; each full period of silence costs points; a score
that rises past a threshold qualifies the lead, a recycled lead only once it re-qualified.
A machine-made open or click (a scanner's, Apple's privacy proxy's) is nobody's activity:
it is only remembered, so a repeat is ignored and its fact can be written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.domain.lead.state import LeadState, Transition, remember
from nurture.domain.lifecycle import Stage, check_transition, qualify
from nurture.domain.models import LeadEvent
from nurture.domain.scoring import ScoreUpdate, ScoringModel, apply_inactivity, score_event
from nurture.domain.tracking import machine_reason

__all__ = [
    "apply_event",
    "apply_score",
    "apply_silence",
    "next_silence_check",
    "note_activity",
]


def apply_event(
    state: LeadState, event: LeadEvent, model: ScoringModel, now: datetime
) -> LeadState:
    """A behavioural event: note the activity, score it, qualify; a machine's is only
    remembered (no points, no activity, the silence goes on)."""
    if machine_reason(event):
        return state.model_copy(update={"seen_events": remember(state.seen_events, event.id)})
    state = note_activity(state, event, now)
    update = score_event(model, state.score, event)
    weak = event.type in model.weak_events
    return apply_score(state, update, model, now, f"event {event.type}", qualify_lead=not weak)


def note_activity(state: LeadState, event: LeadEvent, now: datetime) -> LeadState:
    """The lead did something: the silence starts again, and the event is remembered."""
    occurred = min(event.occurred_at, now)
    last = max(filter(None, (state.last_activity_at, occurred)))
    return state.model_copy(
        update={
            "last_activity_at": last,
            "silent_periods": 0 if last == occurred else state.silent_periods,
            "seen_events": remember(state.seen_events, event.id),
        }
    )


def next_silence_check(state: LeadState, model: ScoringModel) -> datetime | None:
    """When the next inactivity penalty falls due, if nothing happens before."""
    if state.last_activity_at is None:
        return None
    period = timedelta(days=model.inactivity.after_days)
    return state.last_activity_at + period * (state.silent_periods + 1)


def apply_silence(state: LeadState, model: ScoringModel, now: datetime) -> LeadState:
    """Apply every inactivity penalty due by ``now``."""
    due = next_silence_check(state, model)
    while due is not None and due <= now:
        state = state.model_copy(update={"silent_periods": state.silent_periods + 1})
        update = apply_inactivity(model, state.score)
        state = apply_score(state, update, model, now, "inactivity")
        due = next_silence_check(state, model)
    return state


def apply_score(
    state: LeadState,
    update: ScoreUpdate,
    model: ScoringModel,
    now: datetime,
    cause: str,
    *,
    qualify_lead: bool = True,
) -> LeadState:
    """Take a score update: the new score, a buying stage it advanced to, and the lifecycle
    stage it earns (unless ``qualify_lead`` is off), each change with its reason."""
    changes: list[Transition] = []
    if update.advanced_to:
        changes.append(
            Transition(
                field="buying_stage",
                from_value=state.score.buying_stage,
                to_value=update.advanced_to,
                at=now,
                reason=f"{cause}: buying-stage points reached the target",
                cause=cause,
            )
        )
    if state.stage is Stage.RECYCLED:
        earned = state.points_since_return + update.engagement
        state = state.model_copy(update={"points_since_return": earned})
    target = _earned_stage(state, update, model, now) if qualify_lead else None
    stage = state.stage
    if target is not None:
        stage = check_transition(state.stage, target)
        changes.append(
            Transition(
                field="stage",
                from_value=state.stage,
                to_value=target,
                at=now,
                reason=f"{cause}: score {update.score.total} reached the {target} threshold",
                cause=cause,
                score=update.score.total,
            )
        )
    return state.model_copy(
        update={
            "score": update.score,
            "stage": stage,
            "transitions": (*state.transitions, *changes),
        }
    )


def _earned_stage(
    state: LeadState, update: ScoreUpdate, model: ScoringModel, now: datetime
) -> Stage | None:
    """The stage a score update earns the lead, if any.

    Scores only promote, and only as they rise: an update that gives no points (an event
    no rule scores, a penalty) never moves the stage. A lead sales returned stays recycled
    until it has earned ``requalify_points`` new behaviour points and its revisit date has
    come: the score it was returned with is no new interest."""
    if update.delta <= 0:
        return None
    waiting = state.revisit_after is not None and now < state.revisit_after
    earned = state.points_since_return >= model.thresholds.requalify_points
    if state.stage is Stage.RECYCLED and (waiting or not earned):
        return None
    target = qualify(state.stage, update.score.total, model.thresholds.mql, model.thresholds.sql)
    if target is Stage.SQL and waiting:
        # Sales asked to wait: the lead may become an MQL again, not an SQL, before then.
        target = Stage.MQL if state.stage is not Stage.MQL else None
    return target
