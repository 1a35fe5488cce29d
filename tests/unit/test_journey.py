"""The journey reducer: submissions, events, silence and email results."""

from __future__ import annotations

from datetime import timedelta

from nurture.config.project import FormConfig
from nurture.domain.emails import EmailKind
from nurture.domain.lead import journey
from nurture.domain.lead.engagement import apply_event, apply_silence, next_silence_check
from nurture.domain.lead.mail_plan import record_email, send_input, why_not_send
from nurture.domain.lead.state import EmailRecord, LeadState, start_state
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.scoring import ScoringModel
from nurture.domain.scoring.model import Thresholds
from nurture.services.intake import FormPost, to_submission
from tests.helpers import T0, event, persona_lead, project, scoring_model, submission


def submitted() -> LeadState:
    model = scoring_model()
    return journey.apply_submission(start_state("L1", model), submission(), model, T0)


class TestSubmission:
    """A form post thanks at once and plans the welcome sequence for the second conversion."""

    def test_thank_you_due_now_welcome_later(self) -> None:
        """The thank-you, keyed per lead, form and step; the welcome after the form's delay,
        with what the form offers next."""
        state = submitted()
        (thank_you,) = state.planned
        assert (thank_you.template, thank_you.due_at) == ("thank_you", T0)
        assert thank_you.kind is EmailKind.TRANSACTIONAL
        assert thank_you.key == "L1/form-white-paper/thank_you/1"
        (welcome,) = state.starts
        assert (welcome.sequence, welcome.due_at) == ("welcome", T0 + timedelta(days=2))
        assert welcome.form.form_id == "white-paper" and welcome.form.related

    def test_same_form_twice_plans_nothing_new(self) -> None:
        """Another submission of the same form is never re-thanked nor re-welcomed."""
        model = scoring_model()
        state = journey.apply_submission(submitted(), submission(submission_id="s2"), model, T0)
        assert len(state.planned) == len(state.starts) == 1 and state.forms == ("white-paper",)

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
            state = apply_event(state, event("page_viewed", section="product"), model, T0)
        assert state.stage is Stage.MQL
        change = [t for t in state.transitions if t.field == "stage"][-1]
        assert (change.from_value, change.to_value) == ("new", "mql")
        assert "score 20" in change.reason

    def test_silence_penalises_every_full_period(self) -> None:
        """65 days of silence: two penalties of -3, then the next check at day 90."""
        model = scoring_model()
        state = apply_silence(submitted(), model, T0 + timedelta(days=65))
        assert state.score.total == 8 - 6
        assert next_silence_check(state, model) == T0 + timedelta(days=90)

    def test_activity_rearms_the_silence_timer(self) -> None:
        """An event on day 20 moves the next check to day 50."""
        model = scoring_model()
        later = T0 + timedelta(days=20)
        state = apply_event(submitted(), event("page_viewed", at=later), model, later)
        assert next_silence_check(state, model) == later + timedelta(days=30)


class TestSendRules:
    """What may be sent depends on conditions and stage."""

    def test_bounce_stops_everything(self) -> None:
        """After a bounce even transactional mail is withheld."""
        state = submitted()
        thank_you = state.planned[0]
        state = record_email(
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
        assert why_not_send(state, thank_you) == "the address bounced"

    def test_marketing_stops_for_sales_owned_leads(self) -> None:
        """An SQL gets no marketing email from the lead; its transactional mail still goes."""
        state = submitted().model_copy(update={"stage": Stage.SQL})
        marketing = state.planned[0].model_copy(update={"kind": EmailKind.MARKETING})
        assert "stage 'sql'" in (why_not_send(state, marketing) or "")
        assert why_not_send(state, state.planned[0]) is None

    def test_send_input_carries_the_lead(self) -> None:
        """The activity input has the address, name and template context."""
        state = submitted()
        data = send_input(state, state.planned[0])
        assert data.to_email == persona_lead().email and data.to_name == "Ada Lovelace"
        assert data.context["lead"]["first_name"] == "Ada"
        assert data.context["offer"]["url"] == "https://example.com/guide.pdf"


class TestPointlessEvents:
    """A score update that gives no points never changes the stage by itself."""

    def low_mql(self) -> tuple[LeadState, ScoringModel]:
        """A new lead at 8 points under a model whose MQL threshold is 5: qualified on
        paper, not moved yet (as a lead past the threshold by an open only would be)."""
        model = scoring_model()
        state = submitted().model_copy(update={"stage": Stage.NEW})
        low = model.model_copy(update={"thresholds": Thresholds(mql=5, sql=50)})
        return state, low

    def test_an_event_worth_nothing_moves_nothing(self) -> None:
        """An unscored type, then a page no rule counts: still new; a blog visit: MQL."""
        state, model = self.low_mql()
        for kind, props in [("no_such_event", {}), ("page_viewed", {"section": "careers"})]:
            state = apply_event(state, event(kind, **props), model, T0)
            assert state.stage is Stage.NEW and state.last_activity_at == T0
        state = apply_event(state, event("page_viewed", section="blog"), model, T0)
        assert state.stage is Stage.MQL

    def test_a_penalty_never_qualifies(self) -> None:
        """Thirty silent days cost points, and move nothing."""
        state, model = self.low_mql()
        state = apply_silence(state, model, T0 + timedelta(days=31))
        assert (state.stage, state.score.total) == (Stage.NEW, 5)


class TestResubmission:
    """Re-posting a form the lead's score already counted within ``rescore_after`` scores
    nothing (it is still activity); after the window it counts again, within the caps."""

    def test_five_hundred_posts_score_like_one(self) -> None:
        """500 posts of the white paper with new submission ids over a day: 8 points, as
        after the first, and no MQL, let alone a hand-off (the filed case reached 1,806)."""
        model = scoring_model()
        state = submitted()
        for n in range(500):
            at = T0 + timedelta(minutes=2 * n)
            post = submission(submission_id=f"spam-{n}", at=at)
            state = journey.apply_submission(state, post, model, at)
        assert (state.score.total, state.stage) == (8, Stage.NEW)
        line = state.score.line("buying_guide_download")
        assert line is not None and (line.points, line.hits) == (4, 1)
        assert state.last_activity_at == T0 + timedelta(minutes=998)

    def test_a_repost_is_still_activity(self) -> None:
        """Posted again on day 20: no points, but the silence starts again from day 20."""
        model = scoring_model()
        day20 = T0 + timedelta(days=20)
        again = submission(submission_id="s2", at=day20)
        state = journey.apply_submission(submitted(), again, model, day20)
        assert state.score.total == 8
        assert next_silence_check(state, model) == day20 + timedelta(days=30)

    def test_after_the_window_it_scores_again_up_to_the_cap(self) -> None:
        """Day 30 scores again (+4, the rule's cap of 8 reached); day 60 gives nothing more."""
        model = scoring_model()
        state = submitted()
        for day in (29, 30, 60):
            at = T0 + timedelta(days=day)
            post = submission(submission_id=f"d{day}", at=at)
            state = journey.apply_submission(state, post, model, at)
            assert state.score.total == (8 if day < 30 else 12), day
        assert state.forms_scored == {"white-paper": T0 + timedelta(days=60)}

    def test_another_form_scores(self) -> None:
        """The window is per form: the webinar form right after the white paper scores."""
        model = scoring_model()
        webinar = submission(submission_id="w1", form_id="webinar-fr").model_copy(
            update={"event_type": "webinar_registered", "event_properties": {}}
        )
        state = journey.apply_submission(submitted(), webinar, model, T0)
        assert state.score.total == 8 + 3

    def test_posts_from_before_the_setting_always_score(self) -> None:
        """A payload without ``rescore_after`` (zero): every post scores, as before."""
        model = scoring_model()
        again = submission(submission_id="s2", rescore_after=timedelta(0))
        assert journey.apply_submission(submitted(), again, model, T0).score.total == 12

    def test_the_window_comes_from_the_form_else_the_defaults(self) -> None:
        """The shipped default is 30 days; a form may set its own, zero included."""
        defaults = project().defaults
        post = FormPost(email="ada@globex.example")
        windows = [
            to_submission(post, "f", form, "en", defaults, T0, submission_id="s1").rescore_after
            for form in (
                FormConfig(),
                FormConfig(rescore_after="1w"),
                FormConfig(rescore_after="0s"),
            )
        ]
        assert windows == [timedelta(days=30), timedelta(weeks=1), timedelta(0)]
