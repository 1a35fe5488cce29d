"""The sales report follows each hand-off of the range to its decision and its deal, per
rep, for the pool and in total; answers worked out by hand."""

from __future__ import annotations

from nurture.domain.factlog import Fact
from nurture.domain.reports.sales import sales
from tests.unit.reports.factbook import NOVEMBER, at, fact, ordered


def handoff(lead: str, day: float, number: int = 1) -> Fact:
    return fact(lead, "handed_off", at(day), handoff=number, trigger="score")


def assign(lead: str, day: float, rep: str, number: int = 1) -> Fact:
    return fact(lead, "assigned", at(day, 1), handoff=number, rep=rep, reason="rotation")


def act(lead: str, day: float, action: str, reason: str | None = None, number: int = 1) -> Fact:
    return fact(
        lead, "sales_action", at(day, 2), handoff=number, action=action, actor="x", reason=reason
    )


# Hand-offs started in November, and what became of them:
#   a1  bob    accepted, converted, won
#   b1  bob    returned (budget)
#   c1  alice, escalated, reassigned to carol: carol accepted, then returned it (timing)
#   d1  pooled, accepted by dan from the pool, converted, lost
#   e1  alice  disqualified ("no budget": a free text)
#   f1  alice  nothing yet: pending
#   g1  bob    returned ("too small": not a listed reason, so "other")
#   h1  started 28 October: out of the range; h2 alice returned (need)
LOG = ordered(
    [
        handoff("a", 0),
        assign("a", 0, "bob"),
        act("a", 1, "accepted"),
        act("a", 3, "converted"),
        act("a", 9, "won"),
        handoff("b", 1),
        assign("b", 1, "bob"),
        act("b", 2, "returned", "budget"),
        handoff("c", 1),
        assign("c", 1, "alice"),
        fact("c", "sla_escalated", at(1, 3), handoff=1, rep="alice"),
        fact("c", "assigned", at(1, 4), handoff=1, rep="carol", reason="reassigned"),
        act("c", 2, "accepted"),
        act("c", 4, "returned", "timing"),
        handoff("d", 2),
        fact("d", "pooled", at(2, 1), handoff=1, reason="nobody matches"),
        act("d", 3, "accepted"),
        act("d", 4, "converted"),
        act("d", 8, "lost"),
        handoff("e", 2),
        assign("e", 2, "alice"),
        act("e", 3, "disqualified", "no budget"),
        handoff("f", 3),
        assign("f", 3, "alice"),
        handoff("g", 3),
        assign("g", 3, "bob"),
        act("g", 4, "returned", "too small"),
        handoff("h", -5),
        assign("h", -5, "bob"),
        act("h", 1, "accepted"),
        handoff("h", 6, 2),
        assign("h", 6, "alice", 2),
        act("h", 7, "returned", "need", 2),
    ]
)
NONE = {"budget": 0, "authority": 0, "need": 0, "timing": 0, "no_response": 0, "other": 0}


class TestPerRep:
    """Each hand-off counts for its last assigned rep, or the pool."""

    def test_rows(self) -> None:
        """alice: e1, f1, h2 = 3: returned 1, disqualified 1, pending 1, acceptance 0/2;
        bob: a1, b1, g1 = 3: accepted 1, returned 2 → 1/3; converted, won 1 → win 1/1;
        carol: c1 accepted (its later return counts in the reasons only);
        pool: d1 accepted, converted, lost → win 0/1."""
        rows = {r.rep: r for r in sales(LOG, NOVEMBER).reps}
        assert list(rows) == ["alice", "bob", "carol", None]
        counts = {
            rep: (
                *(r.handoffs, r.accepted, r.returned, r.disqualified, r.pending),
                *(r.acceptance_rate, r.converted, r.won, r.lost, r.win_rate),
            )
            for rep, r in rows.items()
        }
        assert counts == {
            "alice": (3, 0, 1, 1, 1, 0.0, 0, 0, 0, None),
            "bob": (3, 1, 2, 0, 0, 0.3333, 1, 1, 0, 1.0),
            "carol": (1, 1, 0, 0, 0, 1.0, 0, 0, 0, None),
            None: (1, 1, 0, 0, 0, 1.0, 1, 0, 1, 0.0),
        }
        assert rows["bob"].return_reasons == {**NONE, "budget": 1, "other": 1}
        assert rows["carol"].return_reasons == {**NONE, "timing": 1}
        assert rows["alice"].return_reasons == {**NONE, "need": 1}

    def test_total(self) -> None:
        """8 hand-offs: accepted a,c,d = 3; returned b,g,h2 = 3; disqualified e = 1;
        pending f = 1 → acceptance 3/7 = 0.4286; won 1, lost 1 → win rate 0.5; reasons
        budget, need, timing, other one each (c's return after acceptance included)."""
        total = sales(LOG, NOVEMBER).total
        assert (total.handoffs, total.accepted, total.returned, total.disqualified) == (8, 3, 3, 1)
        assert (total.pending, total.acceptance_rate) == (1, 0.4286)
        assert (total.converted, total.won, total.lost, total.win_rate) == (2, 1, 1, 0.5)
        assert total.return_reasons == {**NONE, "budget": 1, "need": 1, "timing": 1, "other": 1}


class TestEdges:
    """No hand-off gives an empty report whose rates are null."""

    def test_empty_log(self) -> None:
        report = sales([], NOVEMBER)
        assert report.reps == ()
        assert report.total.handoffs == 0
        assert report.total.acceptance_rate is None
        assert report.total.win_rate is None
        assert report.total.return_reasons == NONE

    def test_tables(self) -> None:
        """Decisions and reasons, the pool and the total named for a person."""
        decisions, reasons = sales(LOG, NOVEMBER).tables()
        assert [row[0] for row in decisions.rows] == ["alice", "bob", "carol", "(pool)", "(all)"]
        assert reasons.rows[-1] == ("(all)", 1, 0, 1, 1, 0, 1)
