"""The lead's messages: one tagged union, each kind with its id, applied by one ``apply``."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from nurture.domain.emails import EmailKind
from nurture.domain.lead import journey
from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lead.journey import ApplyContext
from nurture.domain.lead.messages import (
    AddressBounced,
    EventReceived,
    FormPosted,
    Inbound,
    LeadImported,
    LeadMessage,
    OptInConfirmed,
    OptOut,
    SalesActed,
    SequenceEmailed,
    SequenceEnded,
    SequenceMoved,
)
from nurture.domain.lead.state import EmailRecord, Enrolment, LeadState, start_state
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Lead
from nurture.domain.sales.records import SalesAction
from nurture.domain.sequences.models import SequenceOutcome, SequenceProgress
from tests.helpers import T0, doi_submission, event, scoring_model, submission

MODEL = scoring_model()
CONTEXT = ApplyContext(model=MODEL, now=T0, hand_raise_events=("demo_requested",))
RECORD = EmailRecord(
    key="L1/seq-welcome-v1-e1/second_conversion/1",
    template="second_conversion",
    kind=EmailKind.MARKETING,
    status="sent",
    at=T0,
)
SEQUENCE = "lead-L1/seq-welcome-1"
OUTCOME = SequenceOutcome(
    workflow_id=SEQUENCE, name="welcome", version=1, result="completed", ended_at=T0
)
PROGRESS = SequenceProgress(workflow_id=SEQUENCE, number=3, step="wait 2d", next_touch_at=T0)
ACCEPT = SalesAction(action="accept", actor="ana")
ONE_OF_EACH: list[tuple[Inbound, str]] = [
    (FormPosted(form=submission()), "form:sub-1"),
    (EventReceived(event=event("page_viewed").model_copy(update={"id": "e-9"})), "e-9"),
    (SequenceEmailed(record=RECORD), f"seq-email:{RECORD.key}:sent"),
    (SequenceEnded(outcome=OUTCOME), f"seq-end:{SEQUENCE}"),
    (SequenceMoved(progress=PROGRESS), f"seq-step:{SEQUENCE}:3"),
    (SalesActed(action=ACCEPT, key="k-1"), "sales:k-1"),
    (OptOut(channel="page", at=T0), f"opt-out:unsubscribed:{T0.isoformat()}"),
    (AddressBounced(reason="5.1.1", at=T0), f"bounced:{T0.isoformat()}"),
    (OptInConfirmed(submission_id="doi-1", at=T0), "confirm:doi-1"),
    (
        LeadImported(
            row=ImportedLead(key="row-1", batch="fair", lead=Lead(email="ada@acme.example"))
        ),
        "import:row-1",
    ),
]


def submitted() -> LeadState:
    return journey.apply_submission(start_state("L1", MODEL), submission(), MODEL, T0)


class TestUnion:
    """Every kind carries its own deduplication id and travels as the one union type."""

    @pytest.mark.parametrize(("message", "expected"), ONE_OF_EACH)
    def test_the_id_of_each_kind(self, message: Inbound, expected: str) -> None:
        """The ids the lead deduplicates by, one format per kind."""
        assert message.id == expected

    @pytest.mark.parametrize(("message", "expected"), ONE_OF_EACH)
    def test_round_trip_by_kind(self, message: Inbound, expected: str) -> None:
        """Serialised and read back as the union, a message is the same kind and value."""
        adapter: TypeAdapter[Inbound] = TypeAdapter(Inbound)
        back = adapter.validate_json(adapter.dump_json(message))
        assert type(back) is type(message) and back == message

    def test_kinds_are_unique(self) -> None:
        """No two kinds share a tag."""
        kinds = [message.kind for message, _ in ONE_OF_EACH]
        assert len(set(kinds)) == len(kinds)

    def test_one_of_each_is_every_kind(self) -> None:
        """The examples above cover every member of the union: a kind added without one
        fails here."""
        union = get_args(Inbound)[0]
        assert {type(m) for m, _ in ONE_OF_EACH} == set(get_args(union))

    def test_a_sales_action_cannot_be_signalled(self) -> None:
        """Only the ``act`` update queues a sales action (its checks, its answer): the
        signal's type refuses one."""
        adapter: TypeAdapter[LeadMessage] = TypeAdapter(LeadMessage)
        payload = TypeAdapter(Inbound).dump_json(SalesActed(action=ACCEPT, key="k-1"))
        with pytest.raises(ValidationError, match="sales_acted"):
            adapter.validate_json(payload)


class TestApply:
    """``apply`` dispatches each kind and returns what the workflow must do as data."""

    def test_a_form_post_forwards_its_event(self) -> None:
        """The post scores, and the sequences hear of it as its behavioural event."""
        applied = journey.apply(start_state("L1", MODEL), FormPosted(form=submission()), CONTEXT)
        assert applied.state.forms == ("white-paper",) and applied.state.score.total == 8
        assert [e.id for e in applied.forward] == ["form:sub-1"] and applied.refused is None

    def test_a_held_post_forwards_nothing_until_confirmed(self) -> None:
        """A double opt-in post waits; the confirmation forwards the post's event."""
        held = journey.apply(start_state("L1", MODEL), FormPosted(form=doi_submission()), CONTEXT)
        assert held.forward == () and held.state.conditions == (Condition.UNCONFIRMED,)
        confirmed = journey.apply(held.state, OptInConfirmed(submission_id="doi-1", at=T0), CONTEXT)
        assert [e.id for e in confirmed.forward] == ["form:doi-1"]
        assert confirmed.state.forms == ("newsletter",) and not confirmed.state.conditions

    def test_a_hand_raise_makes_an_sql(self) -> None:
        """An event of a hand-raise type moves the lead to SQL at once, and is forwarded."""
        demo = event("demo_requested")
        applied = journey.apply(submitted(), EventReceived(event=demo), CONTEXT)
        assert applied.state.stage is Stage.SQL and applied.forward == (demo,)

    def test_only_the_context_s_hand_raises_count(self) -> None:
        """With no hand-raise types, the same event only scores."""
        quiet = CONTEXT.model_copy(update={"hand_raise_events": ()})
        applied = journey.apply(submitted(), EventReceived(event=event("demo_requested")), quiet)
        assert applied.state.stage is not Stage.SQL

    def test_a_refused_sales_action_changes_nothing(self) -> None:
        """Accepting a lead no hand-off waits on: refused, with the reason, state as it was."""
        state = submitted()
        applied = journey.apply(state, SalesActed(action=ACCEPT, key="k-1"), CONTEXT)
        assert applied.state == state and "only an SQL" in (applied.refused or "")

    def test_an_allowed_sales_action_applies(self) -> None:
        """Disqualifying a marketing lead is allowed: applied, nothing refused."""
        action = SalesAction(action="disqualify", actor="ana", reason="competitor")
        applied = journey.apply(submitted(), SalesActed(action=action, key="k-2"), CONTEXT)
        assert applied.state.stage is Stage.DISQUALIFIED and applied.refused is None

    def test_sequence_reports_update_the_enrolment(self) -> None:
        """A step report, an email and the end land on the lead's record of the sequence."""
        enrolment = Enrolment(
            sequence="welcome",
            version=1,
            number=1,
            priority=0,
            workflow_id=SEQUENCE,
            started_at=T0,
            alongside=True,
        )
        state = submitted().model_copy(update={"enrolments": (enrolment,)})
        for message in (SequenceMoved(progress=PROGRESS), SequenceEmailed(record=RECORD)):
            state = journey.apply(state, message, CONTEXT).state
        assert state.enrolments[0].step == "wait 2d" and state.emails[-1] == RECORD
        later = CONTEXT.model_copy(update={"now": T0 + timedelta(days=1)})
        ended = journey.apply(state, SequenceEnded(outcome=OUTCOME), later).state
        assert ended.enrolments[0].result == "completed" and ended.running_alongside() == []

    def test_opt_out_and_bounce_are_conditions(self) -> None:
        """Each adds its condition once."""
        state = journey.apply(submitted(), OptOut(channel="page", at=T0), CONTEXT).state
        state = journey.apply(state, AddressBounced(reason="5.1.1", at=T0), CONTEXT).state
        assert state.conditions == (Condition.UNSUBSCRIBED, Condition.BOUNCED)
