"""The enrolment check: a running lead's facts put together from visibility and the facts
log, the move its next evaluation makes under a set of rules, and the tally of both sets.

The agreement tests build real lead states through the journey, write the facts the live
log would hold for them (the messages' and the state's) and the search attributes their
workflow would publish, and require the check to see the lead as its workflow does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from nurture.adapters.temporal.visibility import running_lead
from nurture.cli.enrolment import _moment
from nurture.domain.factlog import Fact, facts_of_state
from nurture.domain.factlog.inbound import facts_of_message
from nurture.domain.fields import CustomField
from nurture.domain.lead import journey
from nurture.domain.lead.enrolments import end_enrolment, start_enrolment
from nurture.domain.lead.facts import LeadFacts, lead_facts
from nurture.domain.lead.messages import FormPosted
from nurture.domain.lead.state import Enrolment, LeadState, start_state
from nurture.domain.lead.view import lead_view
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.reports.enrolment_check import EnrolmentCheckTally
from nurture.domain.sales import handoff
from nurture.domain.sales.records import SalesAction
from nurture.domain.sequences.dryrun import (
    EnrolmentPast,
    Move,
    RunningLead,
    enrolment_past,
    facts_for,
    next_move,
)
from nurture.domain.sequences.rules import EnrolmentRule, choose_enrolment, must_stop, stages_of
from tests.helpers import T0, doi_submission, persona_lead, project, scoring_model, submission
from workflows.search_attributes import for_view

MODEL = scoring_model()
RULES = tuple(project().enrolment)
DISCOVERY = EnrolmentRule(sequence="discovery", priority=10, buying_stages=("discovery",))
EVALUATION = EnrolmentRule(sequence="evaluation", priority=20, buying_stages=("evaluation",))
SILENT = EnrolmentRule(
    sequence="reengagement", priority=5, inactive_for=timedelta(days=30), reenter_after="90d"
)
ONBOARDING = EnrolmentRule(sequence="onboarding", priority=50, stages=(Stage.CUSTOMER,))
SHORT = (DISCOVERY, EVALUATION, SILENT, ONBOARDING)


def facts(**changes: object) -> LeadFacts:
    known = {"stage": "mql", "score": 25, "grade": "C", "temperature": "warm"}
    return LeadFacts.model_validate({**known, "buying_stage": "discovery", **changes})


def entry(sequence: str, priority: int, *, ended: int | None = None, **more: object) -> Enrolment:
    return Enrolment.model_validate(
        {
            "sequence": sequence,
            "version": 1,
            "number": 1,
            "priority": priority,
            "workflow_id": f"lead-L1/seq-{sequence}-1",
            "started_at": T0 - timedelta(days=100),
            "ended_at": None if ended is None else T0 - timedelta(days=ended),
            "result": None if ended is None else "completed",
            **more,
        }
    )


def fact(kind: str, days: float, **data: object) -> Fact:
    at = T0 + timedelta(days=days)
    return Fact.model_validate(
        {"id": f"{kind}:{days}:{len(data)}", "lead_id": "L1", "kind": kind, "at": at, "data": data}
    )


class TestNextMove:
    """The move is the workflow's: stop a sequence whose stages the lead left, then the
    best rule it may enter, if it beats what still runs."""

    def test_a_lead_out_of_sequences_enters_the_best_rule(self) -> None:
        move = next_move(SHORT, facts(), (), T0)
        assert move == Move(
            kind="enters", to="discovery", reason="discovery rule matches (priority 10)"
        )
        assert move.label == "enters discovery"

    def test_a_running_sequence_stays_unless_beaten(self) -> None:
        running = entry("discovery", 10)
        assert next_move(SHORT, facts(), (running,), T0).label == "stays in discovery"
        move = next_move(SHORT, facts(buying_stage="evaluation"), (running,), T0)
        assert (move.kind, move.label) == ("changes", "discovery → evaluation")
        assert move.reason == "evaluation rule (20) beats discovery's 10"

    def test_the_recorded_priority_is_what_a_rule_must_beat(self) -> None:
        """A sequence entered at priority 25 (under older rules) is not replaced by a 20."""
        running = entry("discovery", 25)
        move = next_move(SHORT, facts(buying_stage="evaluation"), (running,), T0)
        assert (move.kind, move.reason) == ("stays", "nothing it may enter beats priority 25")

    def test_leaving_the_rules_stages_stops_it_then_another_may_start(self) -> None:
        running = entry("evaluation", 20)
        sql = next_move(SHORT, facts(stage="sql", buying_stage="evaluation"), (running,), T0)
        assert sql == Move(
            kind="leaves", sequence="evaluation", reason="the lead moved to stage 'sql'"
        )
        customer = next_move(SHORT, facts(stage="customer"), (running,), T0)
        assert customer.label == "evaluation → onboarding"
        assert customer.reason.startswith("the lead moved to stage 'customer'; onboarding rule")

    def test_a_condition_stops_everything(self) -> None:
        held = facts(conditions=(Condition.UNSUBSCRIBED,))
        assert next_move(SHORT, held, (entry("discovery", 10),), T0).kind == "leaves"
        move = next_move(SHORT, held, (), T0)
        assert (move.kind, move.reason) == ("none", "the lead is unsubscribed")

    def test_a_finished_sequence_is_not_entered_again(self) -> None:
        done = entry("discovery", 10, ended=5)
        move = next_move(SHORT, facts(), (done,), T0)
        assert (move.kind, move.reason) == ("none", "no rule it may enter matches")

    def test_time_driven_rules_read_the_moment(self) -> None:
        """Quiet since 20 days ago, re-engagement ended 80 days ago (re-entry after 90):
        nothing now; in 11 days, both delays have run out."""
        quiet = facts(buying_stage="evaluation", last_activity_at=T0 - timedelta(days=20))
        past = (entry("evaluation", 20, ended=60), entry("reengagement", 5, ended=80))
        assert next_move(SHORT, quiet, past, T0).kind == "none"
        later = next_move(SHORT, quiet, past, T0 + timedelta(days=11))
        assert later.label == "enters reengagement"

    def test_a_welcome_beside_it_is_not_its_sequence(self) -> None:
        welcome = entry("welcome", 0, alongside=True)
        assert next_move(SHORT, facts(), (welcome,), T0).label == "enters discovery"


class TestPastFromFacts:
    """What the facts log says of a lead that rules read."""

    def test_forms_custom_fields_source_and_recycle_reason(self) -> None:
        log = [
            fact("lead_created", 0, form="white-paper", source="inbound"),
            fact(
                "form_submitted",
                0,
                form="white-paper",
                profile={"source": "inbound", "custom.budget": "under 10k", "custom.need": "x"},
            ),
            fact(
                "form_submitted",
                3,
                form="contact",
                profile={"source": "referral", "custom.budget": "over 50k"},
            ),
            fact("sales_action", 4, action="returned", reason="budget"),
            fact("sales_action", 9, action="lost", reason="price"),
        ]
        past = enrolment_past(log, lambda _: 0)
        assert past == EnrolmentPast(
            lead_id="L1",
            forms=("white-paper", "contact"),
            custom={"budget": "over 50k", "need": "x"},
            recycle_reason="lost",
            source="referral",
        )
        again = enrolment_past(
            [*log, fact("sales_action", 12, action="returned", reason="timing")], lambda _: 0
        )
        assert again is not None and again.recycle_reason == "timing"

    def test_enrolments_with_their_ends_and_priorities(self) -> None:
        wid = "lead-L1/seq-evaluation-1"
        log = [
            fact(
                "sequence_entered",
                1,
                sequence="evaluation",
                version=2,
                enrolment=1,
                alongside=False,
                workflow_id=wid,
                priority=20,
            ),
            fact(
                "sequence_entered",
                1,
                sequence="welcome",
                version=1,
                enrolment=1,
                alongside=True,
                workflow_id="lead-L1/seq-welcome-1",
            ),
            fact(
                "sequence_ended",
                8,
                sequence="evaluation",
                version=2,
                enrolment=1,
                result="finished",
                detail=None,
                workflow_id=wid,
            ),
            fact("sequence_ended", 9, workflow_id="lead-L1/seq-unknown-1", result="goal"),
        ]
        past = enrolment_past(log, {"welcome": 3}.__getitem__)
        assert past is not None
        evaluation, welcome = past.enrolments
        assert (evaluation.priority, evaluation.version, evaluation.result) == (20, 2, "completed")
        assert evaluation.ended_at == T0 + timedelta(days=8)
        assert (welcome.priority, welcome.alongside, welcome.ended_at) == (3, True, None)

    def test_custom_values_typed_by_the_fields(self) -> None:
        """The log keeps text; a rule asking for a number or a flag gets one."""
        fields = {
            "seats": CustomField(type="number"),
            "partner": CustomField(type="boolean"),
            "budget": CustomField(type="choice", choices=("under 10k", "over 50k")),
        }
        custom = {"seats": "50", "partner": "true", "budget": "gone", "other": "7"}
        past = EnrolmentPast(lead_id="L1", custom=custom)
        lead = RunningLead(lead_id="L1", stage=Stage.MQL)
        typed = facts_for(lead, past, fields).custom
        assert typed == {"seats": 50, "partner": True, "budget": "gone", "other": "7"}
        rule = EnrolmentRule(sequence="partners", custom={"seats": (50.0,), "partner": (True,)})
        assert next_move((rule,), facts_for(lead, past, fields), (), T0).kind == "enters"


def posted(
    state: LeadState, form_id: str, days: float, **lead: object
) -> tuple[LeadState, list[Fact]]:
    """``state`` after a post of ``form_id``, with the facts the live log writes for it."""
    at = T0 + timedelta(days=days)
    form = submission(
        persona_lead("ada@globex.example", **lead),
        submission_id=f"s-{form_id}-{days}",
        form_id=form_id,
        at=at,
    )
    message = FormPosted(form=form)
    applied = journey.apply(state, message, journey.ApplyContext(model=MODEL, now=at))
    return applied.state, facts_of_message(state.lead_id, message, at)


def journeys() -> dict[str, tuple[LeadState, list[Fact]]]:
    """Leads at several points of their lives, with every fact the live log holds."""
    state, log = posted(start_state("L1", MODEL), "white-paper", 0, custom={"budget": "under 10k"})
    state, more = posted(state, "contact", 2, source="referral", custom={"budget": "over 50k"})
    log += more
    two_forms = (state, log)
    doi = FormPosted(form=doi_submission("doi-L1", at=T0 + timedelta(days=2, hours=1)))
    at_doi = T0 + timedelta(days=2, hours=1)
    held = journey.apply(state, doi, journey.ApplyContext(model=MODEL, now=at_doi)).state
    held_post = (held, [*log, *facts_of_message("L1", doi, at_doi)])
    entered = Enrolment(
        sequence="evaluation",
        version=1,
        number=1,
        priority=20,
        workflow_id="lead-L1/seq-evaluation-1",
        started_at=T0 + timedelta(days=3),
    )
    state = start_enrolment(state, entered)
    in_sequence = (state, list(log))
    raised = T0 + timedelta(days=4)
    sql = handoff.begin_handoff(handoff.hand_raise(state, "demo_requested", raised), "", raised)
    state = end_enrolment(state, entered.workflow_id, "completed", None, T0 + timedelta(days=9))
    ended = (state, list(log))
    at = T0 + timedelta(days=10)
    state = handoff.hand_raise(state, "demo_requested", at)
    state = handoff.begin_handoff(state, handoff.needs_handoff(state) or "", at)
    action = SalesAction(action="return_to_nurture", actor="ana", reason="budget")
    state = handoff.apply_action(state, action, MODEL, at + timedelta(hours=2), -10)
    returned = (state, list(log))
    return {
        "two forms": two_forms,
        "a double opt-in post held": held_post,
        "in a sequence": in_sequence,
        "an SQL in a sequence": (sql, list(log)),
        "sequence ended": ended,
        "returned by sales": returned,
    }


@pytest.mark.parametrize("name", list(journeys()))
def test_the_check_sees_the_lead_as_its_workflow_does(name: str) -> None:
    state, inbound = journeys()[name]
    now = T0 + timedelta(days=40)
    log = sorted([*inbound, *facts_of_state(state)], key=lambda f: f.at)
    attributes = for_view(lead_view(state, MODEL, now))
    lead = running_lead("L1", attributes)
    confirm = {name for name, form in project().forms.items() if form.double_opt_in}
    past = enrolment_past(log, lambda _: -1, confirm)
    assert lead is not None and past is not None
    seen = facts_for(lead, past, project().fields)
    truth = lead_facts(state, MODEL, now)
    read = ("stage", "conditions", "buying_stage", "source", "last_activity_at", "recycle_reason")
    assert {k: getattr(seen, k) for k in read} == {k: getattr(truth, k) for k in read}
    assert set(seen.forms) == set(truth.forms) and seen.custom == truth.custom
    shown = ("sequence", "number", "priority", "started_at", "ended_at", "alongside")
    assert [e.model_dump(include=set(shown)) for e in past.enrolments] == [
        e.model_dump(include=set(shown)) for e in state.enrolments
    ]
    # The shipped rules decide the same on both.
    active = state.active_enrolment()
    stop = must_stop(truth, stages_of(RULES, active.sequence)) if active else None
    chosen = choose_enrolment(RULES, truth, state.enrolments, None if stop else active, now)
    move = next_move(RULES, seen, past.enrolments, now)
    assert move.to == (chosen.sequence if chosen else None)
    if chosen:
        kind = "changes" if active else "enters"
    else:
        kind = "leaves" if stop else "stays" if active else "none"
    assert move.kind == kind


class TestTally:
    """Both sets over the running leads: kinds of moves, moves per sequence, the leads
    that differ, and the running leads the log does not know."""

    CURRENT = (DISCOVERY, EVALUATION, SILENT)
    CANDIDATE = (
        EnrolmentRule(
            sequence="discovery", priority=10, buying_stages=("discovery",), stages=(Stage.NEW,)
        ),
        EVALUATION,
        SILENT,
    )

    def running(
        self, lead_id: str, stage: Stage, buying: str, sequence: str | None = None
    ) -> RunningLead:
        return RunningLead(
            lead_id=lead_id,
            stage=stage,
            buying_stage=buying,
            last_activity_at=T0 - timedelta(days=1),
            sequence=sequence,
        )

    def test_counts_and_differences(self) -> None:
        running = [
            self.running("a", Stage.NEW, "discovery", "discovery"),  # stays under both
            self.running("b", Stage.MQL, "discovery", "discovery"),  # leaves it (stages)
            self.running("c", Stage.MQL, "discovery"),  # out of any: enters, then not
            self.running("d", Stage.MQL, "evaluation"),  # enters evaluation under both
            self.running("z", Stage.NEW, "discovery"),  # nothing in the log
        ]
        tally = EnrolmentCheckTally(self.CURRENT, self.CANDIDATE, running, {}, T0, ("now", "new"))
        discovery = {
            "sequence": "discovery",
            "version": 1,
            "enrolment": 1,
            "alongside": False,
            "priority": 10,
        }
        for lead_id in ("a", "b"):
            wid = f"lead-{lead_id}/seq-discovery-1"
            tally.add_lead(
                [
                    fact("sequence_entered", -3, **discovery, workflow_id=wid).model_copy(
                        update={"lead_id": lead_id}
                    )
                ]
            )
        for lead_id in ("c", "d", "x"):  # x: a lead no longer running
            tally.add_lead(
                [
                    fact("lead_created", -2, form="white-paper", source="inbound").model_copy(
                        update={"lead_id": lead_id}
                    )
                ]
            )
        report = tally.result()
        assert (report.running, report.unknown, report.unknown_examples) == (5, 1, ("z",))
        assert report.kinds == {
            "enters": (2, 1),
            "leaves": (0, 1),
            "changes": (0, 0),
            "stays": (2, 1),
            "none": (0, 1),
        }
        assert report.moves == {
            "enters discovery": (1, 0),
            "enters evaluation": (1, 1),
            "leaves discovery": (0, 1),
            "stays in discovery": (2, 1),
            "stays out of sequences": (0, 1),
        }
        assert report.differing == 2
        assert [(d.lead_id, d.current, d.candidate, d.reason) for d in report.listed] == [
            ("b", "stays in discovery", "leaves discovery", "the lead moved to stage 'mql'"),
            ("c", "enters discovery", "stays out of sequences", "no rule it may enter matches"),
        ]
        assert not report.same_rules
        summary, moves, differing = report.tables()
        assert summary.rows[0] == ("enter a sequence", 2, 1, -1)
        assert "1 unknown to the facts log" in summary.note and ": z;" in summary.note
        # c and d: their log holds no form's profile (a and b neither: no form at all).
        assert report.partial == 4 and "4 judged from a log without any form's profile" in (
            summary.note
        )
        assert len(moves.rows) == 5 and len(differing.rows) == 2

    def test_the_same_rules_say_what_the_next_evaluation_does_now(self) -> None:
        running = [self.running("c", Stage.MQL, "discovery")]
        tally = EnrolmentCheckTally(self.CURRENT, self.CURRENT, running, {}, T0)
        tally.add_lead(
            [
                fact("lead_created", -2, form="white-paper", source="inbound").model_copy(
                    update={"lead_id": "c"}
                )
            ]
        )
        report = tally.result()
        assert report.same_rules and report.differing == 0
        assert report.kinds["enters"] == (1, 1)
        summary, _ = report.tables()  # no table of leads that differ: none can
        assert summary.note.startswith("1 running lead; 1 judged; 1 judged from a log without")
        assert "Both sets of rules are the same" in summary.note

    def test_the_same_move_for_another_reason_is_no_difference(self) -> None:
        """Only discovery's priority changes: a lead entering it enters it either way."""
        higher = (DISCOVERY.model_copy(update={"priority": 15}), EVALUATION, SILENT)
        running = [self.running("c", Stage.MQL, "discovery")]
        tally = EnrolmentCheckTally(self.CURRENT, higher, running, {}, T0)
        tally.add_lead([of("c", "lead_created", -2, form="white-paper", source="inbound")])
        report = tally.result()
        assert report.kinds["enters"] == (1, 1) and report.differing == 0

    def test_a_log_behind_its_sequence_is_judged_by_neither(self) -> None:
        """Visibility says the lead runs evaluation, its log has no entry yet (the write is
        on its way): counted apart, never judged as 'out of sequences'."""
        running = [self.running("e", Stage.MQL, "evaluation", "evaluation")]
        tally = EnrolmentCheckTally(self.CURRENT, self.CANDIDATE, running, {}, T0)
        tally.add_lead([of("e", "lead_created", -2, form="white-paper", source="inbound")])
        report = tally.result()
        assert (report.out_of_step, report.out_of_step_examples) == (1, ("e",))
        assert sum(current for current, _ in report.kinds.values()) == 0
        assert "1 whose log is behind the sequence they run" in report.tables()[0].note

    def test_an_assumed_priority_is_said(self) -> None:
        """An entry logged before facts carried its priority: counted and said."""
        running = [self.running("a", Stage.NEW, "discovery", "discovery")]
        tally = EnrolmentCheckTally(self.CURRENT, self.CANDIDATE, running, {}, T0)
        entered = {"sequence": "discovery", "version": 1, "enrolment": 1, "alongside": False}
        wid = "lead-a/seq-discovery-1"
        tally.add_lead([of("a", "sequence_entered", -3, **entered, workflow_id=wid)])
        report = tally.result()
        assert report.assumed == 1 and "priority is assumed" in report.tables()[0].note


def of(lead_id: str, kind: str, days: float, **data: object) -> Fact:
    return fact(kind, days, **data).model_copy(update={"lead_id": lead_id})


class TestHeldAndImported:
    """What the lead's state does not hold yet is not read from the log either."""

    def test_a_double_opt_in_post_counts_once_confirmed(self) -> None:
        newsletter = {"form": "newsletter", "profile": {"custom.budget": "over 50k"}}
        log = [
            fact("lead_created", 0, form="white-paper", source="inbound"),
            fact("form_submitted", 0, form="white-paper", profile={}),
            fact("form_submitted", 1, **newsletter),
        ]
        held = enrolment_past(log, lambda _: 0, {"newsletter"})
        assert held is not None and (held.forms, held.custom) == (("white-paper",), {})
        confirmed = [*log, fact("opt_in_confirmed", 2, form="newsletter", submission=None)]
        past = enrolment_past(confirmed, lambda _: 0, {"newsletter"})
        assert past is not None and past.forms == ("white-paper", "newsletter")
        assert past.custom == {"budget": "over 50k"}
        # Once an address is confirmed, a later double opt-in post counts at once.
        again = [*confirmed, fact("form_submitted", 3, form="newsletter", profile={})]
        assert enrolment_past(again, lambda _: 0, {"newsletter"}) == past

    def test_an_import_is_no_form(self) -> None:
        log = [fact("lead_created", 0, form="import:fair-2026", source="outbound")]
        past = enrolment_past(log, lambda _: 0)
        assert past is not None and (past.forms, past.source, past.partial) == (
            (),
            "outbound",
            True,
        )


class TestAtOption:
    """``--at``: a duration from now or a moment (UTC unless it gives an offset); anything
    else, however large, is a bad parameter, never a traceback."""

    def test_moments(self) -> None:
        assert _moment("2027-01-20T10:00+01:00") == datetime(2027, 1, 20, 9, tzinfo=UTC)
        assert _moment("2027-01-20T10:00") == datetime(2027, 1, 20, 10, tzinfo=UTC)
        ahead = _moment("7d")
        assert ahead is not None
        assert abs(ahead - datetime.now(UTC) - timedelta(days=7)) < timedelta(minutes=1)
        assert _moment(None) is None

    @pytest.mark.parametrize(
        "text",
        ["soon", "-5d", "2026-13-01", "9999999d", "99999999999999d", "0001-01-01T00:00+05:00"],
    )
    def test_refused(self, text: str) -> None:
        with pytest.raises(typer.BadParameter, match="neither a duration"):
            _moment(text)

    def test_the_past_is_refused(self) -> None:
        """Today's facts say nothing of a past evaluation."""
        with pytest.raises(typer.BadParameter, match="is in the past"):
            _moment("2020-01-01")
