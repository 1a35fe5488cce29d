"""Who gets a sales-qualified lead: the team and rules sales management configures, applied
by pure functions.

A lead goes to the reps who match it on territory, industry and company-size segment (and
seniority for top-grade leads), who are not out of office and have room for another open
lead; reps in their working hours come first. Among those, weighted round-robin: the rep
whose share of assignments is furthest below its weight gets the lead. When nobody matches,
criteria are relaxed in the configured order; when still nobody does, the lead goes to the
pool, where any rep may pick it up.

The rotation itself (how many leads each rep got, how many are open) is a ``RouterState``
passed in and returned: ``RouterWorkflow`` keeps it durably and applies one decision at a
time, so two leads arriving together never break the rotation.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, model_validator

from nurture.domain.schedule import Duration, SendWindow, zone_named
from nurture.domain.text import ShortText

__all__ = [
    "Criterion",
    "Escalation",
    "Rep",
    "RouterState",
    "RoutingDecision",
    "RoutingLead",
    "SalesTeam",
    "Segment",
    "SegmentBounds",
    "SlaPolicy",
    "route",
    "segment_of",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
Segment = Literal["smb", "mid", "enterprise"]
Criterion = Literal["territory", "industry", "segment", "seniority"]
RepId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class OutOfOffice(BaseModel):
    """Dates (inclusive, in the rep's time zone) a rep takes no new lead."""

    model_config = _STRICT

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"out_of_office ends ({self.end}) before it starts ({self.start})")
        return self


class Rep(BaseModel):
    """One sales rep, and what they cover."""

    model_config = _STRICT

    id: RepId
    name: ShortText
    email: EmailStr
    manager: EmailStr | None = None
    """Escalations go here (else to the team's manager)."""
    territories: tuple[str, ...] = ()
    """ISO country codes (``FR``) or regions named in ``[regions]``; empty covers everywhere."""
    industries: tuple[str, ...] = ()
    """Industries this rep knows (as forms spell them, any case); empty covers all."""
    segments: tuple[Segment, ...] = ()
    """Company sizes this rep sells to; empty covers all."""
    senior: bool = False
    """May take the top-grade leads the team reserves for senior reps."""
    weight: Annotated[int, Field(ge=1, le=100)] = 1
    """Share of the rotation: a rep of weight 2 gets twice the leads of a rep of weight 1."""
    capacity: Annotated[int, Field(ge=1, le=10_000)] = 30
    """Most open leads (assigned, not yet closed or returned) at once."""
    timezone: str = "Europe/Paris"
    out_of_office: tuple[OutOfOffice, ...] = ()
    active: bool = True

    @model_validator(mode="after")
    def _zone(self) -> Self:
        zone_named(self.timezone)
        return self

    def zone(self) -> ZoneInfo:
        """The rep's time zone."""
        return ZoneInfo(self.timezone)

    def away_on(self, now: datetime) -> bool:
        """Whether the rep is out of office on ``now``'s date, on their own clock."""
        today = now.astimezone(self.zone()).date()
        return any(o.start <= today <= o.end for o in self.out_of_office)


class Escalation(BaseModel):
    """What happens when an owner does not accept in time."""

    model_config = _STRICT

    notify_manager: bool = True
    reassign: bool = True
    """Give the lead to the next rep in the rotation (the late owner is skipped)."""


class SlaPolicy(BaseModel):
    """How fast an owner must accept a lead, in business hours (``[sla]``)."""

    model_config = _STRICT

    accept_within: Duration = timedelta(hours=1)
    """"SQLs must not wait": the default is one business hour."""
    remind_after: Duration = timedelta(minutes=30)
    escalation: Escalation = Escalation()
    max_reassignments: Annotated[int, Field(ge=0, le=20)] = 2
    """After this many reassignments the lead waits in the pool."""

    @model_validator(mode="after")
    def _reminder_first(self) -> Self:
        if self.remind_after >= self.accept_within:
            raise ValueError("remind_after must be shorter than accept_within")
        return self


class SegmentBounds(BaseModel):
    """The company size at which each segment starts; below ``mid`` is ``smb``."""

    model_config = _STRICT

    mid: Annotated[int, Field(ge=2)] = 50
    enterprise: Annotated[int, Field(ge=3)] = 1000

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.enterprise <= self.mid:
            raise ValueError("enterprise must start above mid")
        return self


class SalesTeam(BaseModel):
    """``config/sales.toml``: the reps, the routing rules and the hand-off SLA."""

    model_config = _STRICT

    manager: EmailStr
    """Receives escalations for reps without a manager of their own, and pool alerts."""
    reps: tuple[Rep, ...]
    regions: dict[str, tuple[str, ...]] = {}
    """Named groups of ISO country codes, usable in a rep's ``territories``."""
    segments: SegmentBounds = SegmentBounds()
    senior_grades: tuple[str, ...] = ("A",)
    """Lead grades only senior reps take."""
    match: tuple[Criterion, ...] = ("territory", "industry", "segment", "seniority")
    relax: tuple[Criterion, ...] = ("seniority", "industry", "segment")
    """When nobody matches, drop these criteria one at a time, in order, before the pool."""
    hours: SendWindow = SendWindow(days=frozenset({1, 2, 3, 4, 5}))
    """Reps' working days and hours, on each rep's own clock; also the SLA's business hours."""
    sla: SlaPolicy = SlaPolicy()
    return_score_adjustment: Annotated[int, Field(ge=-1000, le=0)] = -10
    """Points a lead loses when sales returns it to nurture, so it must show new interest
    before it is handed off again."""
    hand_raise_events: tuple[str, ...] = ("demo_requested", "quote_requested")
    """Events that make a marketing lead an SQL at once, whatever its score."""
    webhook_url: HttpUrl | None = None
    """Optional Slack-compatible incoming webhook told of every assignment."""
    app_url: HttpUrl = HttpUrl("http://localhost:8000")
    """Where a rep acts on a lead; links in alerts point here."""

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if "email_opened" in self.hand_raise_events:
            raise ValueError(
                "hand_raise_events: email_opened cannot raise a hand; an open is a weak "
                "signal (Apple Mail Privacy Protection opens every email)"
            )
        ids = [rep.id for rep in self.reps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rep ids must be unique; repeated: {', '.join(duplicates)}")
        for rep in self.reps:
            unknown = [t for t in rep.territories if t not in self.regions and not _is_country(t)]
            if unknown:
                raise ValueError(
                    f"rep {rep.id!r}: territories {unknown} are neither ISO country codes "
                    f"nor regions ({', '.join(sorted(self.regions)) or 'none defined'})"
                )
        if set(self.relax) - set(self.match):
            raise ValueError("relax may only name criteria that are in match")
        return self

    def rep(self, rep_id: str) -> Rep | None:
        """The rep with this id, if any."""
        return next((r for r in self.reps if r.id == rep_id), None)

    def countries_of(self, rep: Rep) -> frozenset[str]:
        """The ISO country codes a rep covers (empty: everywhere)."""
        return frozenset(c for t in rep.territories for c in self.regions.get(t, (t,)))


class RoutingLead(BaseModel):
    """What routing looks at."""

    model_config = ConfigDict(frozen=True)

    lead_id: str
    country: str | None = None
    industry: str | None = None
    company_size: int | None = None
    grade: str = "C"


class RouterState(BaseModel):
    """The rotation: leads each rep was given, and how many are still open with them."""

    model_config = ConfigDict(frozen=True)

    assigned: dict[str, int] = {}
    open: dict[str, int] = {}

    def given(self, rep_id: str) -> RouterState:
        """One more lead assigned to ``rep_id``."""
        return RouterState(
            assigned={**self.assigned, rep_id: self.assigned.get(rep_id, 0) + 1},
            open={**self.open, rep_id: self.open.get(rep_id, 0) + 1},
        )

    def claimed(self, rep_id: str) -> RouterState:
        """``rep_id`` took a lead from the pool: one more open lead, counted against their
        capacity (the rotation's share is left alone: the router did not choose them)."""
        return self.model_copy(update={"open": {**self.open, rep_id: self.open.get(rep_id, 0) + 1}})

    def released(self, rep_id: str) -> RouterState:
        """One of ``rep_id``'s open leads closed or went back to marketing."""
        left = max(0, self.open.get(rep_id, 0) - 1)
        return self.model_copy(update={"open": {**self.open, rep_id: left}})


class RoutingDecision(BaseModel):
    """Who gets the lead, and why; ``rep_id`` is ``None`` for the pool."""

    model_config = ConfigDict(frozen=True)

    rep_id: str | None
    reason: str
    relaxed: tuple[Criterion, ...] = ()


def segment_of(team: SalesTeam, company_size: int | None) -> Segment | None:
    """The company-size segment of a lead (``None`` when the size is unknown)."""
    if company_size is None:
        return None
    if company_size >= team.segments.enterprise:
        return "enterprise"
    return "mid" if company_size >= team.segments.mid else "smb"


def route(
    team: SalesTeam,
    lead: RoutingLead,
    state: RouterState,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> RoutingDecision:
    """Pick the rep for ``lead`` now, or the pool. ``exclude`` skips reps (a late owner)."""
    available = [
        rep
        for rep in team.reps
        if rep.active
        and rep.id not in exclude
        and not rep.away_on(now)
        and state.open.get(rep.id, 0) < rep.capacity
    ]
    if not available:
        return RoutingDecision(rep_id=None, reason="no rep is available (away, full or inactive)")
    criteria = list(team.match)
    relaxed: list[Criterion] = []
    to_relax = list(team.relax)
    while True:
        matching = [rep for rep in available if _matches(team, rep, lead, criteria)]
        if matching:
            break
        if not to_relax:
            return RoutingDecision(
                rep_id=None,
                reason=f"no available rep matches {', '.join(criteria) or 'the lead'}",
                relaxed=tuple(relaxed),
            )
        dropped = to_relax.pop(0)
        criteria.remove(dropped)
        relaxed.append(dropped)
    working = [rep for rep in matching if _at_work(team, rep, now)]
    pool = working or matching
    chosen = min(
        pool,
        key=lambda rep: (state.assigned.get(rep.id, 0) / rep.weight, team.reps.index(rep)),
    )
    why = f"matches {', '.join(criteria) or 'nothing in particular'}"
    if relaxed:
        why += f" (relaxed: {', '.join(relaxed)})"
    if not working:
        why += "; nobody matching is at work now"
    return RoutingDecision(rep_id=chosen.id, reason=why, relaxed=tuple(relaxed))


def _matches(team: SalesTeam, rep: Rep, lead: RoutingLead, criteria: list[Criterion]) -> bool:
    # A lead whose country, industry or size is unknown is not held against a rep: a hot
    # lead must not wait in the pool because its form did not ask for its industry.
    segment = segment_of(team, lead.company_size)
    industries = {i.casefold() for i in rep.industries}
    checks = {
        "territory": (
            not rep.territories
            or lead.country is None
            or lead.country.upper() in team.countries_of(rep)
        ),
        "industry": not industries
        or lead.industry is None
        or lead.industry.casefold() in industries,
        "segment": not rep.segments or segment is None or segment in rep.segments,
        "seniority": rep.senior or lead.grade not in team.senior_grades,
    }
    return all(checks[criterion] for criterion in criteria)


def _at_work(team: SalesTeam, rep: Rep, now: datetime) -> bool:
    local = now.astimezone(rep.zone())
    if local.isoweekday() not in team.hours.days or local.date() in team.hours.holidays:
        return False
    return any(start <= local.time() < end for start, end in team.hours.open_intervals())


def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isalpha() and code.isupper()
