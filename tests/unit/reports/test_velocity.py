"""Velocity times each move from the last time a lead reached a step before it first
reached the next, the sales cycle from the SQL moment that won, and acceptance per
hand-off; answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nurture.domain.factlog import Fact
from nurture.domain.reports import ReportQuery
from nurture.domain.reports.velocity import velocity
from tests.unit.reports.factbook import NOVEMBER, at, fact, ordered


def stage(lead: str, moment: tuple[float, float], to: str) -> Fact:
    return fact(lead, "stage_changed", at(*moment), to_stage=to)


def act(lead: str, moment: tuple[float, float], action: str, handoff: int = 1) -> Fact:
    return fact(lead, "sales_action", at(*moment), handoff=handoff, action=action, actor="r")


# Moments as (day, hour) after Monday 2 November 09:00; range: November.
#   a  created (0,0), mql (1,0), sql (2,3), hand-off 1 (2,3), accepted (2,5),
#      opportunity (4,5), won (10,5)
#   b  created (1,0), sql (1,12) (hand-raise: no mql), hand-off 1 (1,12), escalated (1,14),
#      accepted (1,20), opportunity (3,20), lost (5,0)
#   c  created (3,0), mql (5,0)
#   d  created 20 October (-13), mql 25 October (-8), sql (1,0), hand-off 1 (1,0), nothing since
#   e  created (0,0), mql (1,0), sql (2,0), hand-off 1 (2,0), returned (3,0), mql (4,0),
#      sql (6,0), hand-off 2 (6,0), accepted (6,1), opportunity (7,0), customer (9,0)
LOG = ordered(
    [
        fact("a", "lead_created", at(0)),
        stage("a", (1, 0), "mql"),
        stage("a", (2, 3), "sql"),
        fact("a", "handed_off", at(2, 3), handoff=1, trigger="score"),
        act("a", (2, 5), "accepted"),
        stage("a", (4, 5), "opportunity"),
        act("a", (10, 5), "won"),
        stage("a", (10, 5), "customer"),
        fact("b", "lead_created", at(1)),
        stage("b", (1, 12), "sql"),
        fact("b", "handed_off", at(1, 12), handoff=1, trigger="hand-raise: demo_requested"),
        fact("b", "sla_escalated", at(1, 14), handoff=1, rep="bob"),
        act("b", (1, 20), "accepted"),
        stage("b", (3, 20), "opportunity"),
        act("b", (5, 0), "lost"),
        stage("b", (5, 0), "recycled"),
        fact("c", "lead_created", at(3)),
        stage("c", (5, 0), "mql"),
        fact("d", "lead_created", at(-13)),
        stage("d", (-8, 0), "mql"),
        stage("d", (1, 0), "sql"),
        fact("d", "handed_off", at(1), handoff=1, trigger="score"),
        fact("e", "lead_created", at(0)),
        stage("e", (1, 0), "mql"),
        stage("e", (2, 0), "sql"),
        fact("e", "handed_off", at(2), handoff=1, trigger="score"),
        act("e", (3, 0), "returned"),
        stage("e", (3, 0), "recycled"),
        stage("e", (4, 0), "mql"),
        stage("e", (6, 0), "sql"),
        fact("e", "handed_off", at(6), handoff=2, trigger="score"),
        act("e", (6, 1), "accepted", handoff=2),
        stage("e", (7, 0), "opportunity"),
        stage("e", (9, 0), "customer"),
    ]
)
QUERY = NOVEMBER.model_copy(update={"accept_within": timedelta(hours=1)})


class TestMoves:
    """A move counts the leads that first reached its step in the range, each timed on the
    trip that took it to the next step."""

    def test_moves(self) -> None:
        """new→mql: entered a,b,c,e (d was created in October); measured a 24, c 48, e 24
        (b skipped mql): sorted 24, 24, 48 → median 24, p75 at rank 1.5 = 24 + 0.5 * 24 = 36.
        mql→sql: entered a,c,e (d's first mql is October's); a 27, e 24 → median 25.5,
        p75 24 + 0.75 * 3 = 26.25.
        sql→accepted: entered a,b,d,e; a 2, b 8, e 1 (its acceptance (6,1) timed from its
        last sql before it, (6,0), the second trip: not from its first sql (2,0)); d never
        accepted → sorted 1, 2, 8: median 2, p75 2 + 0.5 * 6 = 5, as the acceptance table.
        accepted→opportunity: a 48, b 48, e 23 → median 48, p75 48.
        opportunity→customer: entered a,b,e; a 144, e 48 (b lost) → median 96,
        p75 48 + 0.75 * 96 = 120."""
        report = velocity(LOG, QUERY)
        assert [
            (m.from_stage, m.to_stage, m.entered, m.measured, m.median_hours, m.p75_hours)
            for m in report.moves
        ] == [
            ("new", "mql", 4, 3, 24.0, 36.0),
            ("mql", "sql", 3, 2, 25.5, 26.25),
            ("sql", "accepted", 4, 3, 2.0, 5.0),
            ("accepted", "opportunity", 3, 3, 48.0, 48.0),
            ("opportunity", "customer", 3, 2, 96.0, 120.0),
        ]

    def test_a_recycled_lead_is_timed_on_its_last_trip(self) -> None:
        """Created Monday 5 January 09:00, mql +24 h, sql and hand-off 1 +48 h, returned +50 h,
        sql and hand-off 2 90 days after the first (+48 h + 2160 h), accepted an hour later:
        sql→accepted is 1 h (not 2161 h), as the acceptance table times hand-off 2."""
        start = datetime(2026, 1, 5, 9, tzinfo=UTC)

        def h(hours: float) -> datetime:
            return start + timedelta(hours=hours)

        log = [
            fact("t", "lead_created", h(0)),
            fact("t", "stage_changed", h(24), to_stage="mql"),
            fact("t", "stage_changed", h(48), to_stage="sql"),
            fact("t", "handed_off", h(48), handoff=1, trigger="score"),
            fact("t", "sales_action", h(50), handoff=1, action="returned", reason="timing"),
            fact("t", "stage_changed", h(50), to_stage="recycled"),
            fact("t", "stage_changed", h(48 + 2160), to_stage="sql"),
            fact("t", "handed_off", h(48 + 2160), handoff=2, trigger="demo"),
            fact("t", "sales_action", h(49 + 2160), handoff=2, action="accepted"),
        ]
        report = velocity(log, ReportQuery())
        to_accepted = next(m for m in report.moves if m.from_stage == "sql")
        assert (to_accepted.entered, to_accepted.measured) == (1, 1)
        assert to_accepted.median_hours == report.acceptance.median_hours == 1.0

    def test_sales_cycle_runs_from_the_sql_moment_that_won(self) -> None:
        """a: sql (2,3) → won (10,5) = 194 h; e: its last sql before winning (6,0) → customer
        (9,0) = 72 h (its first trip, returned, does not count) → median 133,
        p75 72 + 0.75 * 122 = 163.5."""
        cycle = velocity(LOG, QUERY).sales_cycle
        assert (cycle.from_stage, cycle.to_stage, cycle.entered) == ("sql", "won", None)
        assert (cycle.measured, cycle.median_hours, cycle.p75_hours) == (2, 133.0, 163.5)


class TestAcceptance:
    """Each hand-off of the range is timed to its own acceptance; escalated ones breach."""

    def test_acceptance_against_the_sla(self) -> None:
        """Hand-offs a1, b1, d1, e1, e2 = 5; accepted a1 2 h, b1 8 h, e2 1 h → median 2,
        p75 2 + 0.5 * 6 = 5; b1 was escalated: 1 breach of 5 = 0.2 (though accepted); d1
        has no action: waiting; e1 was returned: decided, not accepted."""
        acceptance = velocity(LOG, QUERY).acceptance
        assert acceptance.model_dump() == {
            "sla_hours": 1.0,
            "handoffs": 5,
            "accepted": 3,
            "median_hours": 2.0,
            "p75_hours": 5.0,
            "breaches": 1,
            "breach_rate": 0.2,
            "waiting": 1,
        }


class TestEdges:
    """An empty log gives zero counts and null timings."""

    def test_empty_log(self) -> None:
        report = velocity([], NOVEMBER)
        assert all(m.entered == m.measured == 0 for m in report.moves)
        assert all(m.median_hours is m.p75_hours is None for m in report.moves)
        assert report.sales_cycle.measured == 0
        assert report.acceptance.sla_hours is None
        assert report.acceptance.breach_rate is None

    def test_tables(self) -> None:
        """Moves and the sales cycle in one table, acceptance in another."""
        moves, acceptance = velocity(LOG, QUERY).tables()
        assert moves.rows[-1] == ("sql", "won", None, 2, 133.0, 163.5)
        assert acceptance.rows == ((1.0, 5, 3, 2.0, 5.0, 1, 0.2, 1),)
