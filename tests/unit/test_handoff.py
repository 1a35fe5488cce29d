"""The hand-off's rules as pure functions: which sales action is allowed in which stage, and
what each one does to the lead (stage, score, hand-off, log, recycle reason)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from nurture import handoff, journey
from nurture.enrolment import EnrolmentRule
from nurture.journey import LeadState
from nurture.lifecycle import Stage
from nurture.sales import Assignment, SalesAction
from tests.helpers import T0, scoring_model, submission

MODEL = scoring_model()


def sql_lead(accepted: bool = False) -> LeadState:
    """A lead made an SQL by a demo request, routed to Ana (and accepted, if asked)."""
    state = journey.apply_submission(journey.start_state("L1", MODEL), submission(), MODEL, T0)
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
        state = journey.apply_submission(journey.start_state("L2", MODEL), submission(), MODEL, T0)
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
