"""Reading a lead export (CSV) row by row: which column says what, and what each row means.

Columns are found by their header, spelt as the usual exports spell them (Mautic's
``firstname``, HubSpot's ``First Name``, nurture's own ``first_name``: case, spaces and
punctuation do not matter), or named with ``--map role=Header``. A preset (``mautic``,
``hubspot``) adds that tool's names for the columns it spells its own way (HubSpot's
``Lifecycle Stage``, ``Original Source``, ``Marketing contact status``).

A row gives an :class:`~nurture.domain.lead.imports.ImportedLead`, or every problem it has
(row, column, problem): a bad address, an unknown stage, a custom field's choice or date
that does not parse... A problem never stops the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError

from nurture.domain.fields import CustomField, FieldProblem, parse_value
from nurture.domain.lead.imports import ConsentStatus, ImportedLead
from nurture.domain.lifecycle import Stage
from nurture.domain.models import AcquisitionSource, Consent, Lead
from nurture.services.suppression_csv import BadFile, Problem

__all__ = [
    "PRESETS",
    "ROLES",
    "LeadRows",
    "RowProblems",
]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_COMMON: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "e-mail", "mail"),
    "first_name": ("firstname", "givenname", "prenom"),
    "last_name": ("lastname", "surname", "familyname", "nom"),
    "company": ("company", "companyname", "organization", "organisation", "account"),
    "job_title": ("jobtitle", "title", "position", "role"),
    "industry": ("industry", "sector"),
    "company_size": ("companysize", "employees", "numberofemployees", "headcount"),
    "country": ("country", "countrycode"),
    "phone": ("phone", "phonenumber", "telephone"),
    "locale": ("locale", "language", "preferredlanguage"),
    "timezone": ("timezone", "tz"),
    "source": ("source", "leadsource", "acquisitionsource"),
    "consent": ("consent", "marketingconsent", "optin", "emailoptin", "gdprconsent"),
    "consent_date": ("consentdate", "consentgivenat", "optindate", "consentedat"),
    "stage": ("stage", "lifecyclestage", "leadstage"),
    "utm_source": ("utmsource",),
    "utm_medium": ("utmmedium",),
    "utm_campaign": ("utmcampaign",),
}
ROLES: tuple[str, ...] = (*_COMMON, "crm_id")
"""Every column role ``--map`` knows (besides the custom fields, by their names)."""

PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    # Mautic's contact export: firstname, lastname, email, company, position, country,
    # phone, mobile, stage, points, preferred_locale, timezone, doNotEmail (true, 1, on or
    # yes: the person must not be emailed)...
    "mautic": {
        "phone": ("mobile",),
        "locale": ("preferredlocale",),
        "consent": ("donotemail", "donotcontact", "dnc"),
    },
    # HubSpot's contact export: First Name, Last Name, Email, Company Name, Job Title,
    # Country/Region, Phone Number, Lifecycle Stage, Original Source, Marketing contact
    # status, Number of Employees, Industry, Record ID...
    "hubspot": {
        "country": ("countryregion",),
        "source": ("originalsource", "originalsourcetype"),
        "consent": ("marketingcontactstatus",),
        "company_size": ("numberofemployees",),
        "locale": ("preferredlanguage",),
    },
}

_STAGES: dict[str, Stage] = {
    **dict.fromkeys(("new", "subscriber", "lead", "contact", "other"), Stage.NEW),
    **dict.fromkeys(("mql", "marketingqualifiedlead", "marketingqualified"), Stage.MQL),
    **dict.fromkeys(("sql", "salesqualifiedlead", "salesqualified"), Stage.SQL),
    **dict.fromkeys(("opportunity", "deal"), Stage.OPPORTUNITY),
    **dict.fromkeys(("customer", "evangelist", "client"), Stage.CUSTOMER),
    "recycled": Stage.RECYCLED,
    **dict.fromkeys(("disqualified", "unqualified"), Stage.DISQUALIFIED),
}
_SOURCES: dict[str, str] = {
    **dict.fromkeys(("organic", "organicsearch", "seo", "directtraffic", "direct"), "organic"),
    **dict.fromkeys(
        (
            "inbound",
            "emailmarketing",
            "socialmedia",
            "organicsocial",
            "paidsearch",
            "paidsocial",
            "othercampaigns",
            "web",
            "website",
            "form",
        ),
        "inbound",
    ),
    **dict.fromkeys(
        ("outbound", "offline", "offlinesources", "event", "tradeshow", "coldcall", "import"),
        "outbound",
    ),
    **dict.fromkeys(("referral", "referrals", "partner"), "referral"),
}
_CONSENTS: dict[str, ConsentStatus] = {
    **dict.fromkeys(
        ("yes", "y", "true", "1", "on", "given", "granted", "optedin", "optin", "subscribed"),
        "given",
    ),
    **dict.fromkeys(("marketingcontact", "marketing", "consented"), "given"),
    **dict.fromkeys(
        ("no", "n", "false", "0", "off", "refused", "denied", "optedout", "unsubscribed"),
        "refused",
    ),
    **dict.fromkeys(("nonmarketing", "nonmarketingcontact", "donotcontact"), "refused"),
    **dict.fromkeys(("unknown", "", "notset", "none"), "unknown"),
}
# Mautic's do-not-contact flag says the opposite of consent.
_NEGATED = frozenset({"donotemail", "donotcontact", "dnc"})


@dataclass(frozen=True)
class RowProblems:
    """Every problem of one row (the row is skipped)."""

    row: int
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    negated: bool = False


class LeadRows:
    """Good rows and problems from the records of one file; the first record is the header."""

    def __init__(
        self,
        fields: Mapping[str, CustomField],
        batch: str,
        *,
        mapping: Mapping[str, str] | None = None,
        preset: str | None = None,
        source: AcquisitionSource | None = None,
        enrol: bool = False,
        default_locale: str = "en",
        locales: tuple[str, ...] = (),
    ) -> None:
        self._fields = dict(fields)
        self._batch = batch
        self._mapping = {role: _key(header) for role, header in (mapping or {}).items()}
        unknown = sorted(set(self._mapping) - set(ROLES) - set(self._fields))
        if unknown:
            known = ", ".join([*ROLES, *self._fields])
            raise BadFile(f"--map {unknown[0]}: no such column role; use one of {known}")
        if preset is not None and preset not in PRESETS:
            raise BadFile(f"unknown preset {preset!r}: use {', '.join(PRESETS)}")
        self._names = {role: set(names) for role, names in _COMMON.items()}
        for role, names in PRESETS.get(preset or "", {}).items():
            self._names[role] |= set(names)
        for name in self._fields:
            self._names[name] = {_key(name)}
        self._source = source
        self._enrol = enrol
        self._locale = default_locale
        self._locales = frozenset(locales or (default_locale,))
        self._columns: dict[str, _Column] | None = None

    @property
    def batch(self) -> str:
        """The import's name."""
        return self._batch

    @property
    def has_header(self) -> bool:
        """Whether the header was read (a file without it is empty)."""
        return self._columns is not None

    @property
    def columns(self) -> dict[str, str]:
        """Which header each role was read from (for the report)."""
        return {role: c.header for role, c in (self._columns or {}).items()}

    def read(self, row: int, cells: list[str] | Problem) -> ImportedLead | RowProblems | None:
        """The meaning of one record (``None`` for the header)."""
        if isinstance(cells, Problem):
            if self._columns is None:
                raise BadFile(f"row {row}: {cells.problem}")
            return RowProblems(row, (cells,))
        if self._columns is None:
            self._columns = self._find_columns(cells)
            return None
        return self._row(row, cells, self._columns)

    def _find_columns(self, header: list[str]) -> dict[str, _Column]:
        keys = [_key(h) for h in header]
        found: dict[str, _Column] = {}
        for role, wanted in self._mapping.items():
            if wanted not in keys:
                raise BadFile(f"--map {role}: no column of that name in ({', '.join(header)})")
            found[role] = _Column(keys.index(wanted), header[keys.index(wanted)])
        taken = {c.index for c in found.values()}
        for role, names in self._names.items():
            if role in found:
                continue
            at = next((i for i, k in enumerate(keys) if k in names and i not in taken), None)
            if at is not None:
                found[role] = _Column(at, header[at], negated=keys[at] in _NEGATED)
                taken.add(at)
        if "email" not in found:
            raise BadFile(
                f"no address column in the header ({', '.join(header)}): name it email, "
                "or pass --map email=COLUMN"
            )
        return found

    def _row(
        self, row: int, cells: list[str], columns: dict[str, _Column]
    ) -> ImportedLead | RowProblems:
        said = {
            role: cells[c.index].strip() if c.index < len(cells) else ""
            for role, c in columns.items()
        }
        problems: list[Problem] = []

        def problem(role: str, text: str) -> None:
            problems.append(Problem(row, columns[role].header, text))

        if any("\ufffd" in value for value in said.values()):
            bad = next(r for r, v in said.items() if "\ufffd" in v)
            problem(bad, "bytes that are not UTF-8: save the file as UTF-8")
            return RowProblems(row, tuple(problems))
        profile: dict[str, Any] = {
            role: said[role] for role in ContactRoles if said.get(role) and role in columns
        }
        if not said.get("email"):
            problem("email", "no address")
        if "company_size" in profile:
            size = _integer(profile["company_size"])
            if size is None:
                problem("company_size", f"not a whole number: {profile.pop('company_size')!r}")
            else:
                profile["company_size"] = size
        if "country" in profile:
            profile["country"] = profile["country"].upper()
        utm = {
            k.removeprefix("utm_"): said[k]
            for k in ("utm_source", "utm_medium", "utm_campaign")
            if said.get(k)
        }
        source = self._source or self._read_source(said, problem)
        consent = self._read_consent(said, columns, problem)
        consent_at = self._read_date(said, "consent_date", problem)
        stage = self._read_stage(said, problem)
        custom = self._read_custom(said, columns, problems, row)
        lead_data: dict[str, Any] = {**profile, "custom": custom}
        if source is not None:
            lead_data["source"] = source
        if utm:
            lead_data["utm"] = utm
        if consent == "given":
            lead_data["consent"] = Consent(
                marketing=True,
                given_at=consent_at,
                form_id=f"import:{self._batch}"[:200],
                wording_version="import",
            )
        lead: Lead | None = None
        try:
            lead = Lead.model_validate(lead_data)
        except ValidationError as exc:
            for error in exc.errors():
                role = str(error["loc"][0]) if error["loc"] else "email"
                if role == "email" and not said.get("email"):
                    continue  # said already: no address
                header = columns[role].header if role in columns else role
                problems.append(Problem(row, header, _pydantic_text(role, error)))
        if problems or lead is None:
            order = {c.header: c.index for c in columns.values()}
            ranked = sorted(problems, key=lambda p: order.get(p.column, len(order)))
            return RowProblems(row, tuple(ranked))
        # The lead's language if the templates speak it, else the import's.
        spoken = lead.locale.split("-")[0].lower() if lead.locale else None
        locale = spoken if spoken in self._locales else self._locale
        content = {
            "lead": lead.model_dump(mode="json", exclude_defaults=True),
            "consent": consent,
            "stage": stage,
            "enrol": self._enrol,
            "locale": locale,
        }
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        return ImportedLead(
            key=f"row-{digest[:40]}",
            batch=self._batch,
            lead=lead,
            consent=consent,
            stage=stage,
            enrol=self._enrol,
            locale=locale,
        )

    def _read_source(self, said: dict[str, str], problem: Any) -> AcquisitionSource | None:
        text = said.get("source")
        if not text:
            return None
        source = _SOURCES.get(_key(text))
        if source is None:
            problem("source", f"unknown source {text[:40]!r}: organic, inbound, outbound, referral")
        return AcquisitionSource(source) if source else None

    def _read_consent(
        self, said: dict[str, str], columns: dict[str, _Column], problem: Any
    ) -> ConsentStatus:
        if "consent" not in columns:
            return "unknown"
        text = said["consent"]
        status = _CONSENTS.get(_key(text))
        if status is None:
            problem("consent", f"unknown consent {text[:40]!r}: yes, no or blank (unknown)")
            return "unknown"
        if columns["consent"].negated:  # not "do not contact" is no consent either
            return "refused" if status == "given" else "unknown"
        return status

    def _read_stage(self, said: dict[str, str], problem: Any) -> Stage | None:
        text = said.get("stage")
        if not text:
            return None
        stage = _STAGES.get(_key(text))
        if stage is None:
            known = "subscriber, lead, mql, sql, opportunity, customer, recycled, disqualified"
            problem("stage", f"unknown stage {text[:40]!r}: {known}")
        return stage

    def _read_date(self, said: dict[str, str], role: str, problem: Any) -> datetime | None:
        text = said.get(role)
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = datetime.combine(date.fromisoformat(text), time(), UTC)
            except ValueError:
                problem(role, f"not a date: {text[:40]!r} (use 2026-11-30 or ISO 8601)")
                return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _read_custom(
        self,
        said: dict[str, str],
        columns: dict[str, _Column],
        problems: list[Problem],
        row: int,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in self._fields.items():
            text = said.get(name)
            if not text:
                continue
            try:
                values[name] = parse_value(name, spec, text)
            except FieldProblem as exc:
                problems.append(Problem(row, columns[name].header, f"{text[:40]!r}: {exc.rule}"))
        return values


ContactRoles: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "industry",
    "company_size",
    "country",
    "phone",
    "locale",
    "timezone",
    "crm_id",
)


def _integer(text: str) -> int | None:
    cleaned = text.replace(",", "").replace(" ", "").replace("\u202f", "")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


_RULES = {
    "country": "not a two-letter country code (FR, DE, US...)",
    "phone": "not a phone number (digits, spaces, + ( ) . -)",
    "locale": "not a language code (en, fr, en-GB...)",
    "crm_id": "not a CRM id (1-64 letters, digits, '_' or '-')",
}


def _pydantic_text(role: str, error: Mapping[str, Any]) -> str:
    given = error.get("input")
    shown = f": {str(given)[:60]!r}" if isinstance(given, str) else ""
    rule = _RULES.get(role) or str(error["msg"]).removeprefix(
        "value is not a valid email address: "
    )
    return f"{rule}{shown}"
