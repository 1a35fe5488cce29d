"""The funnel counts the leads created in the range at every step they reached (reached),
and the leads that first reached each step in the range whenever created (entered), against
a log whose answers are worked out by hand below."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from nurture.domain.factlog import Fact
from nurture.domain.reports import ReportQuery
from nurture.domain.reports.funnel import StageCount, funnel
from tests.unit.reports.factbook import NOVEMBER, at, fact, ordered

OCTOBER = ReportQuery(since=date(2026, 10, 1), until=date(2026, 11, 1))


def stage(lead: str, days: float, to: str, before: str = "new") -> Fact:
    return fact(lead, "stage_changed", at(days), from_stage=before, to_stage=to, score=0)


# Range: November 2026. Leads, and the furthest step each reached:
#   a  inbound, demo, spring   new → mql → sql → accepted → opportunity → customer  (customer)
#   b  inbound, demo           new → sql (hand-raise, skips mql) → recycled         (sql)
#   c  organic, newsletter     new → mql                                            (mql)
#   d  organic, no form, no cohort field                                            (new)
#   h  inbound, demo           new → mql → sql → accepted → disqualified            (accepted)
#   e  created 30 October: out of the range, though it became an MQL in November
#   f  created 1 December: out (until is excluded)
#   g  no lead_created fact (erased, or older than the log): not counted
#   "" the erasure marker: no lead
LOG = ordered(
    [
        fact(
            "a",
            "lead_created",
            at(0),
            source="inbound",
            form="demo",
            utm_campaign="spring",
            cohort="2026-11",
        ),
        stage("a", 1, "mql"),
        stage("a", 2, "sql", "mql"),
        fact("a", "sales_action", at(2, 1), handoff=1, action="accepted", actor="bob"),
        stage("a", 3, "opportunity", "sql"),
        fact("a", "sales_action", at(10), handoff=1, action="won", actor="bob"),
        stage("a", 10, "customer", "opportunity"),
        fact("b", "lead_created", at(3), source="inbound", form="demo", cohort="2026-11"),
        stage("b", 4, "sql"),
        fact(
            "b", "sales_action", at(5), handoff=1, action="returned", actor="bob", reason="timing"
        ),
        stage("b", 5, "recycled", "sql"),
        fact("c", "lead_created", at(4), source="organic", form="newsletter", cohort="2026-11"),
        stage("c", 6, "mql"),
        fact("d", "lead_created", at(5), source="organic"),
        fact("h", "lead_created", at(7), source="inbound", form="demo", cohort="2026-11"),
        stage("h", 7, "mql"),
        stage("h", 8, "sql", "mql"),
        fact("h", "sales_action", at(8, 2), handoff=1, action="accepted", actor="alice"),
        fact(
            "h",
            "sales_action",
            at(9),
            handoff=1,
            action="disqualified",
            actor="alice",
            reason="no budget",
        ),
        stage("h", 9, "disqualified", "sql"),
        fact("e", "lead_created", at(-3), source="referral", cohort="2026-10"),
        stage("e", 1, "mql"),
        fact("f", "lead_created", at(29), source="inbound", cohort="2026-12"),
        stage("g", 7, "mql"),
        fact("", "erased", at(12)),
    ]
)


def reached(stages: tuple[StageCount, ...]) -> list[tuple[str, int, float | None, float | None]]:
    return [(s.stage, s.reached, s.rate, s.of_new) for s in stages]


class TestWholeFunnel:
    """Every step counts the leads that reached it or a step after it."""

    def test_counts_and_rates(self) -> None:
        """new a,b,c,d,h = 5; mql a,b,c,h = 4 (b skipped it); sql a,b,h = 3; accepted a,h = 2;
        opportunity a = 1; customer a = 1. Step rates: 4/5 = 0.8, 3/4 = 0.75,
        2/3 = 0.6667, 1/2 = 0.5, 1/1 = 1.0; of new: 5/5, 4/5, 3/5, 2/5, 1/5, 1/5."""
        report = funnel(LOG, NOVEMBER)
        assert reached(report.stages) == [
            ("new", 5, None, 1.0),
            ("mql", 4, 0.8, 0.8),
            ("sql", 3, 0.75, 0.6),
            ("accepted", 2, 0.6667, 0.4),
            ("opportunity", 1, 0.5, 0.2),
            ("customer", 1, 1.0, 0.2),
        ]
        assert report.groups == ()

    def test_json_shape_scripts_rely_on(self) -> None:
        """``{"stages": [{"stage": "new", "reached": N, "rate": null}, ...]}``."""
        data = funnel(LOG, NOVEMBER).model_dump(mode="json")
        assert data["stages"][0] == {
            "stage": "new",
            "reached": 5,
            "rate": None,
            "of_new": 1.0,
            "entered": 5,
        }
        assert data["stages"][1]["rate"] == 0.8
        assert (data["report"], data["since"], data["until"]) == (
            "funnel",
            "2026-11-01",
            "2026-12-01",
        )

    def test_the_range_moves_the_cohort(self) -> None:
        """From 5 November (day 3): b, c, d, h are in; a (2 Nov) is out; with no end, f
        (1 December) is in: new 5 (b,c,d,h,f), mql 3 (b,c,h), sql 2 (b,h), accepted 1 (h)."""
        report = funnel(LOG, ReportQuery(since=date(2026, 11, 5)))
        assert [s.reached for s in report.stages] == [5, 3, 2, 1, 0, 0]


class TestGroups:
    """Grouped, each value of the lead's creation fact gets its own funnel."""

    def test_by_source(self) -> None:
        """inbound a,b,h: new 3, mql 3, sql 3, accepted 2 (a,h), opportunity 1, customer 1;
        organic c,d: new 2, mql 1, then 0: the rate after an empty step is null, not 0/0.
        referral: e, created in October, reached nothing of November's cohort but entered
        mql in November."""
        report = funnel(LOG, NOVEMBER.model_copy(update={"by": "source"}))
        inbound, organic, referral = report.groups
        assert inbound.group == "inbound"
        assert reached(inbound.stages) == [
            ("new", 3, None, 1.0),
            ("mql", 3, 1.0, 1.0),
            ("sql", 3, 1.0, 1.0),
            ("accepted", 2, 0.6667, 0.6667),
            ("opportunity", 1, 0.5, 0.3333),
            ("customer", 1, 1.0, 0.3333),
        ]
        assert organic.group == "organic"
        assert [(s.reached, s.rate) for s in organic.stages] == [
            (2, None),
            (1, 0.5),
            (0, 0.0),
            (0, None),
            (0, None),
            (0, None),
        ]
        assert [s.reached for s in report.stages] == [5, 4, 3, 2, 1, 1]
        assert [s.entered for s in inbound.stages] == [3, 3, 3, 2, 1, 1]
        assert [s.entered for s in organic.stages] == [2, 1, 0, 0, 0, 0]
        assert referral.group == "referral"
        assert [(s.reached, s.entered) for s in referral.stages][:3] == [(0, 0), (0, 1), (0, 0)]

    def test_a_missing_value_is_its_own_group_last(self) -> None:
        """By form: demo a,b,h (3), newsletter c (1), then d without a form (1)."""
        report = funnel(LOG, NOVEMBER.model_copy(update={"by": "form"}))
        assert [(g.group, g.stages[0].reached) for g in report.groups] == [
            ("demo", 3),
            ("newsletter", 1),
            (None, 1),
        ]

    def test_cohort_falls_back_to_the_creation_month(self) -> None:
        """d has no cohort field: created 7 November, it is in 2026-11 with the others;
        e, October's, is there for the mql it entered in November."""
        report = funnel(LOG, NOVEMBER.model_copy(update={"by": "cohort"}))
        assert [(g.group, g.stages[0].reached) for g in report.groups] == [
            ("2026-10", 0),
            ("2026-11", 5),
        ]

    def test_by_utm_campaign(self) -> None:
        """Only a came from the spring campaign; the four others have none."""
        report = funnel(LOG, NOVEMBER.model_copy(update={"by": "utm_campaign"}))
        assert [(g.group, g.stages[0].reached) for g in report.groups] == [
            ("spring", 1),
            (None, 4),
        ]


class TestEdges:
    """No fact, or nothing in the range, gives zeros and nulls, never a division by zero."""

    def test_empty_log(self) -> None:
        report = funnel([], NOVEMBER.model_copy(update={"by": "source"}))
        assert reached(report.stages) == [
            (name, 0, None, None)
            for name in ("new", "mql", "sql", "accepted", "opportunity", "customer")
        ]
        assert report.groups == ()

    def test_an_action_alone_counts_its_step(self) -> None:
        """A won deal whose stage change is missing still makes a customer, and every step
        before it is reached."""
        log = [
            fact("z", "lead_created", at(0), source="inbound"),
            fact("z", "sales_action", at(1), handoff=1, action="won", actor="bob"),
        ]
        assert [s.reached for s in funnel(log, NOVEMBER).stages] == [1] * 6


class TestTable:
    """The table a person reads carries the same figures, the whole funnel first."""

    def test_grouped_table(self) -> None:
        (table,) = funnel(LOG, NOVEMBER.model_copy(update={"by": "source"})).tables()
        assert [c.key for c in table.columns] == [
            "group",
            "stage",
            "reached",
            "rate",
            "of_new",
            "entered",
        ]
        assert table.columns[-1].label == "Entered in period"
        assert table.rows[0] == ("(all)", "new", 5, None, 1.0, 5)
        assert table.rows[6] == ("inbound", "new", 3, None, 1.0, 3)
        assert len(table.rows) == 24  # (all), inbound, organic, referral

    def test_the_two_meanings_are_stated(self) -> None:
        (table,) = funnel(LOG, NOVEMBER).tables()
        assert "leads created in the range" in table.title
        assert "first reached the step in the range, whenever created" in table.note


class TestEntered:
    """Entered in period: the leads whose first arrival at a step falls in the range,
    whenever they were created; a skipped step is entered with the step jumped to."""

    def test_whole_log(self) -> None:
        """new: a,b,c,d,h created in November = 5; mql: a,c,h, b (with its sql: it skipped
        mql) and e (created in October) = 5; sql: a,b,h = 3; accepted a,h = 2; opportunity
        and customer a = 1. f (December) and g (no creation fact) enter nothing."""
        assert [s.entered for s in funnel(LOG, NOVEMBER).stages] == [5, 5, 3, 2, 1, 1]

    def test_created_before_the_range(self) -> None:
        """Created 20 October, MQL, SQL and accepted in November: November's cohort does not
        hold it (reached 0 everywhere), but it entered mql, sql and accepted in November."""
        log = [
            fact("z", "lead_created", datetime(2026, 10, 20, 10, tzinfo=UTC), source="inbound"),
            stage("z", 1, "mql"),
            stage("z", 8, "sql", "mql"),
            fact("z", "sales_action", at(10), handoff=1, action="accepted", actor="bob"),
        ]
        report = funnel(log, NOVEMBER)
        assert [s.reached for s in report.stages] == [0] * 6
        assert [s.entered for s in report.stages] == [0, 1, 1, 1, 0, 0]
        assert [s.entered for s in funnel(log, OCTOBER).stages] == [1, 0, 0, 0, 0, 0]

    def test_skipped_and_earlier_steps(self) -> None:
        """y became an MQL in October and an SQL in November: it entered sql only. x jumped
        from new to sql in November: it entered mql and sql then."""
        october = datetime(2026, 10, 5, 10, tzinfo=UTC)
        log = ordered(
            [
                fact("x", "lead_created", october, source="inbound"),
                stage("x", 3, "sql"),
                fact("y", "lead_created", october, source="inbound"),
                fact("y", "stage_changed", october + timedelta(days=1), to_stage="mql"),
                stage("y", 3, "sql", "mql"),
            ]
        )
        assert [s.entered for s in funnel(log, NOVEMBER).stages] == [0, 1, 2, 0, 0, 0]

    def test_coming_back_is_no_new_arrival(self) -> None:
        """An MQL of October, recycled, an MQL again in November: no mql entered in
        November."""
        october = datetime(2026, 10, 5, 10, tzinfo=UTC)
        log = [
            fact("w", "lead_created", october, source="inbound"),
            fact("w", "stage_changed", october + timedelta(days=1), to_stage="mql"),
            fact("w", "stage_changed", october + timedelta(days=2), to_stage="recycled"),
            stage("w", 4, "mql", "recycled"),
        ]
        assert [s.entered for s in funnel(log, NOVEMBER).stages] == [0] * 6
