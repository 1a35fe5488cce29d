"""Imported leads in their workflow (time-skipping server): created without a thank-you,
held out of sequences, the same row again is nothing; a later form is a form."""

from __future__ import annotations

from datetime import timedelta

from nurture.domain.lead.imports import ImportedLead
from nurture.domain.lifecycle import Condition, Stage
from nurture.domain.models import Consent
from tests.helpers import persona_lead, submission
from tests.waiting import sent, view_when


def imported(key: str, stage: Stage | None = None, **changes: object) -> ImportedLead:
    return ImportedLead(key=key, batch="fair", lead=persona_lead(**changes), stage=stage)


async def test_an_imported_customer_gets_no_mail_and_stays_a_customer(harness) -> None:
    async with harness() as h:
        await h.gateway.import_lead("imp-1", imported("row-a", Stage.CUSTOMER, industry="SaaS"))
        view = await view_when(h, "imp-1", lambda v: v.stage == Stage.CUSTOMER)
        assert set(view.conditions) == {Condition.NO_CONSENT, Condition.HELD}
        assert view.person is not None and view.person.first_name == "Ada"
        # Customers have onboarding and upsell rules: held, the lead enters neither.
        await h.skip(timedelta(days=3))
        view = await h.gateway.get_lead("imp-1")
        assert view.enrolments == () and h.mailer.sent == []
        assert view.stage == Stage.CUSTOMER


async def test_the_same_row_twice_changes_nothing_and_a_form_is_a_form(harness) -> None:
    async with harness() as h:
        await h.gateway.import_lead("imp-2", imported("row-b"))
        first = await view_when(h, "imp-2", lambda v: Condition.HELD in v.conditions)
        await h.gateway.import_lead("imp-2", imported("row-b"))
        await h.quiet()
        again = await h.gateway.get_lead("imp-2")
        assert again.model_dump(exclude={"updated_at"}) == first.model_dump(exclude={"updated_at"})
        consenting = persona_lead(consent=Consent(marketing=True, given_at=await h.now()))
        await h.gateway.submit_form("imp-2", submission(consenting, at=await h.now()))
        view = await view_when(h, "imp-2", lambda v: sent(v, "thank_you"))
        assert view.conditions == ()
        assert h.templates() == ["thank_you"]
