"""The facts a message proves that the lead's state does not keep: ``facts_of_message``.

A form post, an event, an opt-out or a bounce report leaves little in the state (an id
remembered for deduplication, a condition added once): its fact is taken from the message
itself, when the lead applies it, with an id derived from the message's own deduplication
id, so a message applied again after a crash gives the same fact.

A form's fact keeps what scoring reads of it (the profile the form gave, without address,
name or phone: the address's domain stands for it; the event it scores as, with its
properties), and an event's fact its properties: ``nurture scoring backtest`` replays them
through another scoring model. Texts have addresses masked and are cut short.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum

from nurture.domain.factlog.derive import masked
from nurture.domain.factlog.model import Fact, FactValue, fact_id
from nurture.domain.lead.messages import AddressBounced, EventReceived, FormPosted, Inbound, OptOut
from nurture.domain.models import FormSubmitted, LeadEvent, PropertyValue

__all__ = ["EMAIL_EVENTS", "PROFILE_FIELDS", "facts_of_message"]

EMAIL_EVENTS = frozenset({"email_opened", "email_clicked"})
"""Event types logged as facts of their own kind (an open, a click), not as ``event_received``."""

PROFILE_FIELDS = ("company", "job_title", "industry", "company_size", "country", "source")
"""What a form's fact keeps of the person it names, with ``email_domain`` and the custom
fields (``custom.<name>``): what fit rules read, never who the person is."""

_TRACKED = frozenset({"email_key", "template", "url", "machine"})
"""An open's or click's properties its fact already keeps in fields of their own."""


def facts_of_message(lead_id: str, message: Inbound, now: datetime) -> list[Fact]:
    """What ``message``, applied at ``now`` (once: the caller skips duplicates), proves."""
    match message:
        case FormPosted(form=form):
            data: dict[str, FactValue] = {
                "form": form.form_id,
                "submission": form.submission_id,
                "event": form.event_type,
                "properties": _flat(form.event_properties),
                "profile": _profile(form),
                "rescore_after": int(form.rescore_after.total_seconds()),
            }
            at = min(form.submitted_at, now)
            return [_fact(lead_id, "form_submitted", message.id, at, data)]
        case EventReceived(event=event):
            return [_event_fact(lead_id, event, now)]
        case OptOut(reason=reason, channel=channel, at=at):
            kind = "unsubscribed" if reason == "unsubscribed" else "complained"
            return [_fact(lead_id, kind, message.id, at, {"via": channel})]
        case AddressBounced(reason=reason, at=at):
            return [_fact(lead_id, "address_bounced", message.id, at, {"detail": masked(reason)})]
    return []


def _event_fact(lead_id: str, event: LeadEvent, now: datetime) -> Fact:
    at = min(event.occurred_at, now)
    if event.type not in EMAIL_EVENTS:
        data: dict[str, FactValue] = {"type": event.type, "properties": _flat(event.properties)}
        return _fact(lead_id, "event_received", event.id, at, data)
    props = event.properties
    data = {
        "key": _text(props.get("email_key")),
        "template": _text(props.get("template")),
        "machine": _machine(props.get("machine")),
        "properties": _flat({k: v for k, v in props.items() if k not in _TRACKED}),
    }
    if event.type == "email_clicked":
        data["url"] = masked(_text(props.get("url")))
    return _fact(lead_id, event.type, event.id, at, data)


def _profile(form: FormSubmitted) -> dict[str, str | None]:
    lead = form.lead
    values: dict[str, object] = {name: getattr(lead, name) for name in PROFILE_FIELDS}
    values["email_domain"] = lead.email.rpartition("@")[2]
    values.update((f"custom.{name}", value) for name, value in lead.custom.items())
    return {name: _scalar(value) for name, value in values.items() if value is not None}


def _flat(properties: Mapping[str, PropertyValue]) -> dict[str, str | None]:
    """Properties as a fact keeps them: text, addresses masked."""
    return {name: _scalar(value) for name, value in properties.items()}


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return masked(str(value.value if isinstance(value, StrEnum) else value))


def _text(value: PropertyValue | None) -> str | None:
    return None if value is None else str(value)


def _machine(value: PropertyValue | None) -> str | None:
    """Why the open or click looks machine-made: the reason given, ``machine`` when the
    flag is only true, ``None`` when a person made it."""
    if value is None or value is False or value == "":
        return None
    return "machine" if value is True else str(value)


def _fact(lead_id: str, kind: str, key: str, at: datetime, data: dict[str, FactValue]) -> Fact:
    return Fact.model_validate(
        {
            "id": fact_id(lead_id, kind, key),
            "lead_id": lead_id,
            "kind": kind,
            "at": at,
            "data": data,
        }
    )
