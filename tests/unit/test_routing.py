"""Routing rules: territory, expertise, segment, seniority, availability, capacity,
weighted rotation and the pool, as pure functions over the team and the rotation state."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from nurture.config.files import load_sales_team
from nurture.domain.sales.records import webhook_message
from nurture.domain.sales.routing import (
    RouterState,
    RoutingLead,
    SalesTeam,
    route,
    segment_of,
)
from nurture.errors import ConfigError
from tests.helpers import ROOT

# Monday 2026-11-23, 10:00 in Paris: everyone in Europe is at work.
MONDAY_10_PARIS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def team(**changes: object) -> SalesTeam:
    base: dict[str, object] = {
        "manager": "boss@example.com",
        "regions": {"benelux": ["BE", "NL", "LU"]},
        "reps": [
            {
                "id": "camille",
                "name": "Camille",
                "email": "c@example.com",
                "territories": ["FR", "benelux"],
                "senior": True,
                "weight": 2,
            },
            {
                "id": "hugo",
                "name": "Hugo",
                "email": "h@example.com",
                "territories": ["FR"],
                "segments": ["smb", "mid"],
            },
            {
                "id": "lena",
                "name": "Lena",
                "email": "l@example.com",
                "territories": ["DE"],
                "industries": ["Software"],
                "timezone": "Europe/Berlin",
                "senior": True,
            },
        ],
        **changes,
    }
    return SalesTeam.model_validate(base)


def lead(**changes: object) -> RoutingLead:
    return RoutingLead.model_validate({"lead_id": "l1", "country": "FR", **changes})


class TestCriteria:
    """Each criterion narrows the reps; relaxing and the pool catch the rest."""

    def test_territory_and_region(self) -> None:
        """A Belgian lead goes to the rep whose territory names the Benelux region."""
        decision = route(team(), lead(country="BE"), RouterState(), MONDAY_10_PARIS)
        assert decision.rep_id == "camille"

    def test_industry_expertise(self) -> None:
        """A German software lead goes to Lena; the industry matches in any case."""
        decision = route(
            team(), lead(country="DE", industry="software"), RouterState(), MONDAY_10_PARIS
        )
        assert decision.rep_id == "lena" and decision.relaxed == ()

    def test_segment(self) -> None:
        """An enterprise French lead skips Hugo (smb and mid only)."""
        state = RouterState(assigned={"camille": 10})  # would favour Hugo otherwise
        decision = route(team(), lead(company_size=5000), state, MONDAY_10_PARIS)
        assert decision.rep_id == "camille"
        assert segment_of(team(), 49) == "smb" and segment_of(team(), 50) == "mid"
        assert segment_of(team(), 1000) == "enterprise" and segment_of(team(), None) is None

    def test_seniority(self) -> None:
        """A grade-A lead goes to a senior rep even when the rotation favours a junior one."""
        state = RouterState(assigned={"camille": 10})
        assert route(team(), lead(grade="A"), state, MONDAY_10_PARIS).rep_id == "camille"
        assert route(team(), lead(grade="B"), state, MONDAY_10_PARIS).rep_id == "hugo"

    def test_relax_then_pool(self) -> None:
        """A German retail lead: nobody covers retail, so industry is relaxed (Lena); a
        Japanese lead matches no territory, which is never relaxed: the pool."""
        retail = route(
            team(), lead(country="DE", industry="retail"), RouterState(), MONDAY_10_PARIS
        )
        assert retail.rep_id == "lena" and retail.relaxed == ("seniority", "industry")
        japan = route(team(), lead(country="JP"), RouterState(), MONDAY_10_PARIS)
        assert japan.rep_id is None and "territory" in japan.reason


class TestAvailability:
    """Out of office, capacity and working hours."""

    def test_out_of_office(self) -> None:
        """Camille is away today: the French lead goes to Hugo; a Belgian one to the pool."""
        away = team(
            reps=[
                {
                    **team().reps[0].model_dump(),
                    "out_of_office": [{"start": date(2026, 11, 20), "end": date(2026, 11, 27)}],
                },
                *[r.model_dump() for r in team().reps[1:]],
            ]
        )
        state = RouterState(assigned={"hugo": 50})
        assert route(away, lead(), state, MONDAY_10_PARIS).rep_id == "hugo"
        assert route(away, lead(country="BE"), state, MONDAY_10_PARIS).rep_id is None

    def test_capacity(self) -> None:
        """Hugo at capacity (30 open): the lead goes to Camille whatever the rotation says."""
        state = RouterState(assigned={"camille": 100}, open={"hugo": 30})
        assert route(team(), lead(), state, MONDAY_10_PARIS).rep_id == "camille"
        freed = state.released("hugo")
        assert route(team(), lead(), freed, MONDAY_10_PARIS).rep_id == "hugo"

    def test_a_claimed_lead_counts_against_capacity(self) -> None:
        """Hugo at 29 open takes a lead from the pool: full at 30, so the next lead goes to
        Camille; its close frees him again. The rotation's share is not touched."""
        state = RouterState(assigned={"camille": 100, "hugo": 29}, open={"hugo": 29})
        claimed = state.claimed("hugo")
        assert (claimed.open["hugo"], claimed.assigned) == (30, state.assigned)
        assert route(team(), lead(), claimed, MONDAY_10_PARIS).rep_id == "camille"
        assert claimed.released("hugo") == state

    def test_working_hours_first(self) -> None:
        """At 07:00 Paris nobody is at work: the rotation still picks someone, and says so."""
        early = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
        decision = route(team(), lead(), RouterState(), early)
        assert decision.rep_id == "camille" and "nobody matching is at work" in decision.reason

    def test_excluded_late_owner(self) -> None:
        """Reassignment skips the rep who did not accept in time."""
        decision = route(
            team(), lead(), RouterState(), MONDAY_10_PARIS, exclude=frozenset({"camille"})
        )
        assert decision.rep_id == "hugo"


class TestRotation:
    """Weighted round-robin among matching reps, exact over many leads."""

    def test_weights_over_many_leads(self) -> None:
        """3,000 French leads: Camille (weight 2) gets exactly two thirds, Hugo one third,
        and at no point does either run ahead of their share by more than one lead."""
        state = RouterState()
        counts: Counter[str] = Counter()
        for i in range(3000):
            decision = route(team(), lead(lead_id=f"l{i}"), state, MONDAY_10_PARIS)
            assert decision.rep_id is not None
            state = state.given(decision.rep_id).released(decision.rep_id)
            counts[decision.rep_id] += 1
            total = i + 1
            assert abs(counts["camille"] - total * 2 / 3) <= 1
        assert counts == {"camille": 2000, "hugo": 1000}
        assert state.assigned == {"camille": 2000, "hugo": 1000}


class TestConfig:
    """The shipped file validates; mistakes are named."""

    def test_shipped_team(self) -> None:
        """config/sales.toml loads: four reps, a one-hour SLA."""
        shipped = load_sales_team(ROOT / "config" / "sales.toml")
        assert [r.id for r in shipped.reps] == ["camille", "hugo", "lena", "olivia"]
        assert shipped.sla.accept_within.total_seconds() == 3600

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                'manager = "m@x.io"\n[[reps]]\nid = "a"\nname = "A"\nemail = "a@x.io"\n'
                'territories = ["France"]',
                "territories ['France']",
            ),
            (
                'manager = "m@x.io"\n[[reps]]\nid = "a"\nname = "A"\nemail = "a@x.io"\n'
                '[[reps]]\nid = "a"\nname = "B"\nemail = "b@x.io"',
                "repeated: a",
            ),
            (
                'manager = "m@x.io"\nreps = []\n[sla]\naccept_within = "1h"\nremind_after = "2h"',
                "remind_after must be shorter",
            ),
            (
                'manager = "m@x.io"\n[[reps]]\nid = "a"\nname = "A"\nemail = "a@x.io"\nweight = 0',
                "weight",
            ),
            (
                'manager = "m@x.io"\n[[reps]]\nid = "a"\nname = "A"\nemail = "a@x.io"\n'
                'timezone = "Mars/Olympus"',
                "Mars/Olympus",
            ),
        ],
    )
    def test_errors_name_the_field(self, tmp_path: Path, text: str, expected: str) -> None:
        path = tmp_path / "sales.toml"
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_sales_team(path)
        assert expected in str(info.value)


class TestWebhookMessage:
    """The Slack-compatible message of a new assignment."""

    SUMMARY: ClassVar[dict[str, Any]] = {
        "lead_id": "L7",
        "name": "Ada <@channel> Lovelace",
        "company": "Globex & Co",
        "owner": "Ana Lima",
        "trigger": "hand-raise: demo_requested",
        "score": 62,
        "grade": "A",
        "buying_stage": "decision",
        "explanation": [
            {"label": "Demo requested", "points": 30},
            {"label": "Silence", "points": -5},
        ],
        "recent": [{"at": "2026-11-23 09:00", "what": "demo_requested"}],
        "accept_by": "2026-11-23 10:00 UTC",
        "link": "https://crm.example.com/v1/leads/L7",
    }

    def test_text_blocks_and_button(self) -> None:
        """The notification text names owner, lead and score; the blocks carry the score
        explanation, recent activity and a button to the lead; it is valid JSON."""
        message = webhook_message(self.SUMMARY)
        assert message.text.startswith("New SQL for Ana Lima: Ada <@channel> Lovelace")
        body = json.loads(message.model_dump_json())
        sections = "\n".join(
            b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "text" in b
        )
        assert "• Demo requested: +30" in sections and "• Silence: -5" in sections
        assert "2026-11-23 09:00 UTC: demo_requested" in sections
        button = body["blocks"][-1]["elements"][0]
        assert button["url"] == "https://crm.example.com/v1/leads/L7"

    def test_lead_data_cannot_inject_mentions(self) -> None:
        """A name like `<@channel>` is escaped in markdown fields, so it pings nobody."""
        message = webhook_message(self.SUMMARY)
        fields = json.dumps([b for b in message.blocks if b["type"] == "section"])
        header = message.blocks[0]["text"]
        assert "<@channel>" not in fields
        assert header["type"] == "plain_text"  # plain text is never parsed for mentions
