"""Every fact a lead's state can prove: ``facts_of_state``.

The lead's workflow logs what this returns as its state changes (the ids it has not
logged yet), its ``logged_facts`` query returns it whole, and ``nurture facts backfill``
writes it for leads that lived before the log: the three meet on the same ids, because an
id derives from what the fact is about (a transition's field, moment and target, an
email's key and status, an enrolment's workflow id...), never from a position in the
state's tuples, which may be trimmed at the front. An ordinal tells apart only items that
are identical in every part of their key.

No fact carries an address, a name or free text: reasons are the state's fixed wordings
(``Transition.cause``, ``SalesEntry.reason``), and details quoted from elsewhere (an SMTP
answer) have addresses masked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from nurture.domain.factlog.model import Fact, FactValue, fact_id
from nurture.domain.lead.state import (
    EmailRecord,
    Enrolment,
    LeadOrigin,
    LeadState,
    PlannedEmail,
    Transition,
)
from nurture.domain.lifecycle import Condition
from nurture.domain.sales.records import SalesEntry

__all__ = ["facts_of_state", "masked"]

_T = TypeVar("_T")
_ADDRESS = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*")
_DETAIL_CHARS = 300
_TRANSITION_KINDS = {
    "stage": "stage_changed",
    "buying_stage": "buying_stage_changed",
    "condition": "condition_added",
}
_SALES_KINDS = {
    "handed_off": "handed_off",
    "assigned": "assigned",
    "pooled": "pooled",
    "reminded": "sla_reminded",
    "escalated": "sla_escalated",
}
_SALES_ACTIONS = frozenset({"accepted", "returned", "disqualified", "converted", "won", "lost"})
_RESULTS = {"completed": "finished"}


def facts_of_state(state: LeadState) -> list[Fact]:
    """Every fact ``state`` proves, in the order they happened."""
    facts = [
        *_created(state),
        *_transitions(state),
        *_emails(state),
        *_enrolments(state),
        *_sales(state),
        *_opt_ins(state),
    ]
    return sorted(facts, key=lambda fact: fact.at)


def masked(text: str | None) -> str | None:
    """``text`` with every email address masked, cut to a reasonable length: for details
    quoted from elsewhere (an SMTP answer often names the recipient)."""
    if text is None:
        return None
    return _ADDRESS.sub("<address>", text)[:_DETAIL_CHARS]


def _numbered(items: Iterable[_T], key: Callable[[_T], Hashable]) -> Iterator[tuple[_T, int]]:
    """Each item with how many identical ones (by ``key``) came before it."""
    seen: Counter[Hashable] = Counter()
    for item in items:
        k = key(item)
        yield item, seen[k]
        seen[k] += 1


def _origin(state: LeadState) -> LeadOrigin | None:
    """Where the lead came from. A state from before ``origin`` was kept says it through
    its profile and first form (what ``nurture facts backfill`` meets)."""
    if state.origin is not None:
        return state.origin
    lead = state.lead
    if lead is None or not state.forms or Condition.UNCONFIRMED in state.conditions:
        return None
    return LeadOrigin(
        source=lead.source.value,
        form=state.forms[0],
        utm=lead.utm,
        locale=state.locale,
        country=lead.country,
    )


def _created(state: LeadState) -> list[Fact]:
    origin = _origin(state)
    if origin is None or state.created_at is None:
        return []
    utm = origin.utm
    data: dict[str, FactValue] = {
        "source": origin.source,
        "form": origin.form,
        "utm_source": utm.source,
        "utm_medium": utm.medium,
        "utm_campaign": utm.campaign,
        "utm_term": utm.term,
        "utm_content": utm.content,
        "locale": origin.locale,
        "country": origin.country,
        "cohort": state.created_at.astimezone(UTC).strftime("%Y-%m"),
    }
    lead = state.lead_id
    return [_fact(lead, "lead_created", state.created_at, data, ())]


def _transitions(state: LeadState) -> Iterator[Fact]:
    for change, n in _numbered(state.transitions, lambda t: (t.field, t.at, t.to_value)):
        if change.field == "condition" and change.from_value is not None:
            continue  # a condition lifted (confirmed): opt_in_confirmed says it
        kind = _TRANSITION_KINDS[change.field]
        key = (change.at.isoformat(), change.to_value, n)
        yield _fact(state.lead_id, kind, change.at, _transition_data(change), key)


def _transition_data(change: Transition) -> dict[str, FactValue]:
    if change.field == "condition":
        return {"condition": str(change.to_value), "reason": change.cause}
    data: dict[str, FactValue] = {
        "from_stage": None if change.from_value is None else str(change.from_value),
        "to_stage": str(change.to_value),
        "reason": change.cause,
    }
    if change.field == "stage":
        data["score"] = change.score
    return data


def _emails(state: LeadState) -> Iterator[Fact]:
    lead = state.lead_id
    for planned in state.planned:
        yield _fact(lead, "email_planned", planned.due_at, _planned_data(planned), (planned.key,))
    for record in state.emails:
        if record.due_at is not None:
            data = _planned_data(record)
            yield _fact(lead, "email_planned", record.due_at, data, (record.key,))
        kind = f"email_{record.status}"
        yield _fact(lead, kind, record.at, _record_data(record), (record.key,))


def _planned_data(email: PlannedEmail | EmailRecord) -> dict[str, FactValue]:
    due = email.due_at
    return {
        "key": email.key,
        "template": email.template,
        "email_kind": str(email.kind),
        "due_at": None if due is None else due.isoformat(),
    }


def _record_data(record: EmailRecord) -> dict[str, FactValue]:
    return {
        "key": record.key,
        "template": record.template,
        "email_kind": str(record.kind),
        "sequence": record.sequence,
        "version": record.version,
        "step": record.step,
        "variant": dict(record.variant) or None,
        "detail": masked(record.detail),
    }


def _enrolments(state: LeadState) -> Iterator[Fact]:
    lead = state.lead_id
    for entry in state.enrolments:
        about: dict[str, FactValue] = {
            "sequence": entry.sequence,
            "version": entry.version,
            "enrolment": entry.number,
        }
        entered = {
            **about,
            "alongside": entry.alongside,
            "workflow_id": entry.workflow_id,
            "priority": entry.priority,
        }
        yield _fact(lead, "sequence_entered", entry.started_at, entered, (entry.workflow_id,))
        yield from _assignments(lead, entry, about)
        if entry.ended_at is not None:
            yield _fact(
                lead, "sequence_ended", entry.ended_at, _ended(entry, about), (entry.workflow_id,)
            )


def _assignments(lead: str, entry: Enrolment, about: dict[str, FactValue]) -> Iterator[Fact]:
    """The enrolment's A/B assignments, dated by its start: the assignment is a function
    of the lead and the experiment, the same whenever the sequence asks."""
    for experiment, variant in entry.variants.items():
        data = {**about, "experiment": experiment, "variant": variant}
        yield _fact(
            lead, "variant_assigned", entry.started_at, data, (entry.workflow_id, experiment)
        )


def _ended(entry: Enrolment, about: dict[str, FactValue]) -> dict[str, FactValue]:
    result = None if entry.result is None else _RESULTS.get(entry.result, entry.result)
    return {
        **about,
        "result": result,
        "detail": masked(entry.detail),
        "workflow_id": entry.workflow_id,
    }


def _sales(state: LeadState) -> Iterator[Fact]:
    for entry, n in _numbered(state.sales_log, lambda e: (e.at, e.kind)):
        kind, data = _sales_fact(entry)
        if kind is not None:
            yield _fact(state.lead_id, kind, entry.at, data, (entry.at.isoformat(), entry.kind, n))


def _sales_fact(entry: SalesEntry) -> tuple[str | None, dict[str, FactValue]]:
    """The fact kind and fields of a sales log entry; ``None`` for one the log does not
    keep (an alert to sales that could not be delivered)."""
    if entry.kind in _SALES_ACTIONS:
        revisit = entry.revisit_after
        return "sales_action", {
            "handoff": entry.handoff,
            "action": entry.kind,
            "actor": entry.actor,
            "reason": entry.reason,
            "revisit_after": None if revisit is None else revisit.isoformat(),
        }
    kind = _SALES_KINDS.get(entry.kind)
    if kind == "handed_off":
        return kind, {"handoff": entry.handoff, "trigger": entry.reason}
    if kind == "pooled":
        return kind, {"handoff": entry.handoff, "reason": entry.reason}
    if kind == "assigned":
        return kind, {"handoff": entry.handoff, "rep": entry.rep, "reason": entry.reason}
    if kind is not None:
        return kind, {"handoff": entry.handoff, "rep": entry.rep}
    return None, {}


def _opt_ins(state: LeadState) -> Iterator[Fact]:
    confirmed = [c for c in state.consents if c.confirmed_at is not None]
    for consent, n in _numbered(confirmed, lambda c: (c.confirmed_at, c.form_id)):
        at = consent.confirmed_at
        assert at is not None
        key = (at.isoformat(), consent.form_id, n)
        yield _fact(state.lead_id, "opt_in_confirmed", at, {"form": consent.form_id}, key)


def _fact(
    lead_id: str, kind: str, at: datetime, data: dict[str, FactValue], key: tuple[object, ...]
) -> Fact:
    return Fact.model_validate(
        {
            "id": fact_id(lead_id, kind, *key),
            "lead_id": lead_id,
            "kind": kind,
            "at": at,
            "data": data,
        }
    )
