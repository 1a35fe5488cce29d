"""Turning what a web form posts into a validated ``FormSubmitted``, or clear field errors.

HTML forms send every field as a string and empty fields as ``""``; both are normalised
here so a plain ``<form method="post">`` works as well as a JSON client.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict

from nurture.adapters.mail.message import mailbox
from nurture.config.project import Defaults, FormConfig
from nurture.domain.fields import FieldValue
from nurture.domain.models import Consent, ContactDetails, FormSubmitted, Lead, RetryId, Utm
from nurture.domain.text import ShortText

__all__ = [
    "Client",
    "FormPost",
    "address_problem",
    "blank_to_none",
    "browser_locale",
    "choose_locale",
    "to_submission",
]


def _known_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Europe/Paris"
        ) from exc
    return value


class FormPost(ContactDetails):
    """The fields a form may post; unknown fields (a submit button, say) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=False, str_strip_whitespace=True)

    timezone: Annotated[str, AfterValidator(_known_zone)] | None = None
    utm_source: ShortText | None = None
    utm_medium: ShortText | None = None
    utm_campaign: ShortText | None = None
    utm_term: ShortText | None = None
    utm_content: ShortText | None = None
    consent: bool = False
    consent_wording: ShortText | None = None
    submission_id: RetryId | None = None
    """Send the same id on a retry and the retry changes nothing (without one, the API
    makes one up and returns it, so the client can retry with it)."""


def address_problem(email: str, smtputf8: bool) -> str | None:
    """Why nurture cannot mail ``email``, or ``None``: a part before the @ that is not
    ASCII needs a relay with SMTPUTF8 (``SMTP_SMTPUTF8``). International domains are fine:
    they are sent in their ASCII form (the rule of
    :func:`~nurture.adapters.mail.message.mailbox`)."""
    if smtputf8 or not mailbox(email)[1]:
        return None
    return (
        "the part before the @ has accented or non-Latin characters, which this service "
        "cannot send email to; use another address"
    )


def blank_to_none(data: dict[str, Any]) -> dict[str, Any]:
    """Drop the empty strings HTML forms send for fields left blank."""
    return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


def choose_locale(
    posted: str | None,
    form: FormConfig,
    accept_language: str | None,
    available: list[str],
    defaults: Defaults,
) -> str:
    """The form field, else the form's own locale, else the browser's, else the default."""
    if posted:
        return posted
    if form.locale:
        return form.locale
    return browser_locale(accept_language, available) or defaults.locale


def browser_locale(accept_language: str | None, available: Iterable[str]) -> str | None:
    """The first of the browser's languages (``Accept-Language``, by preference) that is
    ``available``, a region falling back to its language (``fr-CA`` to ``fr``)."""
    offered = set(available)
    for tag in _accepted_tags(accept_language or ""):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in offered:
                return candidate
    return None


def _accepted_tags(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            lang, _, region = tag.partition("-")
            normal = f"{lang.lower()}-{region.upper()}" if region else lang.lower()
            ranked.append((-quality, index, normal))
    return [tag for _, _, tag in sorted(ranked)]


@dataclass(frozen=True)
class Client:
    """Who posted: the evidence recorded with a consent."""

    ip: str | None = None
    user_agent: str | None = None


def to_submission(
    post: FormPost,
    form_id: str,
    form: FormConfig,
    locale: str,
    defaults: Defaults,
    now: datetime,
    client: Client = Client(),
    *,
    submission_id: str,
    custom: Mapping[str, FieldValue] | None = None,
) -> FormSubmitted:
    """The signal payload: the lead, and what the form promised, as configured right now,
    under ``submission_id`` (the post's own, or the one the API made up and answers with).

    A consent (the box ticked, or a double opt-in form, which is itself a request for our
    mail) is recorded with the form, the time, the wording's version and the client."""
    consented = post.consent or form.double_opt_in
    lead = Lead(
        **post.model_dump(include=set(ContactDetails.model_fields) - {"locale"}, exclude_none=True),
        locale=locale,
        source=form.source,
        custom=dict(custom or {}),
        utm=Utm(
            source=post.utm_source,
            medium=post.utm_medium,
            campaign=post.utm_campaign,
            term=post.utm_term,
            content=post.utm_content,
        ),
        consent=Consent(
            marketing=True,
            given_at=now,
            wording_version=post.consent_wording or form.consent_wording,
            form_id=form_id,
            ip=client.ip,
            user_agent=(client.user_agent or "")[:512] or None,
            double_opt_in=form.double_opt_in,
        )
        if consented
        else Consent(),
    )
    return FormSubmitted(
        submission_id=submission_id,
        form_id=form_id,
        submitted_at=now,
        lead=lead,
        locale=locale,
        event_type=form.event,
        event_properties=form.properties,
        offer=form.offer,
        related=form.related,
        second_conversion_delay=form.second_conversion_delay or defaults.second_conversion_delay,
        double_opt_in=form.double_opt_in,
        confirm_within=form.confirm_within or defaults.confirm_within,
        rescore_after=defaults.rescore_after if form.rescore_after is None else form.rescore_after,
    )
