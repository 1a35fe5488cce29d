"""What every email template sees as ``lead``, built by one function whoever sends."""

from __future__ import annotations

from nurture.domain.emails import LEAD_CONTEXT_FIELDS, lead_context
from nurture.domain.lead import journey
from nurture.domain.lead.facts import lead_facts, lead_snapshot
from nurture.domain.lead.mail_plan import send_input
from nurture.domain.lead.state import start_state
from nurture.domain.models import Lead
from tests.helpers import T0, persona_lead, scoring_model, submission


def snapshot_attributes(lead: Lead) -> dict[str, object]:
    """The profile a sequence gets for this lead, as the lead workflow builds it."""
    model = scoring_model()
    state = journey.apply_submission(start_state("L1", model), submission(lead), model, T0)
    return lead_snapshot(state, lead_facts(state, model, T0)).attributes


class TestLeadContext:
    """A template sees the lead's name, company and job title, each None when unknown, and
    its custom fields (none here)."""

    def test_a_known_lead(self) -> None:
        assert lead_context(persona_lead()) == {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "full_name": "Ada Lovelace",
            "company": "Globex",
            "job_title": "Head of Marketing",
            "custom": {},
        }

    def test_nothing_known(self) -> None:
        assert lead_context(None) == {**dict.fromkeys(LEAD_CONTEXT_FIELDS), "custom": {}}

    def test_only_the_address_known(self) -> None:
        assert lead_context(Lead(email="ada@globex.example")) == lead_context(None)

    def test_other_profile_fields_stay_out(self) -> None:
        context = lead_context({"first_name": "Ada", "industry": "software", "email": "a@b.c"})
        assert context == {**dict.fromkeys(LEAD_CONTEXT_FIELDS), "first_name": "Ada", "custom": {}}


class TestOneContextForEverySender:
    """The lead's own emails, its sequences' and sales alerts show the same ``lead``."""

    def test_a_sequence_sees_what_the_lead_sees(self) -> None:
        lead = persona_lead()
        assert lead_context(snapshot_attributes(lead)) == lead_context(lead)

    def test_a_sequence_sees_the_custom_fields(self) -> None:
        lead = persona_lead(custom={"budget": "over 50k"})
        assert lead_context(snapshot_attributes(lead))["custom"] == {"budget": "over 50k"}

    def test_a_sequence_of_a_lead_without_a_name(self) -> None:
        lead = Lead(email="someone@globex.example", company="Globex")
        assert lead_context(snapshot_attributes(lead)) == lead_context(lead)

    def test_the_lead_workflow_sends_it(self) -> None:
        model = scoring_model()
        state = journey.apply_submission(start_state("L1", model), submission(), model, T0)
        sent = send_input(state, state.planned[0])
        assert sent.context["lead"] == lead_context(persona_lead())
