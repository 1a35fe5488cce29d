"""The experiments report compares each variant's goal conversion with the control's, and
says "not enough data yet" under its minimum sample; answers worked out by hand."""

from __future__ import annotations

from nurture.domain.factlog import Fact
from nurture.domain.reports.experiments import MIN_CONVERSIONS, MIN_LEADS, experiments
from tests.unit.reports.factbook import NOVEMBER, at, fact, ordered


def arm(experiment: str, variant: str | None, leads: int, goals: int) -> list[Fact]:
    """``leads`` leads assigned to ``variant`` of ``experiment`` in its sequence's first
    enrolment, the first ``goals`` of them reaching the goal of that enrolment."""
    facts = []
    for number in range(leads):
        lead = f"{experiment}-{variant}-{number}"
        where = {"sequence": experiment, "version": 1, "enrolment": 1}
        facts.append(
            fact(lead, "variant_assigned", at(1), experiment=experiment, variant=variant, **where)
        )
        if number < goals:
            facts.append(fact(lead, "sequence_ended", at(5), result="goal", **where))
    return facts


# "subject": holdout 4/40, variant a 4/40, variant b 14/40 → the control is the holdout.
# "cta": long 2/10, short 5/12, no holdout → the control is "long" (sorts first).
LOG = ordered(
    arm("subject", None, 40, 4)
    + arm("subject", "a", 40, 4)
    + arm("subject", "b", 40, 14)
    + arm("cta", "short", 12, 5)
    + arm("cta", "long", 10, 2)
)


class TestComparisons:
    """Each variant against the control, with its interval, difference and p-value."""

    def test_holdout_is_the_control(self) -> None:
        """holdout 4/40 = 0.1, Wilson: z²/n = 3.8415/40 = 0.09604, centre
        (0.1 + 0.04802) / 1.09604 = 0.13505, half 1.78823 * √(0.00225 + 0.00060) = 0.09547
        → 0.0396-0.2305. a: the same 4/40: difference 0, p 1.0, 40 leads and 8 goals ≥ the
        minimum → no significant difference. b 14/40 = 0.35: centre 0.36314, half 0.14180
        → 0.2213-0.5049; difference 0.25, p 0.0074 (see test_stats) → significant."""
        subject = next(
            e for e in experiments(LOG, NOVEMBER).experiments if e.experiment == "subject"
        )
        assert subject.control is None
        rows = [
            (
                *(v.variant, v.leads, v.conversions, v.rate, v.ci_low, v.ci_high, v.difference),
                *(None if v.p_value is None else round(v.p_value, 4), v.verdict),
            )
            for v in subject.variants
        ]
        assert rows == [
            (None, 40, 4, 0.1, 0.0396, 0.2305, None, None, "control"),
            ("a", 40, 4, 0.1, 0.0396, 0.2305, 0.0, 1.0, "no significant difference"),
            ("b", 40, 14, 0.35, 0.2213, 0.5049, 0.25, 0.0074, "significant"),
        ]
        # a expects 4 goals per arm at the pooled 0.1: too few for the z-test.
        assert [v.test for v in subject.variants] == [None, "fisher-exact", "z-test"]

    def test_small_samples_are_not_judged(self) -> None:
        """short has 12 leads (< 30): "not enough data yet", though its difference is shown:
        5/12 = 0.4167 against long's 2/10 = 0.2 → 0.2167."""
        cta = next(e for e in experiments(LOG, NOVEMBER).experiments if e.experiment == "cta")
        assert cta.control == "long"
        long, short = cta.variants
        assert (long.variant, long.verdict) == ("long", "control")
        assert (short.variant, short.rate, short.difference) == ("short", 0.4167, 0.2167)
        assert short.verdict == "not enough data yet"

    def test_the_minimum_is_stated(self) -> None:
        report = experiments(LOG, NOVEMBER)
        assert (report.min_leads, report.min_conversions, report.confidence) == (30, 5, 0.95)
        assert (MIN_LEADS, MIN_CONVERSIONS) == (30, 5)
        assert "30 leads per arm" in report.tables()[0].title

    def test_rare_goals_use_fisher(self) -> None:
        """0/30 against 5/30: enough leads and goals to judge, but 2.5 goals expected per
        arm: Fisher's exact test, p 0.0522 (see test_stats), not significant. (The z-test
        would say p 0.0196, significant.)"""
        log = ordered(arm("x", "a", 30, 0) + arm("x", "b", 30, 5))
        (x,) = experiments(log, NOVEMBER).experiments
        b = x.variants[1]
        assert (b.variant, b.leads, b.conversions, b.test) == ("b", 30, 5, "fisher-exact")
        assert b.p_value is not None and round(b.p_value, 4) == 0.0522
        assert b.verdict == "no significant difference"
        (table,) = experiments(log, NOVEMBER).tables()
        keys = [c.key for c in table.columns]
        assert dict(zip(keys, table.rows[1], strict=True))["test"] == "fisher-exact"

    def test_too_few_conversions(self) -> None:
        """40 leads in each arm but 1 + 2 = 3 goals (< 5): not judged."""
        log = ordered(arm("x", "a", 40, 1) + arm("x", "b", 40, 2))
        (x,) = experiments(log, NOVEMBER).experiments
        assert x.variants[1].verdict == "not enough data yet"


class TestAttribution:
    """A lead counts once per experiment; only its assigned enrolment's goal converts it."""

    def test_goal_of_another_enrolment_does_not_count(self) -> None:
        where = {"sequence": "s", "version": 1}
        log = [
            fact("l", "variant_assigned", at(1), experiment="x", variant="a", enrolment=1, **where),
            fact("l", "sequence_ended", at(2), result="exited", enrolment=1, **where),
            fact("l", "sequence_ended", at(4), result="goal", enrolment=2, **where),
        ]
        (x,) = experiments(log, NOVEMBER).experiments
        assert (x.variants[0].leads, x.variants[0].conversions) == (1, 0)

    def test_reassigned_lead_counts_once(self) -> None:
        """Entered twice, assigned twice (the same variant): one lead, converted once."""
        where = {"sequence": "s", "version": 1}
        log = [
            fact("l", "variant_assigned", at(1), experiment="x", variant="a", enrolment=1, **where),
            fact("l", "sequence_ended", at(2), result="goal", enrolment=1, **where),
            fact("l", "variant_assigned", at(3), experiment="x", variant="a", enrolment=2, **where),
            fact("l", "sequence_ended", at(4), result="goal", enrolment=2, **where),
        ]
        (x,) = experiments(log, NOVEMBER).experiments
        assert (x.variants[0].leads, x.variants[0].conversions) == (1, 1)

    def test_assignments_outside_the_range(self) -> None:
        """Assigned in October: not in November's report at all."""
        log = [fact("l", "variant_assigned", at(-5), experiment="x", variant="a", sequence="s")]
        assert experiments(log, NOVEMBER).experiments == ()

    def test_empty_log(self) -> None:
        report = experiments([], NOVEMBER)
        assert report.experiments == ()
        assert report.tables()[0].rows == ()
