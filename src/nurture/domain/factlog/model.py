"""The facts log's record: ``Fact``, one thing that happened to one lead.

A fact is written once and never changed. It names the lead by its id only (never an
address or a name), says when it happened and what, with the details of its kind in
``data`` (the fields each kind carries are listed in ``FACT_FIELDS``, and checked). Its
``id`` is deterministic: the live path (the lead's workflow) and the backfill compute the
same id for the same happening, so writing it twice, from a retried activity, a replayed
workflow task or a backfill over live facts, stores it once.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

__all__ = [
    "FACT_FIELDS",
    "FACT_KINDS",
    "Fact",
    "FactKind",
    "FactValue",
    "fact_id",
]

FactKind = Literal[
    "lead_created",
    "form_submitted",
    "event_received",
    "email_opened",
    "email_clicked",
    "stage_changed",
    "buying_stage_changed",
    "condition_added",
    "email_planned",
    "email_sent",
    "email_bounced",
    "email_failed",
    "email_skipped",
    "unsubscribed",
    "complained",
    "address_bounced",
    "opt_in_confirmed",
    "sequence_entered",
    "sequence_ended",
    "variant_assigned",
    "handed_off",
    "assigned",
    "pooled",
    "sla_reminded",
    "sla_escalated",
    "sales_action",
    "erased",
]
FACT_KINDS: tuple[str, ...] = get_args(FactKind)

FactValue = str | int | float | bool | None | dict[str, str | None]
"""What a fact's field may hold: a scalar, or a flat mapping (the A/B variants of an email)."""

_EMAIL = ("key", "template", "email_kind", "sequence", "version", "step", "variant", "detail")
FACT_FIELDS: dict[str, frozenset[str]] = {
    kind: frozenset(fields)
    for kind, fields in {
        # source: AcquisitionSource; cohort: the month the lead was created, "2026-11".
        "lead_created": (
            "source",
            "form",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "locale",
            "country",
            "cohort",
        ),
        # event: the event type the post scores as, with its properties; profile: what
        # fit rules read of the person (no address, name or phone: email_domain, custom.*);
        # rescore_after: seconds within which a post of that form scores nothing again.
        "form_submitted": (
            "form",
            "submission",
            "event",
            "properties",
            "profile",
            "rescore_after",
        ),
        "event_received": ("type", "properties"),
        # machine: why the open or click looks machine-made (scanner, Apple MPP), or None;
        # properties: the event's others (via, campaign...).
        "email_opened": ("key", "template", "machine", "properties"),
        "email_clicked": ("key", "template", "url", "machine", "properties"),
        # score: the lead's points total at that moment.
        "stage_changed": ("from_stage", "to_stage", "reason", "score"),
        "buying_stage_changed": ("from_stage", "to_stage", "reason"),
        "condition_added": ("condition", "reason"),
        "email_planned": (*_EMAIL, "due_at"),
        "email_sent": _EMAIL,
        "email_bounced": _EMAIL,
        "email_failed": _EMAIL,
        "email_skipped": _EMAIL,
        # via: the unsubscribe link, the API, a provider's list-unsubscribe...
        "unsubscribed": ("via", "reason"),
        "complained": ("via", "reason"),
        "address_bounced": ("detail",),
        # form: the form whose double opt-in the address confirmed.
        "opt_in_confirmed": ("submission", "form"),
        # priority: the rule's that started it (what a higher-priority rule must beat).
        "sequence_entered": (
            "sequence",
            "version",
            "enrolment",
            "alongside",
            "workflow_id",
            "priority",
        ),
        # result: "goal", "exited", "stopped" or "finished".
        "sequence_ended": ("sequence", "version", "enrolment", "result", "detail", "workflow_id"),
        # variant None: the lead is in the experiment's holdout.
        "variant_assigned": ("experiment", "variant", "sequence", "version", "enrolment"),
        "handed_off": ("handoff", "trigger"),
        "assigned": ("handoff", "rep", "reason"),
        "pooled": ("handoff", "reason"),
        "sla_reminded": ("handoff", "rep"),
        "sla_escalated": ("handoff", "rep"),
        # action: accepted, returned, disqualified, converted, won, lost;
        # reason: a BANT reason (budget, authority, need, timing) or the stated one.
        "sales_action": ("handoff", "action", "actor", "reason", "revisit_after"),
        # lead_id is "" on this one: it says an erasure happened, not to whom.
        "erased": (),
    }.items()
}


class Fact(BaseModel):
    """One thing that happened to one lead, at one moment."""

    model_config = ConfigDict(frozen=True)

    id: str
    lead_id: str
    kind: FactKind
    at: AwareDatetime
    data: dict[str, FactValue] = {}

    @model_validator(mode="after")
    def _known_fields(self) -> Fact:
        unknown = set(self.data) - FACT_FIELDS[self.kind]
        if unknown:
            raise ValueError(f"a {self.kind} fact has no field {', '.join(sorted(unknown))}")
        return self

    def get(self, field: str, default: Any = None) -> Any:
        """The value of ``field``, or ``default`` when the fact does not carry it."""
        return self.data.get(field, default)


def fact_id(lead_id: str, kind: str, *key: object) -> str:
    """The deterministic id of a fact: the lead, the kind and what tells this happening
    apart from the lead's other facts of that kind (an email's key and status, an event's
    id, a transition's moment...)."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in (lead_id, kind, *key)).encode())
    return f"{kind}:{digest.hexdigest()[:32]}"
