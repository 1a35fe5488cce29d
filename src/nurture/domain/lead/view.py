"""What admins and sales see of a lead: one view for the API and the query, one markdown
summary for the Temporal UI. Built from the lead's facts, for people: no decision reads it."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

from nurture.domain.fields import FieldValue
from nurture.domain.lead.facts import lead_facts
from nurture.domain.lead.journey import next_deadline
from nurture.domain.lead.naming import lead_label, md_table, md_text
from nurture.domain.lead.state import (
    Archived,
    EmailRecord,
    Enrolment,
    LeadState,
    PlannedEmail,
    Transition,
)
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent, ContactDetails
from nurture.domain.sales.handoff import current_handoff, sla_next_deadline
from nurture.domain.sales.records import HandOff, SalesEntry
from nurture.domain.scoring import Grade, Heat, ScoreLine, ScoringModel

__all__ = ["LeadView", "lead_view", "summary_line", "summary_markdown"]


class LeadView(BaseModel):
    """A lead as the API and the ``get_state`` query return it."""

    model_config = ConfigDict(frozen=True)

    lead_id: str
    stage: Stage
    conditions: tuple[Condition, ...]
    person: ContactDetails | None = None
    """Who the lead is, for sales to reach them (name, company, address, phone)."""
    custom: dict[str, FieldValue] = {}
    """Its custom fields (``[fields]`` of nurture.toml) by name."""
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
    imported_from: str | None = None
    """The import that created the lead (``nurture import leads --name``), if one did."""
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
    archived: Archived = Archived()
    """How many older emails, changes, enrolments, hand-offs and sales log entries the lead
    no longer carries (a long life keeps its newest; the facts log has every one)."""
    label: str = "unnamed lead"
    """Who the lead is without its address: first name, last initial, company."""
    owner: str | None = None
    """The rep id owning the open hand-off; ``None`` in the pool or with none open."""
    accept_by: AwareDatetime | None = None
    """The open hand-off's acceptance deadline; ``None`` once accepted or with none open."""


def _import_of(state: LeadState) -> str | None:
    origin = state.origin.form if state.origin else ""
    return origin.removeprefix("import:") if origin.startswith("import:") else None


def lead_view(state: LeadState, model: ScoringModel, now: datetime) -> LeadView:
    """The lead's facts at ``now``, with what people read beside them: the score's
    explanation, the buying stage's progress, the next touch, the history."""
    facts = lead_facts(state, model, now)
    handoff = current_handoff(state)
    return LeadView(
        lead_id=state.lead_id,
        stage=facts.stage,
        person=_person(state),
        custom=dict(state.lead.custom) if state.lead else {},
        conditions=facts.conditions,
        score=facts.score,
        explanation=state.score.lines,
        grade=facts.grade,
        temperature=facts.temperature,
        buying_stage=facts.buying_stage,
        buying_stage_points=state.score.stage_points,
        buying_stage_target=model.stage_named(facts.buying_stage).advance_at,
        source=facts.source,
        locale=state.locale,
        created_at=state.created_at,
        last_activity_at=facts.last_activity_at,
        next_touch_at=_next_touch(state, model),
        forms=facts.forms,
        imported_from=_import_of(state),
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
        archived=state.archived,
        label=lead_label(state.lead),
        owner=handoff.owner if handoff else None,
        accept_by=handoff.accept_by if handoff and handoff.accepted_at is None else None,
    )


def _person(state: LeadState) -> ContactDetails | None:
    if state.lead is None:
        return None
    return ContactDetails.model_validate(state.lead.model_dump(include=_CONTACT_FIELDS))


_CONTACT_FIELDS = set(ContactDetails.model_fields)


def _next_touch(state: LeadState, model: ScoringModel) -> datetime | None:
    """The lead's own next deadline or a running sequence's next step, whichever is first."""
    moments = [next_deadline(state, model)]
    moments += [e.next_touch_at for e in state.enrolments if e.ended_at is None]
    moments.append(sla_next_deadline(state))
    return min(filter(None, moments), default=None)


def summary_line(view: LeadView) -> str:
    """The lead in one line, without its address: "Ada L. · Acme · sql · 72 · grade A".
    (Not "72 (A)": the UI's markdown renderer would print "(C)" as a copyright sign.)"""
    conditions = "".join(f" · {c}" for c in view.conditions)
    return f"{view.label} · {view.stage}{conditions} · {view.score} · grade {view.grade}"


def summary_markdown(view: LeadView) -> str:
    """The readable details shown in the Temporal UI's workflow panel (current details):
    the one-line summary as its heading, the facts as a list, the rest as tables."""
    conditions = f" · **{', '.join(view.conditions)}**" if view.conditions else ""
    lines = [
        f"### {md_text(summary_line(view))}",
        "",
        f"- **Lead:** `{view.lead_id}`",
        f"- **Stage:** {view.stage}{conditions} · **Score:** {view.score} "
        f"(grade {view.grade}, {view.temperature}) · **Buying stage:** {view.buying_stage} "
        f"{view.buying_stage_points}/{view.buying_stage_target}",
        f"- **Source:** {view.source or 'unknown'} · **Forms:** {', '.join(view.forms) or 'none'}",
        f"- **Last activity:** {_when(view.last_activity_at)} · "
        f"**Next touch:** {_when(view.next_touch_at)}",
        *_sequence_items(view),
        *_sales_items(view),
        *_email_items(view),
    ]
    if view.explanation:
        lines += md_table(
            [("rule", "left"), ("points", "right"), ("hits", "right")],
            ([md_text(ln.label), f"{ln.points:+d}", str(ln.hits)] for ln in view.explanation),
        )
    if view.sales_log:
        lines += md_table(
            [("when (UTC)", "left"), ("what", "left"), ("who", "left"), ("detail", "left")],
            (
                [_cell_when(e.at), e.kind, md_text(e.actor), md_text(e.detail)]
                for e in view.sales_log[-10:]
            ),
        )
    # Tables bring their own blank lines: one between two of them is enough.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _sequence_items(view: LeadView) -> list[str]:
    items = []
    for s in (e for e in view.enrolments if e.ended_at is None):
        step = f" · **Step:** {s.step}" if s.step else ""
        touch = f" · next touch {_when(s.next_touch_at)}" if s.next_touch_at else ""
        items.append(
            f"- **Sequence:** {s.sequence} v{s.version} (entry {s.number}) "
            f"since {_when(s.started_at)}{step}{touch}"
        )
    return items


def _sales_items(view: LeadView) -> list[str]:
    handoff = view.handoffs[-1] if view.handoffs else None
    if handoff is None or handoff.ended_at is not None:
        return []
    owner = md_text(handoff.owner_name or handoff.owner or "the pool")
    status = (
        f"accepted {_when(handoff.accepted_at)}"
        if handoff.accepted_at
        else f"to accept by {_when(handoff.accept_by)}"
    )
    return [f"- **Sales:** hand-off {handoff.number} to {owner}, {status}"]


def _email_items(view: LeadView) -> list[str]:
    items = []
    if view.emails:
        earlier = f" (and {view.archived.emails} earlier)" if view.archived.emails else ""
        sent = ", ".join(f"{e.template} ({e.status})" for e in view.emails)
        items.append(f"- **Emails:** {sent}{earlier}")
    if view.planned:
        planned = ", ".join(f"{p.template} at {_when(p.due_at)}" for p in view.planned)
        items.append(f"- **Planned:** {planned}")
    return items


def _cell_when(moment: datetime) -> str:
    """A moment in a table's UTC column, kept on one line in the UI's narrow panel:
    no-break hyphens and space (a hyphen is where a browser breaks a line)."""
    return moment.strftime("%Y\u2011%m\u2011%d\u00a0%H:%M")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"
