"""The hand-off's rules as pure functions: which sales action is allowed in which stage, and
what each one does to the lead (stage, score, hand-off, log, recycle reason)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from nurture.domain.lead import journey
from nurture.domain.lead.engagement import apply_event, apply_silence
from nurture.domain.lead.state import LeadState, start_state
from nurture.domain.lifecycle import Stage
from nurture.domain.sales import handoff
from nurture.domain.sales.records import Assignment, SalesAction
from nurture.domain.sequences.rules import EnrolmentRule
from tests.helpers import T0, event, persona_lead, scoring_model, submission

MODEL = scoring_model()


def sql_lead(accepted: bool = False) -> LeadState:
    """A lead made an SQL by a demo request, routed to Ana (and accepted, if asked)."""
    state = journey.apply_submission(start_state("L1", MODEL), submission(), MODEL, T0)
    state = handoff.hand_raise(state, "demo_requested", T0)
    state = handoff.begin_handoff(state, handoff.needs_handoff(state) or "", T0)
    state = handoff.record_assignment(
        state,
        Assignment(rep_id="ana", rep_name="Ana", rep_email="ana@example.com", reason="match"),
        T0,
    )
    if accepted:
        state = act(state, "accept")
    return state


def act(state: LeadState, action: str, **fields: object) -> LeadState:
    sales = SalesAction.model_validate({"action": action, "actor": "ana", **fields})
    return handoff.apply_action(state, sales, MODEL, T0 + timedelta(hours=1), -10)


def refusal(state: LeadState, action: str, **fields: object) -> str | None:
    sales = SalesAction.model_validate({"action": action, "actor": "ana", **fields})
    return handoff.why_not(state, sales)


class TestAllowed:
    """Each action in the stages it belongs to, refused elsewhere with the reason."""

    def test_accept_once(self) -> None:
        state = sql_lead()
        assert refusal(state, "accept") is None
        assert "already accepted by ana" in (refusal(act(state, "accept"), "accept") or "")

    def test_convert_needs_acceptance(self) -> None:
        assert refusal(sql_lead(), "convert") == "accept the lead before converting it"
        assert refusal(sql_lead(accepted=True), "convert") is None

    @pytest.mark.parametrize("action", ["won", "lost"])
    def test_won_and_lost_need_an_opportunity(self, action: str) -> None:
        state = sql_lead(accepted=True)
        assert refusal(state, action) == f"'{action}' is not possible from stage 'sql'"
        assert refusal(act(state, "convert"), action) is None

    def test_disqualify_from_sql(self) -> None:
        assert refusal(sql_lead(), "disqualify", reason="student") is None

    def test_return_needs_an_sql(self) -> None:
        assert refusal(sql_lead(), "return_to_nurture", reason="timing") is None
        opportunity = act(sql_lead(accepted=True), "convert")
        assert refusal(opportunity, "return_to_nurture", reason="timing") == (
            "only an SQL can be returned to nurture; the lead is 'opportunity'"
        )

    def test_nothing_but_disqualify_for_a_marketing_lead(self) -> None:
        state = journey.apply_submission(start_state("L2", MODEL), submission(), MODEL, T0)
        assert "only an SQL waiting for its owner" in (refusal(state, "accept") or "")
        assert refusal(state, "won") == "'won' is not possible from stage 'new'"
        assert refusal(state, "disqualify", reason="competitor") is None


class TestActionInput:
    """Rules that hold whatever the lead's state are the action's own: an action breaking
    one cannot be made at all, and the error names the field and the rule."""

    @staticmethod
    def problems(action: str, **fields: object) -> dict[str, str]:
        with pytest.raises(ValidationError) as refused:
            SalesAction.model_validate({"action": action, "actor": "ana", **fields})
        return {".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()}

    @pytest.mark.parametrize("reason", [None, "", "  ", "bored"])
    def test_return_needs_a_known_reason(self, reason: str | None) -> None:
        fields = {} if reason is None else {"reason": reason}
        problems = self.problems("return_to_nurture", **fields)
        assert list(problems) == ["reason"]
        assert "budget, authority, need, timing, no_response or other" in problems["reason"]

    @pytest.mark.parametrize("reason", [None, " "])
    def test_disqualify_needs_a_reason(self, reason: str | None) -> None:
        fields = {} if reason is None else {"reason": reason}
        assert list(self.problems("disqualify", **fields)) == ["reason"]

    @pytest.mark.parametrize("action", ["accept", "disqualify", "convert", "won", "lost"])
    def test_revisit_date_only_on_a_return(self, action: str) -> None:
        problems = self.problems(action, reason="x", revisit_after="2027-01-01")
        assert list(problems) == ["revisit_after"]
        assert "only a return to nurture" in problems["revisit_after"]

    @pytest.mark.parametrize("field", ["actor", "reason", "note"])
    @pytest.mark.parametrize("character", ["\x00", "\r", "\n", "\x1b"])
    def test_free_text_refuses_control_characters(self, field: str, character: str) -> None:
        """A NUL could never be stored in a Postgres facts log; CR or LF forge log lines."""
        fields = {"reason": "no budget", field: f"ana{character}x"}
        problems = self.problems("disqualify", **fields)
        assert list(problems) == [field]
        assert "must not contain control characters" in problems[field]

    def test_valid_actions_are_made(self) -> None:
        made = SalesAction.model_validate(
            {"action": "return_to_nurture", "actor": "ana", "reason": " timing "}
        )
        assert made.reason == "timing"
        assert SalesAction(action="disqualify", actor="ana", reason="student").reason
        assert SalesAction(action="accept", actor="ana").reason is None


class TestEffects:
    """What an allowed action changes."""

    def test_return_recycles_with_reason_date_and_points(self) -> None:
        before = sql_lead(accepted=True)
        after = act(before, "return_to_nurture", reason="budget", revisit_after=date(2027, 3, 1))
        assert after.stage is Stage.RECYCLED and after.recycle_reason == "budget"
        assert after.score.total == max(0, before.score.total - 10)
        assert after.revisit_after is not None and after.revisit_after.date() == date(2027, 3, 1)
        assert after.handoffs[-1].ended_at is not None
        assert after.sales_log[-1].kind == "returned" and "budget" in after.sales_log[-1].detail

    def test_no_new_hand_raise_before_the_revisit_date(self) -> None:
        returned = act(
            sql_lead(accepted=True),
            "return_to_nurture",
            reason="timing",
            revisit_after=date(2027, 3, 1),
        )
        early = handoff.hand_raise(returned, "demo_requested", T0 + timedelta(days=2))
        assert early.stage is Stage.RECYCLED
        assert returned.revisit_after is not None
        late = handoff.hand_raise(returned, "demo_requested", returned.revisit_after)
        assert late.stage is Stage.SQL and handoff.needs_handoff(late) is not None

    def test_lost_recycles_with_reason_lost(self) -> None:
        opportunity = act(sql_lead(accepted=True), "convert")
        lost = act(opportunity, "lost", note="went with a competitor")
        assert lost.stage is Stage.RECYCLED and lost.recycle_reason == "lost"
        assert lost.handoffs[-1].ended_at is not None
        assert [e.kind for e in lost.sales_log][-3:] == ["accepted", "converted", "lost"]

    def test_won_closes_the_handoff_as_customer(self) -> None:
        won = act(act(sql_lead(accepted=True), "convert"), "won")
        assert won.stage is Stage.CUSTOMER and won.handoffs[-1].ended_at is not None

    def test_disqualify_closes_the_handoff(self) -> None:
        gone = act(sql_lead(), "disqualify", reason="student")
        assert gone.stage is Stage.DISQUALIFIED and gone.handoffs[-1].ended_at is not None
        assert gone.sales_log[-1].detail == "student"


class TestRecycleRules:
    """Enrolment rules name recycle reasons that exist."""

    def test_unknown_reason_is_a_config_error(self) -> None:
        with pytest.raises(ValidationError, match="unknown recycle reason 'timming'"):
            EnrolmentRule(sequence="recycle-timing", recycle_reasons=("timming",))

    def test_lost_is_a_reason(self) -> None:
        assert EnrolmentRule(sequence="x", recycle_reasons=("lost", "timing")).recycle_reasons


def returned_lead(action: str = "return_to_nurture", **fields: object) -> LeadState:
    """The filed case: a lead at 44 points (MQL at 20) handed off by a demo request,
    accepted, then returned ("timing" unless told) or lost: recycled at 34 points."""
    state = journey.apply_submission(start_state("L3", MODEL), submission(), MODEL, T0)
    engagement = [("product", 10), ("blog", 10)]
    kinds = [("page_viewed", {"section": s}) for s, times in engagement for _ in range(times)]
    for kind, props in [*kinds, ("webinar_registered", {}), ("webinar_registered", {})]:
        state = apply_event(state, event(kind, **props), MODEL, T0)
    assert (state.stage, state.score.total) == (Stage.MQL, 44)
    state = handoff.hand_raise(state, "demo_requested", T0)
    state = handoff.begin_handoff(state, handoff.needs_handoff(state) or "", T0)
    state = act(state, "accept")
    if action == "lost":
        return act(act(state, "convert"), "lost")
    return act(state, "return_to_nurture", **{"reason": "timing", **fields})


def later(state: LeadState, kind: str, days: int = 1, **props: object) -> LeadState:
    at = T0 + timedelta(days=days)
    return apply_event(state, event(kind, at=at, **props), MODEL, at)


class TestRequalification:
    """A lead sales returned stays recycled until it earns new points: its old score is no
    new interest."""

    def test_events_worth_nothing_or_little_leave_it_recycled(self) -> None:
        """34 points, above the MQL threshold: an unknown event, a blog visit already at
        its cap, and 8 new points do not qualify it; the event bringing 10 does."""
        state = returned_lead()
        assert (state.stage, state.score.total) == (Stage.RECYCLED, 34)
        for kind, props in [
            ("no_such_event", {}),
            ("page_viewed", {"section": "blog"}),
            ("webinar_registered", {}),
            ("support_contacted", {}),
        ]:
            state = later(state, kind, **props)
            assert state.stage is Stage.RECYCLED, kind
        assert state.points_since_return == 8
        state = later(state, "webinar_replay_watched")
        assert (state.stage, state.points_since_return) == (Stage.MQL, 12)
        change = state.transitions[-1]
        assert (change.from_value, change.to_value) == ("recycled", "mql")
        assert change.reason == "event webinar_replay_watched: score 46 reached the mql threshold"

    def test_fit_and_silence_are_no_engagement(self) -> None:
        """A richer profile (fit points) and a silence penalty do not count as new points."""
        state = returned_lead()
        richer = submission(persona_lead(company_size=5000), submission_id="s2")
        state = journey.apply_submission(state, richer, MODEL, T0 + timedelta(days=1))
        state = apply_silence(state, MODEL, T0 + timedelta(days=70))
        assert state.stage is Stage.RECYCLED and state.points_since_return == 0

    def test_never_before_the_revisit_date(self) -> None:
        """Returned until 2027-03-01: 10 new points leave it recycled; after the date, the
        next event that earns points qualifies it (one worth nothing does not)."""
        state = returned_lead(revisit_after=date(2027, 3, 1))
        state = later(later(state, "support_contacted"), "support_contacted")
        assert state.stage is Stage.RECYCLED and state.points_since_return == 10
        assert state.revisit_after is not None
        after = (state.revisit_after - T0).days + 1
        assert later(state, "no_such_event", days=after).stage is Stage.RECYCLED
        assert later(state, "demo_accepted", days=after).stage is Stage.MQL

    def test_a_lost_deal_too(self) -> None:
        """Lost: recycled at 44 (no points taken off), the count starts again and the same
        rule holds; 10 new points take it past the SQL threshold, to a new hand-off."""
        state = returned_lead("lost")
        assert (state.stage, state.recycle_reason) == (Stage.RECYCLED, "lost")
        assert later(state, "no_such_event").stage is Stage.RECYCLED
        state = later(state, "support_contacted")
        assert state.stage is Stage.RECYCLED and state.points_since_return == 5
        state = later(state, "support_contacted")
        assert state.stage is Stage.SQL and handoff.needs_handoff(state) is not None

    def test_each_return_starts_the_count_again(self) -> None:
        """Re-qualified, handed off again and returned again: the 10 points are owed anew."""
        state = returned_lead()
        state = later(later(state, "support_contacted"), "support_contacted")
        state = handoff.hand_raise(state, "demo_requested", T0 + timedelta(days=2))
        state = handoff.begin_handoff(state, "demo", T0 + timedelta(days=2))
        state = act(state, "return_to_nurture", reason="need")
        assert later(state, "support_contacted", days=3).stage is Stage.RECYCLED
        assert state.points_since_return == 0

    def test_a_hand_raise_is_new_interest_enough(self) -> None:
        """A demo request needs no points: it makes the recycled lead an SQL at once."""
        state = handoff.hand_raise(returned_lead(), "demo_requested", T0 + timedelta(days=1))
        assert state.stage is Stage.SQL and handoff.needs_handoff(state) is not None
