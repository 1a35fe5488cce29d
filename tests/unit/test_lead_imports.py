"""An imported lead: no thank-you, the file's consent and stage, held from sequences until
it acts; and the same row again changes nothing."""

from __future__ import annotations

from datetime import timedelta

from nurture.domain.emails import EmailKind
from nurture.domain.factlog import facts_of_state
from nurture.domain.lead import journey
from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lead.journey import ApplyContext
from nurture.domain.lead.mail_plan import why_not_send
from nurture.domain.lead.messages import EventReceived, FormPosted, LeadImported
from nurture.domain.lead.state import LeadState, PlannedEmail, start_state
from nurture.domain.lead.view import lead_view
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent, Lead
from tests.helpers import T0, event, persona_lead, scoring_model, submission

MODEL = scoring_model()
CONTEXT = ApplyContext(model=MODEL, now=T0)


def row(
    key: str = "row-1",
    *,
    consent: str = "unknown",
    stage: Stage | None = None,
    enrol: bool = False,
    **profile: object,
) -> LeadImported:
    given = Consent(marketing=True, given_at=T0 - timedelta(days=300), form_id="import:fair")
    lead = Lead.model_validate(
        {
            "email": "ada@acme.example",
            **profile,
            **({"consent": given} if consent == "given" else {}),
        }
    )
    imported = ImportedLead(
        key=key,
        batch="fair",
        lead=lead,
        consent=consent,
        stage=stage,
        enrol=enrol,  # type: ignore[arg-type]
    )
    return LeadImported(row=imported)


def apply(state: LeadState, message: object) -> LeadState:
    return journey.apply(state, message, CONTEXT).state  # type: ignore[arg-type]


def fresh() -> LeadState:
    return start_state("L1", MODEL)


def marketing(state: LeadState) -> str | None:
    email = PlannedEmail(key="k", template="t", kind=EmailKind.MARKETING, due_at=T0)
    return why_not_send(state, email)


class TestNewLead:
    def test_no_thank_you_no_form_and_the_import_as_origin(self) -> None:
        state = apply(fresh(), row(first_name="Ada", company="Acme"))
        assert state.lead is not None and state.lead.first_name == "Ada"
        assert state.planned == () and state.starts == () and state.forms == ()
        assert state.origin is not None and state.origin.form == "import:fair"
        assert state.created_at == T0
        created = [f for f in facts_of_state(state) if f.kind == "lead_created"]
        assert [f.get("form") for f in created] == ["import:fair"]
        view = lead_view(state, MODEL, T0)
        assert (view.imported_from, view.forms) == ("fair", ())

    def test_unknown_consent_means_no_marketing_mail(self) -> None:
        state = apply(fresh(), row())
        assert Condition.NO_CONSENT in state.conditions
        assert marketing(state) == "the lead was imported without marketing consent"

    def test_given_consent_lets_marketing_go_once_the_lead_acts(self) -> None:
        state = apply(fresh(), row(consent="given", enrol=True))
        assert state.conditions == ()
        assert marketing(state) is None
        assert state.consents and state.consents[-1].form_id == "import:fair"

    def test_without_enrolment_the_lead_is_held_until_it_acts(self) -> None:
        state = apply(fresh(), row(consent="given"))
        assert state.conditions == (Condition.HELD,)
        state = apply(state, EventReceived(event=event("page_viewed")))
        assert state.conditions == ()

    def test_the_files_stage_is_taken(self) -> None:
        state = apply(fresh(), row(stage=Stage.CUSTOMER))
        assert state.stage is Stage.CUSTOMER
        moves = [f for f in facts_of_state(state) if f.kind == "stage_changed"]
        assert [(f.get("from_stage"), f.get("to_stage"), f.get("reason")) for f in moves] == [
            ("new", "customer", "import")
        ]

    def test_the_same_row_again_changes_nothing(self) -> None:
        once = apply(fresh(), row(stage=Stage.MQL, first_name="Ada"))
        assert once.has_seen("import:row-1")
        again = journey.apply(once, row(stage=Stage.MQL, first_name="Ada"), CONTEXT)
        # The workflow skips a seen id; applied anyway, nothing moves either.
        assert again.state.transitions == once.transitions
        assert again.state.lead == once.lead and again.state.stage == once.stage


class TestKnownLead:
    def known(self) -> LeadState:
        lead = persona_lead().model_copy(update={"consent": Consent(marketing=True, given_at=T0)})
        state = apply(fresh(), FormPosted(form=submission(lead)))
        return state.model_copy(update={"planned": ()})

    def test_keeps_its_stage_unless_the_file_says_customer(self) -> None:
        state = self.known()
        stage = state.stage
        assert apply(state, row(stage=Stage.NEW, email=state.lead.email)).stage == stage  # type: ignore[union-attr]
        became = apply(state, row("row-2", stage=Stage.CUSTOMER, email=state.lead.email))  # type: ignore[union-attr]
        assert became.stage is Stage.CUSTOMER

    def test_a_file_never_takes_consent_back_nor_holds_a_known_lead(self) -> None:
        state = self.known()
        after = apply(state, row(consent="refused", email=state.lead.email, job_title="CTO"))  # type: ignore[union-attr]
        assert after.lead is not None and after.lead.consent.marketing
        assert after.lead.job_title == "CTO"
        assert after.conditions == state.conditions
        assert after.planned == ()  # no thank-you either

    def test_a_form_later_lifts_the_imports_limits(self) -> None:
        state = apply(fresh(), row())
        assert set(state.conditions) == {Condition.NO_CONSENT, Condition.HELD}
        consenting = persona_lead().model_copy(
            update={"email": "ada@acme.example", "consent": Consent(marketing=True, given_at=T0)}
        )
        state = apply(state, FormPosted(form=submission(consenting)))
        assert state.conditions == ()
        assert [p.template for p in state.planned] == ["thank_you"]

    def test_a_form_without_consent_lifts_the_hold_only(self) -> None:
        state = apply(fresh(), row())
        plain = persona_lead().model_copy(
            update={"email": "ada@acme.example", "consent": Consent()}
        )
        state = apply(state, FormPosted(form=submission(plain)))
        assert state.conditions == (Condition.NO_CONSENT,)
