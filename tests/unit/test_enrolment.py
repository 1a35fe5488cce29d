"""Enrolment rules: priority, no duplicates, re-entry, and stopping on a stage change."""

from __future__ import annotations

from datetime import timedelta

from nurture.enrolment import Enrolment, EnrolmentRule, LeadFacts, choose_enrolment, must_stop
from nurture.lifecycle import Condition, Stage
from tests.helpers import T0

DISCOVERY = EnrolmentRule(sequence="discovery", priority=10, buying_stages=("discovery",))
EVALUATION = EnrolmentRule(sequence="evaluation", priority=20, buying_stages=("evaluation",))
REENGAGE = EnrolmentRule(sequence="reengage", priority=5, reenter_after=timedelta(days=90))
RULES = (DISCOVERY, EVALUATION, REENGAGE)


def facts(**changes: object) -> LeadFacts:
    return LeadFacts.model_validate({"stage": "mql", "buying_stage": "discovery", **changes})


def enrolment(rule: EnrolmentRule, ended_days_ago: int | None = None) -> Enrolment:
    ended = T0 - timedelta(days=ended_days_ago) if ended_days_ago is not None else None
    return Enrolment(
        sequence=rule.sequence,
        version=1,
        number=1,
        priority=rule.priority,
        workflow_id=f"w-{rule.sequence}",
        started_at=T0 - timedelta(days=100),
        ended_at=ended,
        result="completed" if ended else None,
    )


class TestChoose:
    """The highest-priority matching rule, never a duplicate, never a downgrade."""

    def test_priority_wins(self) -> None:
        """Discovery (10) beats re-engagement (5) for a discovery-stage lead."""
        assert choose_enrolment(RULES, facts(), (), None, T0) is DISCOVERY

    def test_higher_priority_replaces_active(self) -> None:
        """Reaching evaluation replaces a running discovery sequence."""
        active = enrolment(DISCOVERY)
        chosen = choose_enrolment(RULES, facts(buying_stage="evaluation"), (active,), active, T0)
        assert chosen is EVALUATION

    def test_no_duplicate_or_downgrade(self) -> None:
        """The running sequence is not entered again, nor replaced by a lower priority."""
        active = enrolment(EVALUATION)
        assert (
            choose_enrolment(RULES, facts(buying_stage="evaluation"), (active,), active, T0) is None
        )
        assert choose_enrolment(RULES, facts(), (active,), active, T0) is None

    def test_no_reentry_without_rule(self) -> None:
        """Discovery, finished, is never entered again; re-engagement takes over."""
        done = enrolment(DISCOVERY, ended_days_ago=1)
        assert choose_enrolment(RULES, facts(), (done,), None, T0) is REENGAGE

    def test_reentry_after_delay(self) -> None:
        """Re-engagement comes back only 90 days after it ended."""
        done = enrolment(REENGAGE, ended_days_ago=30)
        only = (REENGAGE,)
        assert choose_enrolment(only, facts(), (done,), None, T0) is None
        done = enrolment(REENGAGE, ended_days_ago=90)
        assert choose_enrolment(only, facts(), (done,), None, T0) is REENGAGE

    def test_sales_owned_lead_enters_nothing(self) -> None:
        """An SQL or an unsubscribed lead gets no marketing sequence."""
        assert choose_enrolment(RULES, facts(stage="sql"), (), None, T0) is None
        unsub = facts(conditions=(Condition.UNSUBSCRIBED,))
        assert choose_enrolment(RULES, unsub, (), None, T0) is None


class TestMustStop:
    """Leaving marketing stops the running sequence, saying why."""

    def test_reasons(self) -> None:
        """Hand-off to sales, disqualification, bounce."""
        assert must_stop(facts()) is None
        assert "stage 'sql'" in (must_stop(facts(stage=Stage.SQL)) or "")
        assert "stage 'disqualified'" in (must_stop(facts(stage="disqualified")) or "")
        assert "bounced" in (must_stop(facts(conditions=(Condition.BOUNCED,))) or "")
