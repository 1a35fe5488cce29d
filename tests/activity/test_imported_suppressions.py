"""An imported suppression list stops mail exactly as an unsubscribe or a bounce does: the
send activity refuses the address at the moment of sending, whenever its lead appeared."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from nurture.adapters.ledger import SqliteLedger
from nurture.domain.emails import SUPPRESSED, EmailKind, SendEmailInput
from nurture.services.suppression_import import import_suppressions
from tests.helpers import SECRET, email_activities, thank_you_input

LIST = (
    b"Email,Status\n"
    b"ADA@globex.example,Unsubscribed\n"
    b"bob@globex.example,Hard bounce\n"
    b"carol@globex.example,spam complaint\n"
)


async def pieces(data: bytes) -> AsyncIterator[bytes]:
    yield data


def mail(to: str, kind: EmailKind, n: int = 1) -> SendEmailInput:
    """A later form's thank-you (transactional) or a sequence's email (marketing) to ``to``."""
    template = "thank_you" if kind is EmailKind.TRANSACTIONAL else "about_your_needs"
    return thank_you_input(key=f"L-{to}/{template}/{n}", to_email=to, template=template, kind=kind)


class TestImportedSuppressions:
    """Imported addresses get no marketing mail; bounced ones get no mail at all."""

    @pytest.fixture
    async def ledger(self, tmp_path) -> AsyncIterator[SqliteLedger]:
        ledger = SqliteLedger(tmp_path / "l.db")
        summary = await import_suppressions(pieces(LIST), ledger, SECRET, datetime.now(UTC))
        assert summary.imported == 3
        yield ledger
        await ledger.close()

    @pytest.mark.parametrize(
        "to", ["ada@globex.example", "bob@globex.example", "carol@globex.example"]
    )
    async def test_no_marketing_mail(self, ledger, smtp, mailer_for, to) -> None:
        acts = email_activities(mailer_for(smtp.port), ledger)
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(acts.send_email, mail(to, EmailKind.MARKETING))
        assert info.value.type == SUPPRESSED and info.value.non_retryable
        assert smtp.attempts == 0

    async def test_a_bounced_address_gets_not_even_a_later_thank_you(
        self, ledger, smtp, mailer_for
    ) -> None:
        acts = email_activities(mailer_for(smtp.port), ledger)
        later_form = mail("bob@globex.example", EmailKind.TRANSACTIONAL)
        with pytest.raises(ApplicationError, match="hard_bounce"):
            await ActivityEnvironment().run(acts.send_email, later_form)
        assert smtp.attempts == 0

    @pytest.mark.parametrize("to", ["ada@globex.example", "carol@globex.example"])
    async def test_an_unsubscribed_or_complaining_person_still_gets_what_they_ask(
        self, ledger, smtp, mailer_for, to
    ) -> None:
        """Today's rule for unsubscribes and complaints: transactional mail still goes."""
        acts = email_activities(mailer_for(smtp.port), ledger)
        result = await ActivityEnvironment().run(acts.send_email, mail(to, EmailKind.TRANSACTIONAL))
        assert result.status == "sent" and len(smtp.messages) == 1

    async def test_an_address_not_on_the_list_is_mailed(self, ledger, smtp, mailer_for) -> None:
        acts = email_activities(mailer_for(smtp.port), ledger)
        await ActivityEnvironment().run(
            acts.send_email, mail("dan@globex.example", EmailKind.MARKETING)
        )
        assert len(smtp.messages) == 1
