"""The journey reducer: submissions, events, silence and email results."""

from __future__ import annotations

from datetime import timedelta

from nurture import journey
from nurture.emails import EmailKind
from nurture.journey import EmailRecord
from nurture.lifecycle import Condition, Stage
from tests.helpers import T0, event, persona_lead, scoring_model, submission


def submitted() -> journey.LeadState:
    model = scoring_model()
    return journey.apply_submission(journey.start_state("L1", model), submission(), model, T0)


class TestSubmission:
    """A form post thanks at once and plans the second conversion."""

    def test_thank_you_due_now_second_conversion_later(self) -> None:
        """Two planned emails with keys per lead, form and step."""
        state = submitted()
        planned = {p.template: p for p in state.planned}
        assert planned["thank_you"].due_at == T0
        assert planned["thank_you"].kind is EmailKind.TRANSACTIONAL
        assert planned["second_conversion"].due_at == T0 + timedelta(days=2)
        assert planned["thank_you"].key == "L1/form-white-paper/thank_you/1"

    def test_same_form_twice_plans_nothing_new(self) -> None:
        """Another submission of the same form is scored but never re-thanked."""
        model = scoring_model()
        state = journey.apply_submission(submitted(), submission(submission_id="s2"), model, T0)
        assert len(state.planned) == 2 and state.forms == ("white-paper",)

    def test_submission_scores_profile_and_event(self) -> None:
        """Persona +4 and the buying guide download +4."""
        assert submitted().score.total == 8


class TestEvents:
    """Events score, qualify and reset the silence."""

    def test_crossing_mql_threshold_records_transition(self) -> None:
        """At 20 points the lead becomes an MQL, with the reason recorded."""
        model = scoring_model()
        state = submitted()
        for _ in range(6):
            state = journey.apply_event(state, event("page_viewed", section="product"), model, T0)
        assert state.stage is Stage.MQL
        change = [t for t in state.transitions if t.field == "stage"][-1]
        assert (change.from_value, change.to_value) == ("new", "mql")
        assert "score 20" in change.reason

    def test_silence_penalises_every_full_period(self) -> None:
        """65 days of silence: two penalties of -3, then the next check at day 90."""
        model = scoring_model()
        state = journey.apply_silence(submitted(), model, T0 + timedelta(days=65))
        assert state.score.total == 8 - 6
        assert journey.next_silence_check(state, model) == T0 + timedelta(days=90)

    def test_activity_rearms_the_silence_timer(self) -> None:
        """An event on day 20 moves the next check to day 50."""
        model = scoring_model()
        later = T0 + timedelta(days=20)
        state = journey.apply_event(submitted(), event("page_viewed", at=later), model, later)
        assert journey.next_silence_check(state, model) == later + timedelta(days=30)


class TestSendRules:
    """What may be sent depends on conditions and stage."""

    def test_bounce_stops_everything(self) -> None:
        """After a bounce even transactional mail is withheld."""
        state = submitted()
        thank_you = state.planned[0]
        state = journey.record_email(
            state,
            EmailRecord(
                key=thank_you.key,
                template="thank_you",
                kind=thank_you.kind,
                status="bounced",
                at=T0,
                detail="SMTP 550",
            ),
        )
        assert Condition.BOUNCED in state.conditions
        assert journey.why_not_send(state, state.planned[0]) == "the address bounced"

    def test_marketing_stops_for_sales_owned_leads(self) -> None:
        """An SQL gets no marketing email from the welcome track."""
        state = submitted().model_copy(update={"stage": Stage.SQL})
        second = state.planned[1]
        assert "stage 'sql'" in (journey.why_not_send(state, second) or "")
        assert journey.why_not_send(state, state.planned[0]) is None

    def test_send_input_carries_the_lead(self) -> None:
        """The activity input has the address, name and template context."""
        state = submitted()
        data = journey.send_input(state, state.planned[0])
        assert data.to_email == persona_lead().email and data.to_name == "Ada Lovelace"
        assert data.context["lead"]["first_name"] == "Ada"
        assert data.context["offer"]["url"] == "https://example.com/guide.pdf"
