"""Project configuration (``config/nurture.toml``): the brand that signs emails and the forms.

A form maps its id to what it promised (content title and link), the event it scores as,
the acquisition source, an optional locale and the content to suggest next.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from nurture.domain.fields import CustomField, FieldName
from nurture.domain.models import (
    AcquisitionSource,
    ContactDetails,
    ContentLink,
    EventType,
    Locale,
    PropertyValue,
)
from nurture.domain.reports.costs import Costs
from nurture.domain.schedule import Duration
from nurture.domain.sequences.models import SendingPolicy
from nurture.domain.sequences.rules import EnrolmentRule
from nurture.domain.text import ShortText
from nurture.domain.tracking import TrackingPolicy
from nurture.domain.webhooks import WebhookSubscription

__all__ = ["RENDERED_FIELD", "RESERVED_FIELDS", "Brand", "FormConfig", "ProjectConfig"]

_STRICT = ConfigDict(extra="forbid", frozen=True)

RENDERED_FIELD = "nurture_rendered"
"""The field carrying a form's signed rendered-at token (``min_fill_seconds``)."""
RESERVED_FIELDS = frozenset(
    {
        *ContactDetails.model_fields,
        *(f"utm_{part}" for part in ("source", "medium", "campaign", "term", "content")),
        "timezone",
        "consent",
        "consent_wording",
        "submission_id",
        RENDERED_FIELD,
        "custom",
    }
)
"""The names a form post reads (``nurture.services.intake.FormPost``): no honeypot's."""


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL (https://example.com/thanks)")
    return value


def _honeypot_name(value: str) -> str:
    if value in RESERVED_FIELDS:
        raise ValueError(f"{value!r} is a field forms post: a person would fill it")
    return value


class Brand(BaseModel):
    """Who the emails come from, and where to follow them."""

    model_config = _STRICT

    company: str
    website: str
    from_email: str
    from_name: str
    reply_to: str | None = None
    social: tuple[ContentLink, ...] = ()


class Defaults(BaseModel):
    """Fallbacks for forms that do not say."""

    model_config = _STRICT

    locale: Locale = "en"
    second_conversion_delay: Duration = timedelta(days=2)
    confirm_within: Duration = timedelta(days=7)
    """How long a double opt-in confirmation link is valid; unconfirmed leads then expire."""
    rescore_after: Duration = timedelta(days=30)
    """A form the lead posts again sooner than this after it last scored scores nothing:
    re-posting a form must not inflate the score (it still counts as activity)."""
    unknown_fields: Literal["ignore", "refuse"] = "ignore"
    """A posted field that is neither a contact detail nor a declared custom field (a
    submit button's name, say): ignored, or refused with a 422 naming it."""


class FormConfig(BaseModel):
    """One web form: what it promises and how its submissions count."""

    model_config = _STRICT

    event: EventType = "form_submitted"
    properties: dict[str, PropertyValue] = {}
    source: AcquisitionSource = AcquisitionSource.INBOUND
    locale: Locale | None = None
    offer: ContentLink | None = None
    related: tuple[ContentLink, ...] = ()
    second_conversion_delay: Duration | None = None
    double_opt_in: bool = False
    """Double opt-in: the address must confirm from a mailed link before anything else is
    sent or counted; a submission left unconfirmed expires after ``confirm_within``."""
    confirm_within: Duration | None = None
    rescore_after: Duration | None = None
    """Overrides ``defaults.rescore_after`` for this form."""
    consent_wording: ShortText | None = None
    """The version of the consent wording this form shows, recorded with each consent
    (a post's ``consent_wording`` field overrides it)."""
    signed: bool = False
    """Take only posts signed with ``NURTURE_FORM_WEBHOOK_SECRET`` (a form builder's or a
    backend's webhook), never a browser's."""
    thank_you_url: Annotated[str, AfterValidator(_absolute_http_url)] | None = None
    """Where a browser goes after a good post (``303``); else nurture's own thank-you page."""
    honeypot: (
        Annotated[
            str,
            Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"),
            AfterValidator(_honeypot_name),
        ]
        | None
    ) = None
    """A field the page hides from people: a post that fills it is a bot's, answered as a
    success but dropped."""
    min_fill_seconds: Annotated[int, Field(ge=1, le=3600)] | None = None
    """A post sooner than this after the form was shown (its signed ``nurture_rendered``
    field) is a bot's, answered as a success but dropped."""


class ProjectConfig(BaseModel):
    """The whole of ``nurture.toml``."""

    model_config = _STRICT

    brand: Brand
    defaults: Defaults = Defaults()
    sending: SendingPolicy = SendingPolicy()
    enrolment: tuple[EnrolmentRule, ...] = ()
    """Which sequence a lead enters and when (``[[enrolment]]`` tables)."""
    forms: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")], FormConfig] = {}
    tracking: TrackingPolicy = TrackingPolicy()
    """Open pixel and click redirects in marketing email (``[tracking]``)."""
    events: tuple[EventType, ...] = ()
    """Event types ``POST /v1/events`` accepts besides those the scoring rules, the forms,
    tracking and sales name (see :mod:`nurture.domain.vocabulary`)."""
    costs: Costs = Costs()
    """What acquiring leads cost, per source and month (``[costs]``), for the cost report."""
    fields: dict[FieldName, CustomField] = {}
    """Custom fields (``[fields.<name>]``): what forms, imports and the API may add to a
    lead beyond the contact details, each with its type and limits."""
    webhooks: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")], WebhookSubscription
    ] = {}
    """Outbound webhooks (``[webhooks.<name>]``): the lead events posted to a CRM, signed."""

    @model_validator(mode="after")
    def _field_names_free(self) -> ProjectConfig:
        taken = RESERVED_FIELDS | {f.honeypot for f in self.forms.values()}
        clash = sorted(set(self.fields) & taken)
        if clash:
            raise ValueError(
                f"custom field {clash[0]!r} is already a field forms post (or a honeypot)"
            )
        return self
