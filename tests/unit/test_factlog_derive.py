"""The facts a lead's state proves: what each part of the state gives, with ids that never
depend on positions in the state's tuples, and nothing that names the person."""

from __future__ import annotations

import re
from datetime import timedelta

from nurture.domain.emails import EmailKind
from nurture.domain.factlog import Fact, facts_of_state
from nurture.domain.factlog.derive import masked
from nurture.domain.lead import journey
from nurture.domain.lead.engagement import apply_event
from nurture.domain.lead.enrolments import end_enrolment, record_progress, start_enrolment
from nurture.domain.lead.mail_plan import record_email
from nurture.domain.lead.messages import OptInConfirmed, OptOut
from nurture.domain.lead.state import EmailRecord, Enrolment, LeadState, start_state
from nurture.domain.models import Utm
from nurture.domain.sales import handoff
from nurture.domain.sales.records import Assignment, SalesAction
from tests.helpers import T0, doi_submission, event, persona_lead, scoring_model, submission

MODEL = scoring_model()


def submitted(**lead: object) -> LeadState:
    """A persona's white paper form, from a campaign, in France."""
    utm = Utm(source="newsletter", medium="email", campaign="spring")
    form = submission(persona_lead(utm=utm, country="FR", **lead), locale="fr")
    return journey.apply_submission(start_state("L1", MODEL), form, MODEL, T0)


def mql() -> LeadState:
    state = submitted()
    for n in range(6):
        at = T0 + timedelta(minutes=n)
        state = apply_event(state, event("page_viewed", at=at, section="product"), MODEL, at)
    return state


def sql(state: LeadState) -> LeadState:
    """Made an SQL by a demo request, handed off and routed to Ana."""
    at = T0 + timedelta(hours=1)
    state = handoff.hand_raise(state, "demo_requested", at)
    state = handoff.begin_handoff(state, handoff.needs_handoff(state) or "", at)
    assignment = Assignment(
        rep_id="ana", rep_name="Ana Souza", rep_email="ana@example.com", reason="matches territory"
    )
    return handoff.record_assignment(state, assignment, at)


def act(state: LeadState, action: str, hours: int, **fields: object) -> LeadState:
    sales = SalesAction.model_validate({"action": action, "actor": "ana", **fields})
    return handoff.apply_action(state, sales, MODEL, T0 + timedelta(hours=hours), -10)


def of_kind(facts: list[Fact], kind: str) -> list[Fact]:
    return [f for f in facts if f.kind == kind]


def sent(state: LeadState) -> LeadState:
    """The planned thank-you went out, as the lead's workflow records it."""
    (planned,) = state.planned
    record = EmailRecord(
        key=planned.key,
        template=planned.template,
        kind=planned.kind,
        status="sent",
        at=T0 + timedelta(seconds=2),
        due_at=planned.due_at,
    )
    return record_email(state, record)


def enrolled(state: LeadState, **variants: str | None) -> LeadState:
    entry = Enrolment(
        sequence="evaluation",
        version=1,
        number=1,
        priority=20,
        workflow_id="lead-L1/seq-evaluation-1",
        started_at=T0 + timedelta(days=1),
    )
    state = start_enrolment(state, entry)
    return record_progress(state, entry.workflow_id, "wait 3d", None, dict(variants))


class TestLeadCreated:
    """A lead in its own right is created once, with where it came from as its first form
    said it."""

    def test_source_form_utm_locale_country_cohort(self) -> None:
        (created,) = of_kind(facts_of_state(submitted()), "lead_created")
        assert created.at == T0
        assert created.data == {
            "source": "inbound",
            "form": "white-paper",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "spring",
            "utm_term": None,
            "utm_content": None,
            "locale": "fr",
            "country": "FR",
            "cohort": "2026-03",
        }

    def test_a_later_form_changes_nothing(self) -> None:
        """Another form, from another campaign and locale, leaves the fact as it was."""
        first = submitted()
        later = submission(
            persona_lead(utm=Utm(campaign="autumn"), country="DE"),
            submission_id="sub-2",
            form_id="newsletter",
            at=T0 + timedelta(days=3),
        )
        after = journey.apply_submission(first, later, MODEL, T0 + timedelta(days=3))
        assert after.lead is not None and after.lead.utm.campaign == "autumn"
        assert of_kind(facts_of_state(after), "lead_created") == of_kind(
            facts_of_state(first), "lead_created"
        )

    def test_a_state_from_before_the_origin_says_it_through_its_profile(self) -> None:
        """A lead that lived before ``origin`` was kept (what backfill meets)."""
        old = submitted().model_copy(update={"origin": None})
        assert of_kind(facts_of_state(old), "lead_created") == of_kind(
            facts_of_state(submitted()), "lead_created"
        )

    def test_unconfirmed_until_the_address_confirms(self) -> None:
        """A double opt-in post waiting for its confirmation is no lead yet; confirmed, it is,
        created when it was first posted, and its confirmation is a fact."""
        held = journey.apply_submission(start_state("L1", MODEL), doi_submission(), MODEL, T0)
        assert of_kind(facts_of_state(held), "lead_created") == []
        assert [f.data["condition"] for f in of_kind(facts_of_state(held), "condition_added")] == [
            "unconfirmed"
        ]
        at = T0 + timedelta(hours=2)
        confirmed = OptInConfirmed(submission_id="doi-1", at=at)
        facts = facts_of_state(journey.apply_confirmation(held, confirmed, MODEL, at))
        (created,) = of_kind(facts, "lead_created")
        assert (created.at, created.data["form"]) == (T0, "newsletter")
        (opt_in,) = of_kind(facts, "opt_in_confirmed")
        assert (opt_in.at, opt_in.data) == (at, {"form": "newsletter"})


class TestTransitions:
    """Stage and buying-stage changes and conditions, with the fixed-words reason and, for
    a stage, the score at that moment."""

    def test_stage_change_with_its_score_and_cause(self) -> None:
        (change,) = of_kind(facts_of_state(mql()), "stage_changed")
        assert change.data == {
            "from_stage": "new",
            "to_stage": "mql",
            "reason": "event page_viewed",
            "score": 20,
        }

    def test_buying_stage_change(self) -> None:
        (change,) = of_kind(facts_of_state(mql()), "buying_stage_changed")
        assert (change.data["from_stage"], change.data["to_stage"]) == ("discovery", "evaluation")

    def test_sales_moves_say_what_without_the_note(self) -> None:
        """A return keeps its BANT reason; its note stays out."""
        state = act(sql(mql()), "return_to_nurture", 3, reason="budget", note="call Ada")
        moves = [f.data["reason"] for f in of_kind(facts_of_state(state), "stage_changed")]
        assert moves == ["event page_viewed", "hand-raise demo_requested", "returned budget"]

    def test_unsubscribe_is_a_condition(self) -> None:
        state = journey.apply(
            submitted(),
            OptOut(channel="one-click", at=T0 + timedelta(days=1)),
            journey.ApplyContext(model=MODEL, now=T0 + timedelta(days=1)),
        ).state
        (added,) = of_kind(facts_of_state(state), "condition_added")
        assert added.data == {"condition": "unsubscribed", "reason": "unsubscribed one-click"}


class TestEmails:
    """A planned email stays planned once sent; each outcome is a fact of its status."""

    def test_planned_then_sent_keeps_the_planned_fact(self) -> None:
        before = of_kind(facts_of_state(submitted()), "email_planned")
        after = facts_of_state(sent(submitted()))
        assert of_kind(after, "email_planned") == before
        (done,) = of_kind(after, "email_sent")
        assert done.data["template"] == "thank_you" and done.data["sequence"] is None

    def test_a_sequence_email_says_where_it_belongs(self) -> None:
        record = EmailRecord(
            key="L1/seq-evaluation-v1-e1/case_study/1",
            template="case_study",
            kind=EmailKind.MARKETING,
            status="bounced",
            at=T0,
            detail="550 5.1.1 <ada@globex.example>: no such user",
            sequence="evaluation",
            version=1,
            step=2,
            variant={"subject": "b"},
        )
        (bounced,) = of_kind(facts_of_state(record_email(submitted(), record)), "email_bounced")
        assert bounced.data == {
            "key": record.key,
            "template": "case_study",
            "email_kind": "marketing",
            "sequence": "evaluation",
            "version": 1,
            "step": 2,
            "variant": {"subject": "b"},
            "detail": "550 5.1.1 <<address>>: no such user",
        }


class TestEnrolments:
    """Entries, ends and A/B assignments of sequences."""

    def test_entered_assigned_and_finished(self) -> None:
        state = enrolled(submitted(), subject="b", offer=None)
        ended_at = T0 + timedelta(days=9)
        state = end_enrolment(state, "lead-L1/seq-evaluation-1", "completed", None, ended_at)
        facts = facts_of_state(state)
        (entered,) = of_kind(facts, "sequence_entered")
        assert entered.data["alongside"] is False and entered.data["enrolment"] == 1
        assigned = {
            f.data["experiment"]: f.data["variant"] for f in of_kind(facts, "variant_assigned")
        }
        assert assigned == {"subject": "b", "offer": None}
        (ended,) = of_kind(facts, "sequence_ended")
        assert (ended.at, ended.data["result"]) == (ended_at, "finished")


class TestSales:
    """The sales log's entries, with the hand-off they belong to and structured reasons."""

    def test_a_round_trip(self) -> None:
        state = act(act(sql(mql()), "accept", 2), "convert", 3)
        state = act(state, "won", 4, note="signed by Ada Lovelace")
        facts = facts_of_state(state)
        (handed,) = of_kind(facts, "handed_off")
        assert handed.data == {"handoff": 1, "trigger": "hand-raise demo_requested"}
        (assigned,) = of_kind(facts, "assigned")
        assert assigned.data == {"handoff": 1, "rep": "ana", "reason": "matches territory"}
        actions = [(f.data["action"], f.data["handoff"]) for f in of_kind(facts, "sales_action")]
        assert actions == [("accepted", 1), ("converted", 1), ("won", 1)]

    def test_return_reason_and_revisit_date(self) -> None:
        state = act(sql(mql()), "return_to_nurture", 2, reason="timing", revisit_after="2026-06-01")
        (returned,) = of_kind(facts_of_state(state), "sales_action")
        assert returned.data == {
            "handoff": 1,
            "action": "returned",
            "actor": "ana",
            "reason": "timing",
            "revisit_after": "2026-06-01",
        }

    def test_a_typed_disqualification_reason_is_not_kept(self) -> None:
        """Free text could name anyone: a reason that is not a return's is ``other``."""
        state = act(mql(), "disqualify", 2, reason="Ada's brother, not a buyer")
        (gone,) = of_kind(facts_of_state(state), "sales_action")
        assert (gone.data["reason"], gone.data["handoff"]) == ("other", None)

    def test_reminder_escalation_and_pool(self) -> None:
        at = T0 + timedelta(hours=2)
        state = handoff.record_reminder(sql(mql()), at)
        state = handoff.record_escalation(state, at, "Ana Souza did not accept; to the pool")
        pool = Assignment(rep_id=None, reason="Ana Souza did not accept")
        state = handoff.record_assignment(state, pool, at, cause="sla lapsed")
        facts = facts_of_state(state)
        assert [f.data for f in of_kind(facts, "sla_reminded")] == [{"handoff": 1, "rep": "ana"}]
        assert [f.data for f in of_kind(facts, "sla_escalated")] == [{"handoff": 1, "rep": "ana"}]
        assert [f.data for f in of_kind(facts, "pooled")] == [
            {"handoff": 1, "reason": "sla lapsed"}
        ]


class TestIds:
    """Ids come from what a fact is about: trimming the state's tuples at the front, as a
    long-lived lead's state will be, shifts none of them."""

    def full(self) -> LeadState:
        state = enrolled(sent(mql()), subject="a")
        return act(act(sql(state), "accept", 2), "return_to_nurture", 3, reason="need")

    def test_trimmed_tuples_keep_their_ids(self) -> None:
        state = self.full()
        trimmed = state.model_copy(
            update={
                "transitions": state.transitions[2:],
                "emails": state.emails[1:],
                "sales_log": state.sales_log[1:],
            }
        )
        whole = {f.id: f for f in facts_of_state(state)}
        kept = facts_of_state(trimmed)
        assert kept and all(whole[f.id] == f for f in kept)
        assert len(kept) < len(whole)

    def test_identical_transitions_are_told_apart(self) -> None:
        state = mql()
        twice = state.model_copy(
            update={"transitions": (*state.transitions, state.transitions[-1])}
        )
        ids = [f.id for f in facts_of_state(twice)]
        assert len(ids) == len(set(ids)) == len(facts_of_state(state)) + 1

    def test_every_id_is_unique_and_derivation_repeats(self) -> None:
        facts = facts_of_state(self.full())
        assert len({f.id for f in facts}) == len(facts)
        assert facts_of_state(self.full()) == facts
        assert [f.at for f in facts] == sorted(f.at for f in facts)


class TestPrivacy:
    """No fact carries the lead's address, name or company, nor a sales note."""

    def test_nothing_names_the_person(self) -> None:
        state = TestIds().full()
        record = EmailRecord(
            key="k",
            template="t",
            kind=EmailKind.MARKETING,
            status="failed",
            at=T0,
            detail="refused: ADA@GLOBEX.EXAMPLE is not accepted here",
        )
        state = act(record_email(state, record), "disqualify", 5, reason="x", note="Lovelace!")
        text = "\n".join(f.model_dump_json() for f in facts_of_state(state)).lower()
        for secret in ("ada@globex.example", "ada", "lovelace", "globex", "ana souza"):
            assert not re.search(rf"\b{re.escape(secret)}\b", text), secret

    def test_masked_hides_any_address(self) -> None:
        assert masked("to <a.b+c@x.example>, d@y.example") == "to <<address>>, <address>"
        assert masked(None) is None
