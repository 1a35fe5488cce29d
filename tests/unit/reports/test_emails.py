"""The emails report counts per template and per sequence step what happened to the emails
of the range, machine opens apart, opt-outs against the last email; answers by hand."""

from __future__ import annotations

from nurture.domain.factlog import Fact, FactValue
from nurture.domain.reports.emails import EmailCounts, emails
from tests.unit.reports.factbook import NOVEMBER, at, fact, ordered


def sent(lead: str, day: float, key: str, template: str, **step: FactValue) -> Fact:
    return fact(lead, "email_sent", at(day), key=key, template=template, **step)


def seen(lead: str, day: float, kind: str, key: str, machine: str | None = None) -> Fact:
    return fact(lead, kind, at(day), key=key, template="-", machine=machine)


W1 = {"sequence": "welcome", "version": 1}
W2 = {"sequence": "welcome", "version": 2}

# Range: November. Days after Monday 2 November.
#   a  k1 thanks (no sequence) day 0: opened by Apple MPP, then by the person → 1 open
#      k2 welcome-1 (welcome v2 step 1) day 2: opened by a scanner and by MPP only → 1
#      machine open; clicked twice by the person → 1 click; unsubscribed day 4 → k2
#      enrolled in welcome v2 (enrolment 1) day 2, reached the goal day 5
#   b  k3 welcome-1 (v2 step 1) day 1; k4 welcome-2 (v2 step 2) bounced day 3 (no sent
#      fact); complained day 5 → k3 (the last email SENT before it)
#      enrolled in welcome v2 day 1, exited day 6
#   c  k5 welcome-1 (v1 step 1) on 31 October: out of the range, so neither its November
#      open nor the unsubscribe of 3 November (k5 is the last email before it) count
#      k6 welcome-2 (v1 step 2) day 2 (4 November), clicked by a scanner → 1 machine click
#      welcome v1 enrolment 1 entered in October (out), stopped day 0; enrolment 2 entered
#      day 2, finished day 18
#   d  unsubscribed day 1 with no email before: not counted; enrolled in welcome v2 day 1
LOG = ordered(
    [
        sent("a", 0, "k1", "thanks"),
        seen("a", 0.1, "email_opened", "k1", "apple_mpp"),
        seen("a", 1, "email_opened", "k1"),
        fact("a", "sequence_entered", at(2), enrolment=1, **W2),
        sent("a", 2, "k2", "welcome-1", step=1, **W2),
        seen("a", 2.01, "email_opened", "k2", "scanner"),
        seen("a", 2.1, "email_opened", "k2", "apple_mpp"),
        fact("a", "email_clicked", at(3), key="k2", template="welcome-1", url="u", machine=None),
        fact("a", "email_clicked", at(3.5), key="k2", template="welcome-1", url="u"),
        fact("a", "unsubscribed", at(4), via="link"),
        fact("a", "sequence_ended", at(5), enrolment=1, result="goal", **W2),
        fact("b", "sequence_entered", at(1), enrolment=1, **W2),
        sent("b", 1, "k3", "welcome-1", step=1, **W2),
        fact("b", "email_bounced", at(3), key="k4", template="welcome-2", step=2, **W2),
        fact("b", "complained", at(5), via="feedback loop"),
        fact("b", "sequence_ended", at(6), enrolment=1, result="exited", **W2),
        fact("c", "sequence_entered", at(-3), enrolment=1, **W1),
        sent("c", -2, "k5", "welcome-1", step=1, **W1),
        fact("c", "sequence_ended", at(0), enrolment=1, result="stopped", **W1),
        seen("c", 1, "email_opened", "k5"),
        fact("c", "unsubscribed", at(1.5), via="link"),
        fact("c", "sequence_entered", at(2), enrolment=2, **W1),
        sent("c", 2, "k6", "welcome-2", step=2, **W1),
        fact(
            "c",
            "email_clicked",
            at(2.2),
            key="k6",
            template="welcome-2",
            url="u",
            machine="scanner",
        ),
        fact("c", "sequence_ended", at(18), enrolment=2, result="finished", **W1),
        fact("d", "unsubscribed", at(1), via="link"),
        fact("d", "sequence_entered", at(1), enrolment=1, **W2),
    ]
)
COUNTS = ("sent", "bounced", "opens", "machine_opens", "clicks", "machine_clicks")


def counts(row: EmailCounts) -> tuple[int | float | None, ...]:
    return tuple(getattr(row, name) for name in (*COUNTS, "unsubscribes", "complaints"))


class TestTemplates:
    """Per template: sent and bounced in the range, and what their readers did."""

    def test_rows(self) -> None:
        """thanks: k1 sent, opened by a person → opens 1, rate 1/1.
        welcome-1: k2, k3 sent (k5 is October's); k2 machine-opened only → machine 1,
        opens 0; k2 clicked → clicks 1, rate 1/2; a unsubscribed after k2, b complained
        after k3. welcome-2: k6 sent; k4 bounced; k6 clicked by a scanner only."""
        report = emails(LOG, NOVEMBER)
        rows = {t.template: t for t in report.templates}
        assert list(rows) == ["thanks", "welcome-1", "welcome-2"]
        assert counts(rows["thanks"]) == (1, 0, 1, 0, 0, 0, 0, 0)
        assert counts(rows["welcome-1"]) == (2, 0, 0, 1, 1, 0, 1, 1)
        assert counts(rows["welcome-2"]) == (1, 1, 0, 0, 0, 1, 0, 0)
        assert (rows["thanks"].open_rate, rows["thanks"].click_rate) == (1.0, 0.0)
        assert (rows["welcome-1"].open_rate, rows["welcome-1"].click_rate) == (0.0, 0.5)


class TestSteps:
    """Per sequence, version and step, numbers in order; emails outside sequences apart."""

    def test_rows(self) -> None:
        """(welcome, 1, 2): k6; (welcome, 2, 1): k2, k3 with their open, click, opt-outs;
        (welcome, 2, 2): the bounce of k4. No row for k5 (October) nor k1 (no sequence)."""
        report = emails(LOG, NOVEMBER)
        assert [(s.sequence, s.version, s.step, counts(s)) for s in report.steps] == [
            ("welcome", 1, 2, (1, 0, 0, 0, 0, 1, 0, 0)),
            ("welcome", 2, 1, (2, 0, 0, 1, 1, 0, 1, 1)),
            ("welcome", 2, 2, (0, 1, 0, 0, 0, 0, 0, 0)),
        ]


class TestSequences:
    """Enrolments of the range by how they ended, the goal rate over those entered."""

    def test_rows(self) -> None:
        """welcome v1: c's enrolment 2 (finished); enrolment 1 entered in October is out.
        welcome v2: a (goal), b (exited), d (still running) → goal rate 1/3."""
        report = emails(LOG, NOVEMBER)
        assert [s.model_dump() for s in report.sequences] == [
            {
                "sequence": "welcome",
                "version": 1,
                "entered": 1,
                "goal": 0,
                "exited": 0,
                "stopped": 0,
                "finished": 1,
                "goal_rate": 0.0,
            },
            {
                "sequence": "welcome",
                "version": 2,
                "entered": 3,
                "goal": 1,
                "exited": 1,
                "stopped": 0,
                "finished": 0,
                "goal_rate": 0.3333,
            },
        ]


class TestEdges:
    """An empty log gives empty tables, and a template with nothing sent no rate."""

    def test_empty_log(self) -> None:
        report = emails([], NOVEMBER)
        assert (report.templates, report.steps, report.sequences) == ((), (), ())
        assert [len(t.rows) for t in report.tables()] == [0, 0, 0]

    def test_only_a_bounce(self) -> None:
        """A bounce with nothing sent: bounced 1, sent 0, so no rate (not 0/0)."""
        log = [fact("z", "email_bounced", at(1), key="k", template="t")]
        (row,) = emails(log, NOVEMBER).templates
        assert (row.sent, row.bounced, row.open_rate, row.click_rate) == (0, 1, None, None)
