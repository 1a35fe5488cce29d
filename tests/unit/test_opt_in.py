"""Consent at capture and double opt-in, as pure journey and intake rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.config.project import FormConfig
from nurture.domain.emails import CONFIRM_TEMPLATE, EmailKind
from nurture.domain.lead import journey
from nurture.domain.lead.facts import lead_facts
from nurture.domain.lead.mail_plan import record_email, send_input
from nurture.domain.lead.messages import OptInConfirmed
from nurture.domain.lead.opt_in import expire_opt_ins
from nurture.domain.lead.state import EmailRecord, LeadState, PlannedEmail, start_state
from nurture.domain.lifecycle import Condition, why_not_mail
from nurture.domain.models import Consent, FormSubmitted
from nurture.domain.sequences.rules import choose_enrolment
from nurture.services.intake import Client, FormPost, to_submission
from tests.helpers import T0, doi_submission, project, scoring_model, submission

MODEL = scoring_model()


def doi(submission_id: str = "doi-1", form_id: str = "newsletter", at=T0) -> FormSubmitted:
    return doi_submission(submission_id, form_id=form_id, at=at)


def held(form: FormSubmitted | None = None) -> LeadState:
    return journey.apply_submission(start_state("l1", MODEL), form or doi(), MODEL, T0)


def confirm(state: LeadState, minutes: int = 30) -> LeadState:
    at = T0 + timedelta(minutes=minutes)
    click = OptInConfirmed(submission_id="doi-1", at=at, ip="198.51.100.4", user_agent="Safari")
    return journey.apply_confirmation(state, click, MODEL, at)


class TestHeld:
    def test_only_the_confirmation_is_planned_and_nothing_counts(self) -> None:
        state = held()
        (planned,) = state.planned
        assert planned.template == CONFIRM_TEMPLATE
        assert planned.kind is EmailKind.TRANSACTIONAL and planned.due_at == T0
        assert planned.confirm is not None and planned.confirm.submission_id == "doi-1"
        assert planned.confirm.expires_at == T0 + timedelta(days=7)
        assert state.forms == () and state.score.total == 0 and state.last_activity_at is None
        assert state.conditions == (Condition.UNCONFIRMED,)
        assert [p.form.form_id for p in state.unconfirmed] == ["newsletter"]
        # The confirmation carries the address, nothing else about the lead is applied.
        assert send_input(state, planned).to_email == "ada@globex.example"

    def test_marketing_mail_and_sequences_wait_for_the_confirmation(self) -> None:
        state = held()
        assert why_not_mail(True, state.stage, state.conditions) == (
            "the lead has not confirmed its subscription"
        )
        assert why_not_mail(False, state.stage, state.conditions) is None
        facts = lead_facts(state, MODEL, T0).model_copy(update={"forms": ("newsletter",)})
        assert choose_enrolment(project().enrolment, facts, (), None, T0) is None

    def test_a_repost_resends_the_link_ten_minutes_on_at_most_three_times(self) -> None:
        state = held()
        for minutes, submission_id in [(5, "b"), (11, "c"), (30, "d"), (60, "e")]:
            at = T0 + timedelta(minutes=minutes)
            state = journey.apply_submission(state, doi(submission_id, at=at), MODEL, at)
        confirmations = [p.due_at - T0 for p in state.planned]
        assert confirmations == [timedelta(0), timedelta(minutes=11), timedelta(minutes=30)]
        # Reposts of one form keep one pending post, the latest.
        assert [p.form.submission_id for p in state.unconfirmed] == ["e"]

    def test_a_form_without_double_opt_in_makes_the_lead_a_lead(self) -> None:
        state = held()
        state = journey.apply_submission(state, submission(submission_id="wp"), MODEL, T0)
        assert Condition.UNCONFIRMED not in state.conditions
        assert state.forms == ("white-paper",)
        assert [p.form.form_id for p in state.unconfirmed] == ["newsletter"]
        assert expire_opt_ins(state, T0 + timedelta(days=8))[1] is False


class TestConfirmed:
    def test_the_held_post_takes_effect_with_the_evidence(self) -> None:
        state = confirm(held())
        assert state.conditions == () and state.unconfirmed == ()
        assert state.forms == ("newsletter",) and state.score.total > 0
        assert [p.template for p in state.planned if p.due_at == T0 + timedelta(minutes=30)] == [
            "thank_you"
        ]
        assert state.lead is not None
        consent = state.lead.consent
        assert consent.confirmed and consent.confirmed_at == T0 + timedelta(minutes=30)
        assert (consent.ip, consent.user_agent) == ("203.0.113.7", "Firefox")
        assert (consent.confirmed_ip, consent.confirmed_user_agent) == ("198.51.100.4", "Safari")
        assert consent.wording_version == "newsletter-2026-01" and consent.form_id == "newsletter"
        assert [c.confirmed for c in state.consents] == [False, True]
        conditions = [
            (t.from_value, t.to_value) for t in state.transitions if t.field == "condition"
        ]
        assert conditions == [(None, "unconfirmed"), ("unconfirmed", "confirmed")]

    def test_a_repeat_or_a_late_click_changes_nothing(self) -> None:
        once = confirm(held())
        twice = confirm(once, minutes=40)
        assert twice.planned == once.planned and twice.forms == once.forms
        assert twice.score == once.score

    def test_a_confirmed_address_needs_no_second_confirmation(self) -> None:
        state = confirm(held())
        later = T0 + timedelta(days=1)
        state = journey.apply_submission(
            state, doi("doi-2", form_id="updates", at=later), MODEL, later
        )
        assert state.unconfirmed == () and "updates" in state.forms
        assert state.lead is not None and state.lead.consent.confirmed


class TestExpiry:
    def test_an_unconfirmed_lead_is_gone_after_the_deadline(self) -> None:
        state = held()
        assert journey.next_deadline(state, MODEL) == T0
        state = record_email(state, sent(state.planned[0]))
        assert journey.next_deadline(state, MODEL) == T0 + timedelta(days=7)
        same, gone = expire_opt_ins(state, T0 + timedelta(days=7) - timedelta(seconds=1))
        assert not gone and same == state
        after, gone = expire_opt_ins(state, T0 + timedelta(days=7))
        assert gone and after.unconfirmed == ()

    def test_a_known_lead_only_drops_the_post(self) -> None:
        state = journey.apply_submission(start_state("l1", MODEL), submission(), MODEL, T0)
        state = journey.apply_submission(state, doi(), MODEL, T0)
        assert Condition.UNCONFIRMED not in state.conditions
        assert why_not_mail(True, state.stage, state.conditions) is None
        after, gone = expire_opt_ins(state, T0 + timedelta(days=8))
        assert not gone and after.unconfirmed == () and after.forms == ("white-paper",)


def sent(planned: PlannedEmail) -> EmailRecord:
    return EmailRecord(
        key=planned.key, template=planned.template, kind=planned.kind, status="sent", at=T0
    )


class TestCapture:
    @pytest.mark.parametrize("double_opt_in", [False, True])
    def test_consent_is_recorded_with_its_evidence(self, double_opt_in: bool) -> None:
        form = FormConfig(
            event="newsletter_subscribed",
            double_opt_in=double_opt_in,
            consent_wording="v3",
            confirm_within=timedelta(days=2),
        )
        post = FormPost(email="ada@globex.example", consent=True)
        made = to_submission(
            post,
            "newsletter",
            form,
            "en",
            project().defaults,
            T0,
            Client("192.0.2.1", "UA/1"),
            submission_id="s-1",
        )
        consent = made.lead.consent
        assert consent.marketing and consent.given_at == T0
        assert (consent.form_id, consent.wording_version) == ("newsletter", "v3")
        assert (consent.ip, consent.user_agent) == ("192.0.2.1", "UA/1")
        assert consent.double_opt_in is double_opt_in and not consent.confirmed
        assert made.double_opt_in is double_opt_in
        assert made.confirm_within == timedelta(days=2)

    def test_no_consent_records_nothing(self) -> None:
        post = FormPost(email="ada@globex.example", consent_wording="v3")
        made = to_submission(
            post,
            "contact",
            FormConfig(),
            "en",
            project().defaults,
            T0,
            Client("192.0.2.1"),
            submission_id="s-1",
        )
        assert made.lead.consent == Consent()

    def test_the_posted_wording_wins_and_a_long_user_agent_is_cut(self) -> None:
        post = FormPost(email="ada@globex.example", consent=True, consent_wording="v4")
        form = FormConfig(consent_wording="v3")
        made = to_submission(
            post,
            "contact",
            form,
            "en",
            project().defaults,
            T0,
            Client(None, "x" * 2000),
            submission_id="s-1",
        )
        assert made.lead.consent.wording_version == "v4"
        assert made.lead.consent.user_agent == "x" * 512

    def test_the_shipped_newsletter_form_asks_for_confirmation(self) -> None:
        newsletter = project().forms["newsletter"]
        assert newsletter.double_opt_in and newsletter.confirm_within == timedelta(days=7)
