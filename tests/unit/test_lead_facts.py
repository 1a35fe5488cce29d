"""The lead's facts: what decisions read, and what the view people read is built from."""

from __future__ import annotations

from datetime import timedelta

from nurture.domain.lead import journey
from nurture.domain.lead.engagement import apply_event
from nurture.domain.lead.facts import lead_facts, lead_snapshot
from nurture.domain.lead.state import LeadState, start_state
from nurture.domain.lead.view import lead_view
from nurture.domain.lifecycle import Stage
from nurture.domain.scoring import Grade, Heat
from tests.helpers import T0, event, scoring_model, submission

MODEL = scoring_model()


def engaged() -> LeadState:
    """A lead at 20 points (the form's 8, then six product pages): an MQL, grade B."""
    state = journey.apply_submission(start_state("L1", MODEL), submission(), MODEL, T0)
    for _ in range(6):
        state = apply_event(state, event("page_viewed", section="product"), MODEL, T0)
    return state


class TestFacts:
    """Grade and temperature come from the score and the silence, by the scoring model."""

    def test_an_engaged_lead(self) -> None:
        """20 points, active today: grade B (20+), warm (10+, under 35), an MQL."""
        facts = lead_facts(engaged(), MODEL, T0)
        assert (facts.score, facts.grade, facts.temperature) == (20, Grade.B, Heat.WARM)
        assert facts.stage is Stage.MQL and facts.forms == ("white-paper",)
        assert facts.source == "inbound" and facts.last_activity_at == T0

    def test_silence_cools_whatever_the_score(self) -> None:
        """Thirty silent days: cold, the grade unchanged."""
        facts = lead_facts(engaged(), MODEL, T0 + timedelta(days=30))
        assert (facts.grade, facts.temperature) == (Grade.B, Heat.COLD)


class TestBuiltFromFacts:
    """The view and the sequence's snapshot say what the facts say."""

    def test_the_view_agrees(self) -> None:
        """Stage, score, grade, temperature, buying stage and source are the facts'."""
        state = engaged()
        facts, view = lead_facts(state, MODEL, T0), lead_view(state, MODEL, T0)
        assert (view.stage, view.score, view.grade, view.temperature) == (
            facts.stage,
            facts.score,
            facts.grade,
            facts.temperature,
        )
        assert (view.buying_stage, view.source) == (facts.buying_stage, facts.source)

    def test_the_snapshot_agrees(self) -> None:
        """A sequence branches on the same stage, score, grade and buying stage."""
        state = engaged()
        facts = lead_facts(state, MODEL, T0)
        snapshot = lead_snapshot(state, facts)
        assert (snapshot.stage, snapshot.score, snapshot.grade) == ("mql", 20, "B")
        assert snapshot.buying_stage == facts.buying_stage and snapshot.source == facts.source
