"""The lead, the facts we learn about it, and the events it produces.

These models cross every boundary (HTTP, Temporal payloads, the ledger), so they validate
strictly: emails are normalised, text fields refuse control characters, datetimes carry a
time zone, and an error names the field and the rule it broke.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from nurture.domain.fields import FieldValue
from nurture.domain.text import ShortText, reject_control_characters

__all__ = [
    "AcquisitionSource",
    "Consent",
    "ContactDetails",
    "ContentLink",
    "Country",
    "EventType",
    "FormContext",
    "FormSubmitted",
    "Lead",
    "LeadEvent",
    "Locale",
    "NormalisedEmail",
    "PropertyValue",
    "RetryId",
    "Utm",
    "normalise_email",
]


def normalise_email(value: str) -> str:
    """Trim and lower-case an address, so one person always has one spelling of it."""
    return value.strip().lower()


NormalisedEmail = Annotated[
    EmailStr,
    BeforeValidator(lambda v: normalise_email(v) if isinstance(v, str) else v),
    AfterValidator(reject_control_characters),
]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Country = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[A-Z]{2}$"),
]
"""ISO 3166-1 alpha-2 country code, any case on input."""
RetryId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
"""An id a client chooses for a form post or an event, so that a retry counts once."""
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")]
PropertyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
PropertyText = Annotated[
    str, StringConstraints(max_length=2000), AfterValidator(reject_control_characters)
]
PropertyValue = bool | int | float | PropertyText
HttpUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^https?://[^\s]+$"),
    AfterValidator(reject_control_characters),
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AcquisitionSource(StrEnum):
    """How the lead found us (DOMAIN.md)."""

    ORGANIC = "organic"
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    REFERRAL = "referral"


class Utm(BaseModel):
    """Campaign tags carried by the landing page URL."""

    model_config = _FROZEN

    source: ShortText | None = None
    medium: ShortText | None = None
    campaign: ShortText | None = None
    term: ShortText | None = None
    content: ShortText | None = None


class Consent(BaseModel):
    """What the lead agreed to, and the evidence: where, when, to which wording, from
    which address and browser, and for a double opt-in form when it was confirmed."""

    model_config = _FROZEN

    marketing: bool = False
    given_at: AwareDatetime | None = None
    wording_version: ShortText | None = None
    form_id: ShortText | None = None
    ip: ShortText | None = None
    user_agent: Annotated[str, StringConstraints(max_length=512)] | None = None
    double_opt_in: bool = False
    """Given on a double opt-in form: marketing waits for ``confirmed_at``."""
    confirmed_at: AwareDatetime | None = None
    confirmed_ip: ShortText | None = None
    confirmed_user_agent: Annotated[str, StringConstraints(max_length=512)] | None = None

    @property
    def confirmed(self) -> bool:
        """True once the person confirmed from the link mailed to the address."""
        return self.confirmed_at is not None


class ContactDetails(BaseModel):
    """Who a person is, as a form or a CRM tells us; only the email is required."""

    model_config = _FROZEN

    email: NormalisedEmail
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    company: ShortText | None = None
    job_title: ShortText | None = None
    industry: ShortText | None = None
    company_size: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    country: Country | None = None
    timezone: ShortText | None = None
    locale: Locale | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ().-]{4,32}$")] | None = None
    crm_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None


class Lead(ContactDetails):
    """Everything we know about a person: contact details, where they came from, consent."""

    source: AcquisitionSource = AcquisitionSource.INBOUND
    utm: Utm = Utm()
    consent: Consent = Consent()
    custom: dict[str, FieldValue] = {}
    """Its custom fields (``nurture.domain.fields``), checked when they came in."""

    @property
    def full_name(self) -> str | None:
        """First and last name joined, or whichever is known."""
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None

    def merged_with(self, newer: Lead) -> Lead:
        """This lead updated by the fields a newer submission actually filled in."""
        changes = newer.model_dump(exclude_unset=True, exclude_defaults=True)
        update = {k: getattr(newer, k) for k in changes}
        if "custom" in update:  # a field the newer post left out keeps its value
            update["custom"] = {**self.custom, **newer.custom}
        return self.model_copy(update=update)


class LeadEvent(BaseModel):
    """A behavioural fact about a lead (page viewed, email clicked, webinar attended...)."""

    model_config = _FROZEN

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
    type: EventType
    occurred_at: AwareDatetime
    properties: Annotated[dict[PropertyKey, PropertyValue], Field(max_length=50)] = {}


class ContentLink(BaseModel):
    """A piece of content a form promised or an email suggests."""

    model_config = _FROZEN

    title: ShortText
    url: HttpUrl


class FormContext(BaseModel):
    """What a form promised and offers next: given to the sequence a form starts (welcome)."""

    model_config = _FROZEN

    form_id: str
    offer: ContentLink | None = None
    related: tuple[ContentLink, ...] = ()
    second_conversion_delay: timedelta = timedelta(days=2)

    def template_context(self) -> dict[str, Any]:
        """What templates get: ``offer``, ``related``, ``form_id``."""
        return {
            "offer": self.offer.model_dump() if self.offer else None,
            "related": [link.model_dump() for link in self.related],
            "form_id": self.form_id,
        }


class FormSubmitted(BaseModel):
    """A web form post, with what the form promised at the time it was posted."""

    model_config = _FROZEN

    kind: Literal["form_submitted"] = "form_submitted"
    submission_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
    form_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    submitted_at: AwareDatetime
    lead: Lead
    locale: Locale
    event_type: EventType = "form_submitted"
    event_properties: dict[PropertyKey, PropertyValue] = {}
    offer: ContentLink | None = None
    related: tuple[ContentLink, ...] = ()
    second_conversion_delay: timedelta = timedelta(days=2)
    double_opt_in: bool = False
    """The form asks the address to confirm: the submission takes effect on confirmation."""
    confirm_within: timedelta = timedelta(days=7)
    """How long the confirmation link stays valid; an unconfirmed submission then expires."""
    rescore_after: timedelta = timedelta(0)
    """A post of a form the lead's score counted less than this long ago scores nothing
    (it is still activity). Zero, as in posts from before the setting: every post scores."""

    def as_event(self) -> LeadEvent:
        """The behavioural event this submission scores as."""
        props: dict[str, Any] = {**self.event_properties, "form_id": self.form_id}
        return LeadEvent(
            id=f"form:{self.submission_id}",
            type=self.event_type,
            occurred_at=self.submitted_at,
            properties=props,
        )

    def context(self) -> FormContext:
        """The part of this submission the sequence it starts needs."""
        return FormContext(
            form_id=self.form_id,
            offer=self.offer,
            related=self.related,
            second_conversion_delay=self.second_conversion_delay,
        )
