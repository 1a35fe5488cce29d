"""A long-lived lead carries the newest of its records into its next run, counts the rest,
and decides everything as it would have with all of them."""

from __future__ import annotations

from datetime import datetime, timedelta

from nurture.domain.emails import EmailKind
from nurture.domain.factlog import facts_of_state
from nurture.domain.lead import journey
from nurture.domain.lead.compaction import (
    EMAILS_KEPT,
    ENROLMENTS_KEPT,
    HANDOFFS_KEPT,
    SALES_LOG_KEPT,
    TRANSITIONS_KEPT,
    compact,
)
from nurture.domain.lead.enrolments import sequence_workflow_ids
from nurture.domain.lead.facts import RECENT_SENDS, lead_facts, lead_snapshot
from nurture.domain.lead.state import (
    Archived,
    EmailRecord,
    Enrolment,
    LeadState,
    Transition,
    start_state,
)
from nurture.domain.lead.view import lead_view, summary_markdown
from nurture.domain.lifecycle import Stage
from nurture.domain.sales import handoff
from nurture.domain.sales.records import HandOff, SalesEntry
from nurture.domain.sequences.rules import (
    EnrolmentRule,
    choose_enrolment,
    next_enrolment_check,
)
from tests.helpers import T0, scoring_model, submission

MODEL = scoring_model()
DAY = timedelta(days=1)
RULES = (
    EnrolmentRule(sequence="reengage", priority=5, reenter_after=timedelta(days=90)),
    EnrolmentRule(sequence="digest", priority=1, reenter_after=timedelta(days=7)),
    EnrolmentRule(sequence="evaluation", priority=20),
)


def at(n: int) -> datetime:
    return T0 + n * timedelta(hours=1)


def email(n: int) -> EmailRecord:
    """Every third a marketing email sent, the others transactional or skipped."""
    marketing = n % 3 == 0
    return EmailRecord(
        key=f"k{n}",
        template="digest" if marketing else "thank_you",
        kind=EmailKind.MARKETING if marketing else EmailKind.TRANSACTIONAL,
        status="sent" if n % 5 else "skipped",
        at=at(n),
    )


def enrolment(sequence: str, number: int, start: int, ended: bool = True) -> Enrolment:
    return Enrolment(
        sequence=sequence,
        version=1,
        number=number,
        priority=1,
        workflow_id=f"lead-L1/seq-{sequence}-{number}",
        started_at=at(start),
        ended_at=at(start + 24) if ended else None,
        result="completed" if ended else None,
    )


def young() -> LeadState:
    form = submission(at=T0)
    return journey.apply_submission(start_state("L1", MODEL), form, MODEL, T0)


def long_life() -> LeadState:
    """Years of a lead: 400 emails, 12 trips to sales, then a move to SQL not handed off
    yet followed by 300 other changes, 150 sales log entries, 60 sequence entries (one
    reengage, 59 digests, the last still running)."""
    state = young()
    sql_move = Transition(
        field="stage", from_value="mql", to_value=Stage.SQL, at=at(50), reason="demo", cause="x"
    )
    changes = [
        Transition(field="condition", from_value=None, to_value="hot", at=at(100 + n), reason="r")
        for n in range(300)
    ]
    sales_log = [
        SalesEntry(at=at(20 + n), kind="reminded", actor="nurture", detail=f"reminder {n}")
        for n in range(150)
    ]
    handoffs = [
        HandOff(number=n + 1, started_at=at(n), trigger="demo", ended_at=at(n + 1))
        for n in range(12)
    ]
    enrolments = [enrolment("reengage", 1, 0)]
    enrolments += [enrolment("digest", n + 1, 100 + 50 * n) for n in range(58)]
    enrolments.append(enrolment("digest", 59, 4000, ended=False))
    return state.model_copy(
        update={
            "stage": Stage.SQL,
            "emails": tuple(email(n) for n in range(400)),
            "transitions": (*state.transitions, sql_move, *changes),
            "sales_log": tuple(sales_log),
            "handoffs": tuple(handoffs),
            "enrolments": tuple(enrolments),
        }
    )


class TestCapped:
    def test_a_short_life_is_carried_as_it_is(self) -> None:
        state = young()
        assert compact(state) is state

    def test_each_record_keeps_its_newest_and_counts_the_rest(self) -> None:
        state = long_life()
        kept = compact(state)
        assert kept.emails[-EMAILS_KEPT:] == state.emails[-EMAILS_KEPT:]
        assert kept.sales_log == state.sales_log[-SALES_LOG_KEPT:]
        assert kept.handoffs == state.handoffs[-HANDOFFS_KEPT:]
        assert kept.transitions[-TRANSITIONS_KEPT:] == state.transitions[-TRANSITIONS_KEPT:]
        assert kept.archived == Archived(
            emails=len(state.emails) - len(kept.emails),
            transitions=len(state.transitions) - len(kept.transitions),
            sales_log=150 - SALES_LOG_KEPT,
            handoffs=12 - HANDOFFS_KEPT,
            enrolments={"digest": 59 - len([e for e in kept.enrolments if e.sequence == "digest"])},
        )
        assert len(kept.emails) < len(state.emails)
        assert len(kept.transitions) == TRANSITIONS_KEPT + 1  # and the move to SQL
        assert len(kept.enrolments) <= ENROLMENTS_KEPT + 3
        # The rest of the state is the same state.
        rest = set(type(state).model_fields) - {
            "emails",
            "transitions",
            "sales_log",
            "handoffs",
            "enrolments",
            "archived",
        }
        assert {f: getattr(kept, f) for f in rest} == {f: getattr(state, f) for f in rest}

    def test_records_stay_in_their_order(self) -> None:
        kept = compact(long_life())
        for moments in (
            [e.at for e in kept.emails],
            [t.at for t in kept.transitions],
            [e.at for e in kept.sales_log],
            [e.started_at for e in kept.enrolments],
        ):
            assert moments == sorted(moments)

    def test_again_drops_nothing_more_and_counts_add_up(self) -> None:
        once = compact(long_life())
        assert compact(once) is once
        grown = once.model_copy(
            update={"emails": (*once.emails, *(email(1000 + n) for n in range(30)))}
        )
        twice = compact(grown)
        assert len(twice.emails) == len(once.emails)
        assert twice.archived.emails == once.archived.emails + 30
        assert twice.archived.sales_log == once.archived.sales_log


class TestTheJourneyDecidesAlike:
    """Everything the workflow decides from these records comes out the same."""

    def test_frequency_cap_sees_the_same_recent_sends(self) -> None:
        state = long_life()
        marketing_sent = [
            e for e in state.emails if e.kind is EmailKind.MARKETING and e.status == "sent"
        ]
        assert len(marketing_sent) > RECENT_SENDS  # the cap had something to drop
        facts = lead_facts(state, MODEL, at(5000))
        before = lead_snapshot(state, facts)
        after = lead_snapshot(compact(state), facts)
        assert after == before

    def test_the_hand_off_starts_from_the_same_move_and_number(self) -> None:
        state = long_life()
        kept = compact(state)
        assert handoff.needs_handoff(kept) == handoff.needs_handoff(state) == "demo"
        assert kept.next_handoff_number() == state.next_handoff_number() == 13
        now = at(6000)
        assert handoff.begin_handoff(kept, "demo", now).handoffs[-1].number == 13

    def test_enrolment_rules_and_numbers_are_unchanged(self) -> None:
        state = long_life()
        kept = compact(state)
        for sequence in ("reengage", "digest", "evaluation"):
            assert kept.next_enrolment_number(sequence) == state.next_enrolment_number(sequence)
        assert kept.next_enrolment_number("digest") == 60
        facts = lead_facts(state, MODEL, at(5000))
        for hours in (10, 2000, 5000, 9000):
            now = at(hours)
            assert choose_enrolment(RULES, facts, kept.enrolments, None, now) == choose_enrolment(
                RULES,
                facts,
                state.enrolments,
                None,
                now,
            )
            assert next_enrolment_check(RULES, facts, kept.enrolments, now) == (
                next_enrolment_check(RULES, facts, state.enrolments, now)
            )
        assert kept.active_enrolment() == state.active_enrolment()
        assert [e for e in kept.enrolments if e.sequence == "reengage"] == [
            e for e in state.enrolments if e.sequence == "reengage"
        ]

    def test_erasure_still_finds_every_sequence_run(self) -> None:
        """The ids of the sequences no longer carried are still known: erasure deletes
        them even where the server cannot list a lead's workflows."""
        state = long_life()
        kept = compact(state)
        assert len(kept.enrolments) < len(state.enrolments)
        assert set(sequence_workflow_ids(kept)) == {e.workflow_id for e in state.enrolments}

    def test_the_kept_records_keep_their_facts(self) -> None:
        """The facts log has every record; those carried derive the same facts (same ids),
        so the next run writes none of them twice."""
        state = long_life()
        whole = {f.id: f for f in facts_of_state(state)}
        kept = facts_of_state(compact(state))
        assert kept and all(whole.get(f.id) == f for f in kept)
        assert len(kept) < len(whole)

    def test_the_view_says_how_many_earlier(self) -> None:
        state = compact(long_life())
        view = lead_view(state, MODEL, at(5000))
        assert view.archived == state.archived
        assert f"(and {state.archived.emails} earlier)" in summary_markdown(view)
