"""A sequence simulation without a server: which branches a run opens, and how the
branches read (``nurture sequences simulate``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from nurture.cli.simulationview import branch_title, local_moment, simulation_lines
from nurture.domain.sequences.simulation import (
    EVENT,
    HOLDOUT,
    NO_EVENT,
    Branch,
    Choice,
    DecisionPoint,
    Plan,
    SimulatedEmail,
    SimulatedStep,
    Simulation,
    plans_after,
)

PARIS = ZoneInfo("Europe/Paris")
CLICK = DecisionPoint(
    kind="wait_for", label="email_clicked", options=(NO_EVENT, EVENT), within="4d"
)
SUBJECT = DecisionPoint(
    kind="split",
    label="needs-subject",
    options=("benefit", "question", HOLDOUT),
    variants={"question": 1, "benefit": 1},
    holdout=0.1,
)
MONDAY = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
"""09:00 in Paris, the Monday after the spring change (UTC+2 since Sunday)."""


def _email(template: str, at: datetime, *waited: str) -> SimulatedEmail:
    return SimulatedEmail(
        template=template, at=at, kind="marketing", status="sent", waited_for=waited
    )


def _branch(
    number: int, choices: tuple[Choice, ...], *emails: SimulatedEmail, **more: object
) -> Branch:
    fields: dict[str, object] = {"outcome": "completed", "ended_at": MONDAY, **more}
    return Branch.model_validate({"number": number, "choices": choices, "emails": emails, **fields})


class TestPlansAfter:
    """Each point a run reaches past its own choices opens one branch per other option,
    the points before it taking their default."""

    def test_the_first_run_opens_one_branch_per_other_option(self) -> None:
        opened = plans_after(Plan(), [SUBJECT, CLICK])
        assert [[(c.point.label, c.option) for c in p.choices] for p in opened] == [
            [("needs-subject", "question")],
            [("needs-subject", HOLDOUT)],
            [("needs-subject", "benefit"), ("email_clicked", EVENT)],
        ]

    def test_a_branch_opens_only_past_its_own_choices(self) -> None:
        plan = Plan(choices=(Choice(point=SUBJECT, option="question"),))
        opened = plans_after(plan, [SUBJECT, CLICK])
        assert [[c.option for c in p.choices] for p in opened] == [["question", EVENT]]

    def test_a_run_that_reached_nothing_new_opens_nothing(self) -> None:
        plan = Plan(choices=(Choice(point=CLICK, option=EVENT),))
        assert plans_after(plan, [CLICK]) == []

    def test_a_point_with_one_option_opens_nothing(self) -> None:
        """A ``wait_for`` on a predicate: no event can be made up for it."""
        predicate = DecisionPoint(kind="wait_for", label="a matching event", options=(NO_EVENT,))
        assert plans_after(Plan(), [predicate]) == []

    def test_the_goal_carries_over(self) -> None:
        opened = plans_after(Plan(goal="demo_requested"), [CLICK])
        assert [p.goal for p in opened] == ["demo_requested"]


class TestLocalMoment:
    """A moment reads as weekday, date and time on the lead's clock, UTC beside it."""

    def test_across_the_spring_change(self) -> None:
        saturday = datetime(2027, 3, 27, 10, 0, tzinfo=UTC)
        assert (
            local_moment(saturday, PARIS) == "Saturday  2027-03-27 11:00 Europe/Paris (10:00 UTC)"
        )
        assert local_moment(MONDAY, PARIS) == "Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)"

    def test_unpadded_and_in_utc(self) -> None:
        assert local_moment(MONDAY, ZoneInfo("UTC"), pad=False) == "Monday 2027-03-29 07:00 UTC"


class TestBranchTitle:
    """A branch's title says what the lead did at each point, and the goal."""

    def test_event_and_no_event(self) -> None:
        assert branch_title(_branch(1, (Choice(point=CLICK, option=NO_EVENT),))) == (
            "Branch 1: no email_clicked within 4d"
        )
        assert branch_title(_branch(2, (Choice(point=CLICK, option=EVENT),))) == (
            "Branch 2: email_clicked during the 4d wait"
        )

    def test_split_variants_and_goal(self) -> None:
        choices = (Choice(point=SUBJECT, option=HOLDOUT),)
        assert branch_title(_branch(3, choices, goal="demo_requested")) == (
            "Branch 3: needs-subject split: the holdout; demo_requested just after the first email"
        )
        assert branch_title(_branch(4, (Choice(point=SUBJECT, option="question"),))) == (
            "Branch 4: needs-subject split: variant question"
        )

    def test_a_sequence_without_choices(self) -> None:
        assert branch_title(_branch(1, ())) == "Branch 1: one way only"


class TestSimulationLines:
    """The report: header, each branch's timeline in time order, how it ended, and a note
    when branches were cut."""

    def _simulation(self, cut: bool = False) -> Simulation:
        click = MONDAY + timedelta(hours=1)
        no_click = _branch(
            1,
            (Choice(point=CLICK, option=NO_EVENT),),
            _email("buying_guide", MONDAY, "send window"),
            _email("webinar_invite", MONDAY + timedelta(days=4, seconds=1)),
            steps=(
                SimulatedStep(at=MONDAY + timedelta(days=4), what="no email_clicked within 4d"),
            ),
        )
        clicked = _branch(
            2,
            (Choice(point=CLICK, option=EVENT),),
            _email("buying_guide", MONDAY),
            _email("case_study", click + timedelta(seconds=1)),
            steps=(SimulatedStep(at=click, what="email_clicked (buying_guide)"),),
        )
        goal = _branch(
            3,
            (),
            _email("buying_guide", MONDAY),
            goal="demo_requested",
            outcome="goal",
            detail="goal event demo_requested",
            steps=(SimulatedStep(at=MONDAY + timedelta(seconds=1), what="demo_requested"),),
        )
        return Simulation(
            sequence="evaluation",
            version=1,
            zone="Europe/Paris",
            start=datetime(2027, 3, 27, 10, 0, tzinfo=UTC),
            branches=(no_click, clicked, goal),
            cut=cut,
            limit=3,
        )

    def test_the_whole_report(self) -> None:
        assert simulation_lines(self._simulation()) == [
            "evaluation v1 for a lead in Europe/Paris: 3 branches",
            "Enters Saturday 2027-03-27 11:00 Europe/Paris (10:00 UTC)",
            "",
            "Branch 1: no email_clicked within 4d",
            "  Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)  buying_guide    "
            "waited: send window",
            "  Friday    2027-04-02 09:00 Europe/Paris (07:00 UTC)  · no email_clicked within 4d",
            "  Friday    2027-04-02 09:00 Europe/Paris (07:00 UTC)  webinar_invite",
            "  → completed",
            "",
            "Branch 2: email_clicked during the 4d wait",
            "  Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)  buying_guide",
            "  Monday    2027-03-29 10:00 Europe/Paris (08:00 UTC)  ← email_clicked (buying_guide)",
            "  Monday    2027-03-29 10:00 Europe/Paris (08:00 UTC)  case_study",
            "  → completed",
            "",
            "Branch 3: demo_requested just after the first email",
            "  Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)  buying_guide",
            "  Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)  ← demo_requested",
            "  → goal reached (demo_requested): nothing more is sent",
        ]

    def test_a_cut_simulation_says_so(self) -> None:
        lines = simulation_lines(self._simulation(cut=True))
        assert lines[-1] == (
            "Stopped at 3 branches: the others were not run (raise --max-branches to see them)."
        )

    def test_a_note_too_wide_for_the_terminal_goes_under_the_template(self) -> None:
        lines = simulation_lines(self._simulation(), columns=80)
        assert lines[4:6] == [
            "  Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)  buying_guide",
            f"{' ' * 55}↳ waited: send window",
        ]
        assert all(len(line) <= 80 for line in lines if "waited" in line)

    def test_a_skipped_email_says_why(self) -> None:
        skipped = SimulatedEmail(
            template="webinar_invite",
            at=MONDAY,
            kind="marketing",
            status="skipped",
            detail="frequency cap reached",
        )
        simulation = self._simulation().model_copy(
            update={"branches": (_branch(1, (), skipped, outcome="exited", detail="no more"),)}
        )
        assert simulation_lines(simulation)[-2:] == [
            "  Monday    2027-03-29 09:00 Europe/Paris (07:00 UTC)  webinar_invite  "
            "skipped: frequency cap reached",
            "  → exited: no more",
        ]
