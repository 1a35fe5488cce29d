"""What admins and sales see of a lead: one view for the API and the query, one markdown
summary for the Temporal UI."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.emails import EmailKind
from nurture.domain.lead.journey import (
    EmailRecord,
    LeadState,
    PlannedEmail,
    Transition,
    next_deadline,
)
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent
from nurture.domain.sales.handoff import sla_next_deadline
from nurture.domain.sales.records import HandOff, SalesEntry
from nurture.domain.scoring import Grade, Heat, ScoreLine, ScoringModel, grade_for, temperature_for
from nurture.domain.sequences.enrolment import Enrolment
from nurture.domain.sequences.models import LeadSnapshot

__all__ = ["LeadView", "lead_snapshot", "lead_view", "summary_markdown"]

_RECENT_SENDS = 50
"""Marketing sends a sequence is told about, for its frequency cap."""


class LeadView(BaseModel):
    """A lead as the API and the ``get_state`` query return it."""

    model_config = ConfigDict(frozen=True)

    lead_id: str
    stage: Stage
    conditions: tuple[Condition, ...]
    score: int
    explanation: tuple[ScoreLine, ...]
    grade: Grade
    temperature: Heat
    buying_stage: str
    buying_stage_points: int
    buying_stage_target: int
    source: str | None
    locale: str
    created_at: AwareDatetime | None
    last_activity_at: AwareDatetime | None
    next_touch_at: AwareDatetime | None
    forms: tuple[str, ...]
    transitions: tuple[Transition, ...]
    emails: tuple[EmailRecord, ...]
    planned: tuple[PlannedEmail, ...]
    sequence: Enrolment | None = None
    """The sequence the lead is in now."""
    enrolments: tuple[Enrolment, ...] = ()
    handoffs: tuple[HandOff, ...] = ()
    """Every trip to sales: owner, deadlines, acceptance."""
    sales_log: tuple[SalesEntry, ...] = ()
    """Hand-offs, assignments, reminders, escalations and sales actions, with actors."""
    revisit_after: AwareDatetime | None = None
    consent: Consent | None = None
    """The lead's consent to marketing mail and its evidence (form, time, wording, client,
    double opt-in confirmation)."""
    awaiting_confirmation: tuple[str, ...] = ()
    """Double opt-in forms posted and not confirmed yet."""


def lead_view(state: LeadState, model: ScoringModel, now: datetime) -> LeadView:
    """Derive grade, temperature and next touch from the state and the scoring model."""
    total = state.score.total
    return LeadView(
        lead_id=state.lead_id,
        stage=state.stage,
        conditions=state.conditions,
        score=total,
        explanation=state.score.lines,
        grade=grade_for(model, total),
        temperature=temperature_for(model, total, state.last_activity_at, now),
        buying_stage=state.score.buying_stage,
        buying_stage_points=state.score.stage_points,
        buying_stage_target=model.stage_named(state.score.buying_stage).advance_at,
        source=state.lead.source.value if state.lead else None,
        locale=state.locale,
        created_at=state.created_at,
        last_activity_at=state.last_activity_at,
        next_touch_at=_next_touch(state, model),
        forms=state.forms,
        transitions=state.transitions,
        emails=state.emails,
        planned=state.planned,
        sequence=state.active_enrolment(),
        enrolments=state.enrolments,
        handoffs=state.handoffs,
        sales_log=state.sales_log,
        revisit_after=state.revisit_after,
        consent=state.lead.consent if state.lead else None,
        awaiting_confirmation=tuple(p.form.form_id for p in state.unconfirmed),
    )


def _next_touch(state: LeadState, model: ScoringModel) -> datetime | None:
    """The lead's own next deadline or a running sequence's next step, whichever is first."""
    moments = [next_deadline(state, model)]
    moments += [e.next_touch_at for e in state.enrolments if e.ended_at is None]
    moments.append(sla_next_deadline(state))
    return min(filter(None, moments), default=None)


def lead_snapshot(state: LeadState, view: LeadView) -> LeadSnapshot:
    """The lead as its sequence sees it."""
    lead = state.lead
    if lead is None:
        raise ValueError(f"lead {state.lead_id} has no profile yet")
    marketing = tuple(
        e.at for e in state.emails if e.kind is EmailKind.MARKETING and e.status == "sent"
    )[-_RECENT_SENDS:]
    return LeadSnapshot(
        lead_id=state.lead_id,
        email=lead.email,
        full_name=lead.full_name,
        locale=state.locale,
        timezone=lead.timezone,
        country=lead.country,
        stage=view.stage.value,
        conditions=tuple(state.conditions),
        score=view.score,
        grade=view.grade.value,
        buying_stage=view.buying_stage,
        source=view.source,
        attributes={
            **lead.model_dump(mode="json", exclude={"utm", "consent", "email"}),
            "full_name": lead.full_name,
        },
        marketing_sent_at=marketing,
        tracking=lead.consent.marketing,
    )


def summary_markdown(view: LeadView) -> str:
    """The readable summary shown in the Temporal UI's workflow details."""
    conditions = f" · **{', '.join(view.conditions)}**" if view.conditions else ""
    lines = [
        f"### Lead `{view.lead_id}`",
        f"**Stage:** {view.stage}{conditions} · **Score:** {view.score} "
        f"(grade {view.grade}, {view.temperature}) · **Buying stage:** {view.buying_stage} "
        f"{view.buying_stage_points}/{view.buying_stage_target}",
        f"**Source:** {view.source or 'unknown'} · **Forms:** {', '.join(view.forms) or 'none'}",
        f"**Last activity:** {_when(view.last_activity_at)} · "
        f"**Next touch:** {_when(view.next_touch_at)}",
        "",
        "| rule | points | hits |",
        "| --- | ---: | ---: |",
        *(f"| {ln.label} | {ln.points:+d} | {ln.hits} |" for ln in view.explanation),
    ]
    running = [e for e in view.enrolments if e.ended_at is None]
    if running:
        lines.append("")
    for s in running:
        step = f" · **Step:** {s.step}" if s.step else ""
        touch = f" · next touch {_when(s.next_touch_at)}" if s.next_touch_at else ""
        lines.append(
            f"**Sequence:** {s.sequence} v{s.version} (entry {s.number}) "
            f"since {_when(s.started_at)}{step}{touch}"
        )
    handoff = view.handoffs[-1] if view.handoffs else None
    if handoff is not None and handoff.ended_at is None:
        owner = handoff.owner_name or handoff.owner or "the pool"
        status = (
            f"accepted {_when(handoff.accepted_at)}"
            if handoff.accepted_at
            else f"to accept by {_when(handoff.accept_by)}"
        )
        lines += ["", f"**Sales:** hand-off {handoff.number} to {owner}, {status}"]
    if view.sales_log:
        lines += [
            "",
            "| when | what | who | detail |",
            "| --- | --- | --- | --- |",
            *(
                f"| {_when(e.at)} | {e.kind} | {e.actor} | {e.detail} |"
                for e in view.sales_log[-10:]
            ),
        ]
    if view.emails:
        lines += ["", "**Emails:** " + ", ".join(f"{e.template} ({e.status})" for e in view.emails)]
    if view.planned:
        lines += [
            "**Planned:** " + ", ".join(f"{p.template} at {_when(p.due_at)}" for p in view.planned)
        ]
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"
