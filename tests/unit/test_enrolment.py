"""Enrolment rules: priority, no duplicates, re-entry, and stopping on a stage change."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nurture.domain.lead.facts import LeadFacts
from nurture.domain.lead.state import Enrolment
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.sequences.rules import (
    EnrolmentRule,
    choose_enrolment,
    must_stop,
    next_enrolment_check,
    stages_of,
)
from tests.helpers import T0, project

DISCOVERY = EnrolmentRule(sequence="discovery", priority=10, buying_stages=("discovery",))
EVALUATION = EnrolmentRule(sequence="evaluation", priority=20, buying_stages=("evaluation",))
REENGAGE = EnrolmentRule(sequence="reengage", priority=5, reenter_after=timedelta(days=90))
RULES = (DISCOVERY, EVALUATION, REENGAGE)
SILENT = EnrolmentRule(
    sequence="reengagement",
    priority=5,
    inactive_for=timedelta(days=30),
    reenter_after=timedelta(days=90),
)
ONBOARDING = EnrolmentRule(sequence="onboarding", priority=50, stages=(Stage.CUSTOMER,))
UPSELL = EnrolmentRule(sequence="upsell", priority=40, stages=(Stage.CUSTOMER,))


def facts(**changes: object) -> LeadFacts:
    known = {"stage": "mql", "score": 25, "grade": "C", "temperature": "warm"}
    return LeadFacts.model_validate({**known, "buying_stage": "discovery", **changes})


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


class TestInactivity:
    """``inactive_for``: re-engagement once a lead has been quiet long enough."""

    def test_quiet_for_thirty_days(self) -> None:
        """29 days quiet: nothing; 30 days: re-engagement."""
        only = (SILENT,)
        recent = facts(last_activity_at=T0 - timedelta(days=29, hours=23))
        assert choose_enrolment(only, recent, (), None, T0) is None
        quiet = facts(last_activity_at=T0 - timedelta(days=30))
        assert choose_enrolment(only, quiet, (), None, T0) is SILENT

    def test_next_check_is_when_the_lead_turns_quiet(self) -> None:
        """The lead must wake up 30 days after its last activity, even if nothing happens."""
        last = T0 - timedelta(days=3)
        check = next_enrolment_check((SILENT,), facts(last_activity_at=last), (), T0)
        assert check == last + timedelta(days=30)

    def test_next_check_after_a_past_entry(self) -> None:
        """Already quiet and out of re-engagement for 10 days: look again when re-entry opens."""
        done = enrolment(SILENT, ended_days_ago=10)
        quiet = facts(last_activity_at=T0 - timedelta(days=60))
        assert choose_enrolment((SILENT,), quiet, (done,), None, T0) is None
        check = next_enrolment_check((SILENT,), quiet, (done,), T0)
        assert check == T0 + timedelta(days=80)

    def test_no_clock_rule_no_check(self) -> None:
        """Rules that do not wait on the clock never wake the lead."""
        assert next_enrolment_check(RULES[:2], facts(last_activity_at=T0), (), T0) is None


class TestCustomers:
    """Rules limited to the customer stage run after the sale, and only then."""

    def test_onboarding_then_upsell(self) -> None:
        """A new customer is onboarded first; the upsell follows once onboarding is over."""
        rules = (*RULES, ONBOARDING, UPSELL)
        customer = facts(stage=Stage.CUSTOMER)
        assert choose_enrolment(rules, customer, (), None, T0) is ONBOARDING
        running = enrolment(ONBOARDING)
        assert choose_enrolment(rules, customer, (running,), running, T0) is None
        done = enrolment(ONBOARDING, ended_days_ago=0)
        assert choose_enrolment(rules, customer, (done,), None, T0) is UPSELL
        assert choose_enrolment(rules, facts(), (), None, T0) is DISCOVERY

    def test_stages_decide_what_stops(self) -> None:
        """Becoming a customer stops a marketing track but not onboarding."""
        rules = (*RULES, ONBOARDING)
        customer = facts(stage=Stage.CUSTOMER)
        assert must_stop(customer, stages_of(rules, "onboarding")) is None
        assert "stage 'customer'" in (must_stop(customer, stages_of(rules, "evaluation")) or "")
        unsubscribed = facts(stage=Stage.CUSTOMER, conditions=(Condition.UNSUBSCRIBED,))
        assert "unsubscribed" in (must_stop(unsubscribed, stages_of(rules, "onboarding")) or "")

    def test_unknown_sequence_defaults_to_marketing_stages(self) -> None:
        """A sequence no rule names any more runs in the marketing stages only."""
        assert set(stages_of(RULES, "retired")) == {Stage.NEW, Stage.MQL, Stage.RECYCLED}


def test_recycle_rules_follow_the_return_reason() -> None:
    """A lead returned for timing enters recycle-timing, one returned for budget recycle-fit;
    neither rule matches a lead that is not in the recycled stage."""
    timing = EnrolmentRule(
        sequence="recycle-timing",
        priority=60,
        stages=(Stage.RECYCLED,),
        recycle_reasons=("timing", "no_response"),
    )
    fit = EnrolmentRule(
        sequence="recycle-fit",
        priority=60,
        stages=(Stage.RECYCLED,),
        recycle_reasons=("budget", "authority", "need", "other"),
    )
    rules = (*RULES, timing, fit)
    recycled = facts(stage=Stage.RECYCLED, recycle_reason="timing")
    assert choose_enrolment(rules, recycled, (), None, T0) is timing
    budget = facts(stage=Stage.RECYCLED, recycle_reason="budget")
    assert choose_enrolment(rules, budget, (), None, T0) is fit
    back_to_mql = facts(stage=Stage.MQL, recycle_reason="timing")
    assert choose_enrolment(rules, back_to_mql, (), None, T0) is DISCOVERY


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("timing", "recycle-timing"),
        ("no_response", "recycle-timing"),
        ("lost", "recycle-timing"),
        ("budget", "recycle-fit"),
        ("authority", "recycle-fit"),
        ("need", "recycle-fit"),
        ("other", "recycle-fit"),
    ],
)
def test_shipped_rules_give_every_recycle_reason_a_sequence(reason: str, expected: str) -> None:
    """With config/nurture.toml as shipped, no lead back from sales is left without its
    recycle sequence, whatever the reason (a lost deal included)."""
    rules = project().enrolment
    lead = facts(stage=Stage.RECYCLED, recycle_reason=reason)
    chosen = choose_enrolment(rules, lead, (), None, T0)
    assert chosen is not None and chosen.sequence == expected


class TestCustomFields:
    """A rule may ask for custom field values (the BANT answers of a form or an import)."""

    BIG = EnrolmentRule(
        sequence="enterprise",
        priority=25,
        custom={"budget": ("10k-50k", "over 50k"), "timeline": ("this quarter",)},
    )

    def test_every_field_named_must_hold_one_of_its_values(self) -> None:
        rich = {"budget": "over 50k", "timeline": "this quarter"}
        assert choose_enrolment((self.BIG,), facts(custom=rich), (), None, T0) is self.BIG
        later = {**rich, "timeline": "this year"}
        assert choose_enrolment((self.BIG,), facts(custom=later), (), None, T0) is None
        assert (
            choose_enrolment((self.BIG,), facts(custom={"budget": "over 50k"}), (), None, T0)
            is None
        )

    def test_numbers_booleans_and_dates_compare_by_value(self) -> None:
        rule = EnrolmentRule(
            sequence="x", custom={"seats": (50,), "trial": (True,), "renewal": ("2027-01-31",)}
        )
        held = {"seats": 50.0, "trial": True, "renewal": date(2027, 1, 31)}
        assert choose_enrolment((rule,), facts(custom=held), (), None, T0) is rule
        assert choose_enrolment((rule,), facts(custom={**held, "trial": 1}), (), None, T0) is None

    def test_a_rule_without_custom_serialises_as_before(self) -> None:
        """Running leads' configuration snapshots keep their digests."""
        assert "custom" not in DISCOVERY.model_dump()
        assert self.BIG.model_dump()["custom"] == {
            "budget": ("10k-50k", "over 50k"),
            "timeline": ("this quarter",),
        }
