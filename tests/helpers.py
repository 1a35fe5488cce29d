"""Shared test data: the project's own config files and a few ready-made leads."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from activities import EmailActivities
from nurture.adapters.ledger import SendLedger
from nurture.adapters.links.links import Links
from nurture.adapters.links.tokens import TokenSigner
from nurture.adapters.mail.dkim import DkimSigner
from nurture.adapters.mail.message import Outgoing
from nurture.adapters.mail.rendering import TemplateRenderer
from nurture.adapters.mail.smtp import Mailer, Transfer
from nurture.config.files import load_project_config, load_sales_team, load_scoring_model
from nurture.config.project import ProjectConfig
from nurture.domain.config import ConfigSnapshot
from nurture.domain.emails import EmailKind, SendEmailInput
from nurture.domain.lead.messages import EventReceived
from nurture.domain.models import Consent, ContentLink, FormSubmitted, Lead, LeadEvent
from nurture.domain.scoring import ScoringModel
from nurture.testing import MemoryLeadGateway, RecordingMailer

ROOT = Path(__file__).resolve().parents[1]
SCORING_FILE = ROOT / "config" / "scoring.toml"
SALES_FILE = ROOT / "config" / "sales.toml"
PROJECT_FILE = ROOT / "config" / "nurture.toml"
TEMPLATES = ROOT / "templates" / "emails"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = b"test-deployment-secret"
PUBLIC_URL = "https://nurture.example"
_ids = itertools.count(1)
SQL_BY_SCORE = (
    *("support_contacted",) * 3,
    *("webinar_replay_watched",) * 3,
    *("webinar_registered",) * 3,
    *("demo_accepted",) * 2,
)
"""Behaviour worth 44 points within the shipped caps, none of it a hand-raise: after the
persona's white paper form (8 points) the lead is an SQL (50) by score alone."""


def scoring_model() -> ScoringModel:
    return load_scoring_model(SCORING_FILE)


def project() -> ProjectConfig:
    return load_project_config(PROJECT_FILE)


def config_snapshot() -> ConfigSnapshot:
    """The shipped configuration files as one snapshot."""
    shipped = project()
    return ConfigSnapshot(
        scoring=scoring_model(),
        enrolment=tuple(shipped.enrolment),
        sending=shipped.sending,
        sales=load_sales_team(SALES_FILE),
    )


def links() -> Links:
    """The signed links of the test deployment."""
    return Links(TokenSigner(SECRET), PUBLIC_URL, "unsubscribe@example.com")


def email_activities(
    mailer: Mailer, ledger: SendLedger, dkim: DkimSigner | None = None, answer_timeout: float = 30
) -> EmailActivities:
    """The send activity over the shipped templates and brand, with the test secret."""
    return EmailActivities(
        TemplateRenderer(TEMPLATES),
        mailer,
        ledger,
        project().brand,
        links(),
        SECRET,
        project().tracking,
        dkim,
        answer_timeout,
    )


def persona_lead(email: str = "ada@globex.example", **changes: object) -> Lead:
    """A lead matching the shipped buyer persona (+4 fit)."""
    fields: dict[str, object] = {
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Globex",
        "job_title": "Head of Marketing",
        "company_size": 120,
        **changes,
    }
    return Lead.model_validate(fields)


def event(kind: str, *, at: datetime = T0, **properties: object) -> LeadEvent:
    """A behavioural event with a fresh id."""
    return LeadEvent.model_validate(
        {"id": f"ev-{next(_ids)}", "type": kind, "occurred_at": at, "properties": properties}
    )


def told_events(gateway: MemoryLeadGateway) -> list[tuple[str, LeadEvent]]:
    """The events a memory gateway handed to leads, with the lead each went to."""
    return [(lead_id, message.event) for lead_id, message in gateway.received(EventReceived)]


def submission(
    lead: Lead | None = None,
    *,
    submission_id: str = "sub-1",
    form_id: str = "white-paper",
    at: datetime = T0,
    locale: str = "en",
    delay: timedelta = timedelta(days=2),
    rescore_after: timedelta = timedelta(days=30),
) -> FormSubmitted:
    """A post of the white paper form, as the API builds it with the shipped defaults."""
    return FormSubmitted(
        submission_id=submission_id,
        form_id=form_id,
        submitted_at=at,
        lead=lead or persona_lead(),
        locale=locale,
        event_type="content_downloaded",
        event_properties={"content": "buying-guide"},
        offer=ContentLink(title="The buying guide", url="https://example.com/guide.pdf"),
        related=(ContentLink(title="Webinar", url="https://example.com/webinar"),),
        second_conversion_delay=delay,
        rescore_after=rescore_after,
    )


def doi_submission(
    submission_id: str = "doi-1",
    *,
    form_id: str = "newsletter",
    at: datetime = T0,
    lead: Lead | None = None,
) -> FormSubmitted:
    """A double opt-in post, its consent captured as the API records it."""
    consent = Consent(
        marketing=True,
        given_at=at,
        wording_version="newsletter-2026-01",
        form_id=form_id,
        ip="203.0.113.7",
        user_agent="Firefox",
        double_opt_in=True,
    )
    form = submission(
        (lead or persona_lead()).model_copy(update={"consent": consent}),
        submission_id=submission_id,
        form_id=form_id,
        at=at,
    )
    return form.model_copy(update={"double_opt_in": True, "confirm_within": timedelta(days=7)})


def thank_you_input(key: str = "L1/form-x/thank_you/1", **changes: object) -> SendEmailInput:
    """What a lead's workflow hands the send activity for a thank-you (French, a comma in
    the display name)."""
    fields: dict[str, object] = {
        "key": key,
        "lead_id": "L1",
        "to_email": "ada@globex.example",
        "to_name": "Lovelace, Ada",
        "locale": "fr",
        "template": "thank_you",
        "kind": EmailKind.TRANSACTIONAL,
        "context": {
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"},
            "offer": {"title": "Guide", "url": "https://example.com/g.pdf"},
            "related": [],
        },
        **changes,
    }
    return SendEmailInput.model_validate(fields)


class GatedMailer(RecordingMailer):
    """A recording mailer whose transfers wait while ``gate`` is set and not yet open, so a
    scenario can post while a send is in flight (a signal arriving mid-pass)."""

    gate: asyncio.Event | None = None
    waiting: int = 0

    @asynccontextmanager
    async def transfer(self, message: Outgoing) -> AsyncIterator[Transfer]:
        if self.gate is not None:
            self.waiting += 1
            await self.gate.wait()
        async with super().transfer(message) as transfer:
            yield transfer
