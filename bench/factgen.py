"""A realistic facts log, generated: what a year of nurture writes for N leads.

The reports benchmark loads it by the million; the dashboard's browser test loads a few
hundred leads of it, so that its charts show what a real log would. Every fact is a real
``Fact`` with its deterministic ``fact_id``. The story of lead ``i`` depends only on
``(seed, i)``, so a smaller log is the beginning of a larger one.

The shape follows the product: four sources and the shipped forms, UTM campaigns, monthly
cohorts that grow over the year; a funnel (new, MQL, SQL, accepted, opportunity, customer)
whose rates depend on the source; emails (thank-you, sequences with versions and steps, A/B
splits with a holdout) with opens, machine-made opens (Apple Mail Privacy Protection) and
scanner clicks, unsubscribes and complaints; hand-offs to ten reps with SLA reminders and
escalations, accepts, returns with BANT reasons, disqualifications, won and lost deals.
About twenty facts a lead.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.factstory import Split, Story
from nurture.domain.factlog import Fact
from nurture.domain.models import AcquisitionSource
from nurture.domain.reports import Costs, Spend

__all__ = [
    "COST_PER_LEAD",
    "DEFAULT_START",
    "REPS",
    "generate",
    "lead_facts",
    "months_after",
    "spend",
]

DEFAULT_START = datetime(2025, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)

# source: (weight, forms, UTM (source, medium, campaign) choices, MQL rate, SQL rate of MQLs)
_SOURCES: dict[str, tuple[float, tuple[str, ...], tuple[tuple[str, str, str], ...], float, float]]
_SOURCES = {
    "inbound": (
        0.52,
        ("white-paper", "contact", "webinar-fr"),
        (
            ("google", "cpc", "search-analytics"),
            ("google", "cpc", "search-brand"),
            ("linkedin", "paid_social", "abm-q1"),
            ("linkedin", "paid_social", "buying-guide-2026"),
            ("facebook", "paid_social", "retargeting"),
        ),
        0.34,
        0.42,
    ),
    "organic": (
        0.24,
        ("newsletter", "white-paper"),
        (("newsletter", "email", "monthly-digest"), ("blog", "referral", "seo")),
        0.22,
        0.35,
    ),
    "outbound": (
        0.14,
        ("contact",),
        (("outreach", "email", "enterprise-push"), ("events", "offline", "trade-show")),
        0.18,
        0.55,
    ),
    "referral": (
        0.10,
        ("contact", "white-paper"),
        (("partner", "referral", "partners"),),
        0.45,
        0.5,
    ),
}
# id, relative speed to accept (1 = median 40 minutes), accept rate, win rate
REPS: tuple[tuple[str, float, float, float], ...] = (
    ("camille", 0.6, 0.78, 0.38),
    ("hugo", 1.0, 0.70, 0.31),
    ("lena", 1.4, 0.66, 0.29),
    ("olivia", 0.8, 0.74, 0.35),
    ("noah", 2.5, 0.58, 0.22),
    ("sofia", 0.9, 0.72, 0.33),
    ("lucas", 1.2, 0.69, 0.27),
    ("emma", 0.7, 0.80, 0.41),
    ("yuki", 1.8, 0.63, 0.25),
    ("amir", 1.1, 0.71, 0.30),
)
_RETURN_REASONS = (("budget", 30), ("timing", 30), ("need", 14), ("authority", 14))
_RETURN_REASONS += (("no_response", 9), ("other", 3))
_EVENTS = (("page_viewed", 60), ("content_downloaded", 15), ("webinar_registered", 8))
_EVENTS += (("webinar_replay_watched", 5), ("support_contacted", 2), ("pricing_viewed", 10))


def generate(
    leads: int, *, start: datetime = DEFAULT_START, months: int = 12, seed: int = 13
) -> Iterator[list[Fact]]:
    """The facts of each lead in turn, each lead's in the order they happened."""
    end = months_after(start, months)
    for index in range(leads):
        yield lead_facts(index, start=start, end=end, seed=seed)


# What a lead costs from each source, in euros (paid campaigns, sales outreach, partner
# fees, content): the spend of a month is about that many times its leads.
COST_PER_LEAD = {"inbound": 55.0, "outbound": 80.0, "referral": 30.0, "organic": 12.0}


def spend(leads: Counter[tuple[str, str]], seed: int = 13) -> Costs:
    """A plausible spend for the leads each (source, month) brought, give or take 15%."""
    rng = random.Random(seed)
    entries = [
        Spend(
            source=AcquisitionSource(source),
            month=month,
            amount=Decimal(f"{count * COST_PER_LEAD[source] * rng.uniform(0.85, 1.15):.2f}"),
        )
        for (source, month), count in sorted(leads.items())
    ]
    return Costs(currency="EUR", spend=tuple(entries))


def months_after(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months later (the first of a month stays so)."""
    month = moment.month - 1 + months
    return moment.replace(year=moment.year + month // 12, month=month % 12 + 1)


def lead_facts(index: int, *, start: datetime, end: datetime, seed: int = 13) -> list[Fact]:
    """The facts of lead ``index`` between ``start`` and ``end`` (its future is cut off)."""
    rng = random.Random(seed * 1_000_003 + index)
    if rng.random() < 0.0005:
        return _erased(rng, index, start, end)
    story = Story(rng, f"{rng.getrandbits(128):032x}", end)
    _acquire(story, start, end)
    return sorted(story.facts, key=lambda f: f.at)  # stable: lead_created stays first


def _erased(rng: random.Random, index: int, start: datetime, end: datetime) -> list[Fact]:
    """What is left of an erased lead: that an erasure happened, not to whom."""
    story = Story(rng, "", end)
    story.add("erased", start + rng.random() * (end - start), (index,))
    return story.facts


def _created_at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """Growth over the year (twice as many leads at the end as at the start), weekdays
    busier than weekends, office hours busier than nights."""
    span = (end - start).total_seconds()
    position = -1 + (1 + 3 * rng.random()) ** 0.5  # density rising linearly from 1 to 2
    moment = start + timedelta(seconds=span * position)
    if moment.weekday() >= 5 and rng.random() < 0.6:
        moment -= 2 * DAY
    if moment < start:
        moment += 7 * DAY
    hour = rng.choices(range(24), weights=[1] * 7 + [4] * 11 + [2] * 6)[0]
    return moment.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))


def _acquire(story: Story, start: datetime, end: datetime) -> None:
    rng = story.rng
    created = _created_at(rng, start, end)
    source = rng.choices(list(_SOURCES), weights=[s[0] for s in _SOURCES.values()])[0]
    _, forms, utms, mql_rate, sql_rate = _SOURCES[source]
    form = rng.choice(forms)
    _created(story, created, source, form, rng.choice(utms) if rng.random() < 0.85 else None)
    story.add("form_submitted", created, (1,), form=form, submission=f"s-{rng.getrandbits(48):x}")
    story.event(created, _FORM_EVENTS[form])
    if form == "newsletter" and not _confirmed(story, created):
        return
    story.email(created + timedelta(seconds=rng.uniform(1, 20)), "thank_you", "transactional")
    _nurture(story, created, form, mql_rate, sql_rate)


def _created(
    story: Story, at: datetime, source: str, form: str, utm: tuple[str, str, str] | None
) -> None:
    """The lead_created fact: where the lead came from, its language and country."""
    rng = story.rng
    french = form == "webinar-fr" or rng.random() < 0.25
    utm_source, utm_medium, utm_campaign = utm or (None, None, None)
    story.add(
        "lead_created",
        at,
        (),
        source=source,
        form=form,
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        utm_term=None,
        utm_content=None,
        locale="fr" if french else "en",
        country=rng.choice(("FR", "FR", "BE", "CA")) if french else rng.choice(_COUNTRIES),
        cohort=f"{at:%Y-%m}",
    )


_COUNTRIES = ("US", "US", "US", "GB", "GB", "DE", "NL", "ES", "IT", "SE", "CA", "AU")
_FORM_EVENTS = {
    "white-paper": "content_downloaded",
    "newsletter": "newsletter_subscribed",
    "contact": "form_submitted",
    "webinar-fr": "webinar_registered",
}


def _confirmed(story: Story, created: datetime) -> bool:
    """A newsletter subscriber gets the confirmation email; three in four use its link."""
    story.email(created + timedelta(seconds=5), "confirm_subscription", "transactional")
    if story.rng.random() < 0.25:
        return False
    at = created + timedelta(hours=story.rng.expovariate(1 / 3))
    return story.add("opt_in_confirmed", at, (), submission="s")


def _lognormal(rng: random.Random, median: timedelta, spread: float = 0.8) -> timedelta:
    return median * rng.lognormvariate(0, spread)


def _nurture(story: Story, created: datetime, form: str, mql_rate: float, sql_rate: float) -> None:
    """Marketing's part: sequences and events until the lead is an MQL, then an SQL."""
    rng = story.rng
    if rng.random() < 0.015:
        story.stage(created + DAY * rng.uniform(1, 20), "new", "disqualified", "spam")
        return
    warm = rng.random() < mql_rate
    story.engaged = 0.35 if warm else 0.12
    at = story.browse(created, _first_sequence(story, created, form) + 30 * DAY)
    if not warm:
        _cold(story, at)
        return
    mql_at = created + _lognormal(rng, 9 * DAY)
    story.browse(created, mql_at)
    if not story.stage(mql_at, "new", "mql", "score", score=rng.randint(50, 64)):
        return
    stage = {"from_stage": "discovery", "to_stage": "evaluation"}
    story.add("buying_stage_changed", mql_at, (mql_at.isoformat(), "evaluation"), **stage)
    sql_at = mql_at + _lognormal(rng, 12 * DAY, 0.9)
    split = _VIDEO if mql_at > story.end - 200 * DAY else None
    stop = sql_at if rng.random() < sql_rate else None
    story.sequence(mql_at + DAY, "evaluation", 1, _EVALUATION, goal=0.12, split=split, stop=stop)
    if stop is None:
        _cold(story, mql_at + 40 * DAY)
        return
    _qualify(story, sql_at, "mql", 1)


def _first_sequence(story: Story, created: datetime, form: str) -> datetime:
    """Welcome after a contact form; discovery for a subscriber (version 1, then 2, then
    3 and its A/B test of the first subject line, as they shipped); when it ended."""
    at = created + DAY
    if form == "contact":
        return story.sequence(at, "welcome", 1, ("second_conversion",), goal=0.05)
    if form != "newsletter":
        return at
    age = story.end - created
    version = 1 if age > 240 * DAY else 2 if age > 100 * DAY else 3
    split = _SUBJECT if version == 3 else None
    templates = _DISCOVERY[: 2 if version == 1 else 3]
    return story.sequence(at, "discovery", version, templates, goal=0.04, split=split)


_DISCOVERY = ("about_your_needs", "newsletter_highlights", "join_the_community")
_SUBJECT = Split("needs-subject", ("question", "benefit"))
_VIDEO = Split("evaluation-video", ("control", "video"))
_EVALUATION = ("buying_guide", "case_study", "talk_to_an_expert")


def _cold(story: Story, at: datetime) -> None:
    """A lead gone quiet: re-engagement after 30 days without activity, sometimes again."""
    if story.unsubscribed:
        return
    at += 30 * DAY
    story.sequence(at, "reengagement", 1, ("whats_new", "still_interested"), goal=0.06)


def _qualify(story: Story, at: datetime, stage: str, handoff: int) -> None:
    """Sales-ready: the hand-off, the rep (or the pool), the SLA, and what sales does."""
    rng = story.rng
    hand_raise = rng.random() < 0.4
    if hand_raise:
        story.event(at, rng.choice(("demo_accepted", "quote_requested")))
    if not story.stage(at, stage, "sql", "hand raise" if hand_raise else "score", score=80):
        return
    name = f"h{handoff}"
    stage = {"from_stage": "evaluation", "to_stage": "decision"}
    story.add("buying_stage_changed", at, (at.isoformat(), "decision"), **stage)
    story.add(
        "handed_off", at, (name,), handoff=name, trigger="hand_raise" if hand_raise else "score"
    )
    rep, speed, accept_rate, win_rate = rng.choice(REPS)
    assigned = at
    if rng.random() < 0.06:
        story.add("pooled", at, (name,), handoff=name, reason="no rep matches")
        assigned = at + timedelta(hours=rng.expovariate(1 / 5))
    story.add("assigned", assigned, (name, rep), handoff=name, rep=rep, reason="round robin")
    # The shipped sales.toml: a reminder after 30 minutes, escalation after the hour.
    acted = assigned + _lognormal(rng, timedelta(minutes=40) * speed, 1.0)
    for minutes, kind in ((30, "sla_reminded"), (60, "sla_escalated")):
        if acted > assigned + timedelta(minutes=minutes):
            story.add(kind, assigned + timedelta(minutes=minutes), (name,), handoff=name, rep=rep)
    _decide(story, acted, name, rep, accept_rate, win_rate)


def _decide(
    story: Story, at: datetime, handoff: str, rep: str, accept_rate: float, win_rate: float
) -> None:
    rng = story.rng
    draw = rng.random()
    if draw < accept_rate:
        story.action(at, handoff, "accepted", rep)
        _deal(story, at, handoff, rep, win_rate)
    elif draw < accept_rate + (1 - accept_rate) * 0.7:
        reason = rng.choices(*zip(*_RETURN_REASONS, strict=True))[0]
        story.action(at, handoff, "returned", rep, reason)
        if story.stage(at, "sql", "recycled", f"returned: reason {reason}"):
            _recycle(story, at, reason, handoff)
    else:
        reason = rng.choice(("no fit", "competitor", "student", "duplicate"))
        story.action(at, handoff, "disqualified", rep, reason)
        story.stage(at, "sql", "disqualified", reason)


def _deal(story: Story, at: datetime, handoff: str, rep: str, win_rate: float) -> None:
    rng = story.rng
    if rng.random() > 0.85:
        return
    at += _lognormal(rng, 4 * DAY)
    story.action(at, handoff, "converted", rep)
    if not story.stage(at, "sql", "opportunity", "converted"):
        return
    at += _lognormal(rng, 40 * DAY, 0.6)
    if rng.random() < win_rate / 0.85:
        story.action(at, handoff, "won", rep, "signed")
        if story.stage(at, "opportunity", "customer", "won"):
            story.sequence(at + DAY, "onboarding", 1, _ONBOARDING, goal=0.0)
    elif rng.random() < 0.8:
        reason = rng.choice(("price", "competitor", "no decision"))
        story.action(at, handoff, "lost", rep, reason)
        if story.stage(at, "opportunity", "recycled", f"lost: {reason}"):
            _recycle(story, at, "lost", handoff)


_ONBOARDING = ("welcome_aboard", "getting_started", "onboarding_session")


def _recycle(story: Story, at: datetime, reason: str, handoff: str) -> None:
    """Back in nurture: the recycle sequence its reason picks; some come back later."""
    fit = reason in ("budget", "authority", "need", "other")
    name = "recycle-fit" if fit else "recycle-timing"
    first = "resources_for_later" if fit else "keep_in_touch"
    at = story.sequence(at + DAY, name, 1, (first, "checking_back"), goal=0.08)
    if handoff == "h1" and story.rng.random() < 0.15:
        back = at + _lognormal(story.rng, 30 * DAY)
        if story.stage(back, "recycled", "mql", "score", score=story.rng.randint(50, 64)):
            _qualify(story, back + _lognormal(story.rng, 10 * DAY), "mql", 2)
