"""What ``nurture lead show``, ``nurture leads list`` and the API's refusals print, against
the real API routes over an in-memory gateway (the CLI's HTTP calls go to the app)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nurture.cli import app
from nurture.cli.common import api_error
from nurture.domain.lead.listing import LeadPage, LeadRow
from nurture.domain.lead.state import EmailRecord, Enrolment, Transition, start_state
from nurture.domain.lead.view import LeadView, lead_view
from nurture.domain.lifecycle import Stage
from nurture.domain.models import ContactDetails
from nurture.domain.sales.records import HandOff, SalesEntry
from nurture.domain.scoring import ScoreLine
from nurture.testing import MemoryLeadGateway
from tests.api.apitools import KEY
from tests.helpers import T0, scoring_model

LEAD = "3f2a9c0e5b7d41a8b6c2d9e0f1a2b3c4"
ARGS = ["--api-key", KEY, "--tz", "Europe/Paris"]


@pytest.fixture
def cli(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands reach the app under test, 100 columns wide."""

    def request(method: str, url: str, timeout: float, **kw: object) -> object:
        return client.request(method, url, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("nurture.cli.common.httpx.request", request)
    monkeypatch.setenv("COLUMNS", "100")
    return CliRunner()


def _view() -> LeadView:
    base = lead_view(start_state(LEAD, scoring_model()), scoring_model(), T0)
    return base.model_copy(
        update={
            "stage": Stage.SQL,
            "person": ContactDetails(
                email="ada@globex.example", first_name="Ada", company="Globex", job_title="CTO"
            ),
            "score": 85,
            "custom": {"budget": "over 50k"},
            "explanation": (
                ScoreLine(rule="title", label="Job title: director", kind="fit", points=20),
                ScoreLine(
                    rule="pricing", label="Viewed pricing", kind="behaviour", points=15, hits=3
                ),
                ScoreLine(
                    rule="quiet", label="Quiet for 30 days", kind="inactivity", points=-5, hits=2
                ),
            ),
            "transitions": (
                Transition(
                    field="stage",
                    from_value="mql",
                    to_value="sql",
                    at=T0,
                    reason="score 85 reached",
                    score=85,
                ),
            ),
            "emails": (
                EmailRecord(
                    key="k1",
                    template="welcome",
                    kind="marketing",
                    status="sent",
                    at=T0,
                    sequence="welcome",
                    version=1,
                ),
            ),
            "handoffs": (
                HandOff(
                    number=1,
                    started_at=T0,
                    trigger="score",
                    owner="ana",
                    owner_name="Ana Lopez",
                    assigned_at=T0,
                    accept_by=T0 + timedelta(hours=4),
                ),
            ),
            "enrolments": (
                Enrolment(
                    sequence="discovery",
                    version=2,
                    number=1,
                    priority=20,
                    workflow_id=f"lead-{LEAD}/seq-discovery-v2-e1",
                    started_at=T0,
                    step="wait 3d",
                    next_touch_at=T0 + timedelta(days=3),
                ),
            ),
            "sales_log": (
                SalesEntry(at=T0, kind="assigned", actor="nurture", detail="assigned to Ana Lopez"),
            ),
        }
    )


class TestLeadShow:
    """``lead show`` draws panels and tables in the chosen time zone; ``--json`` stays the
    API's answer."""

    @pytest.fixture(autouse=True)
    def known(self, gateway: MemoryLeadGateway) -> None:
        gateway.views[LEAD] = _view()

    def test_sections(self, cli: CliRunner) -> None:
        """Who and where the lead stands, the score's rules with points and hits apart,
        stage changes, emails, the SLA deadline and the sales log."""
        result = cli.invoke(app, ["lead", "show", LEAD, *ARGS])
        assert result.exit_code == 0, result.output
        out = result.output
        assert f"Lead {LEAD}" in out and "sql" in out and "85 (grade" in out
        assert "Ada (CTO)" in out and "Globex" in out and "ada@globex.example" in out
        assert "Answers" in out and re.search(r"budget\s*│\s*over 50k", out)
        assert "Viewed pricing" in out and "+15" in out and "│    3 │" in out
        assert "mql → sql" in out and "score 85 reached" in out
        assert "welcome v1" in out and "Ana Lopez" in out and "assigned to Ana Lopez" in out
        assert "discovery v2 (entry 1)" in out and "wait 3d" in out and "2026-03-05 10:00" in out
        assert "**" not in out and "| rule |" not in out  # no raw Markdown

    def test_times_in_the_chosen_zone(self, cli: CliRunner) -> None:
        """09:00 UTC in March is 10:00 in Paris; the SLA deadline is 4 hours later."""
        out = cli.invoke(app, ["lead", "show", LEAD, *ARGS]).output
        assert "2026-03-02 10:00 CET" in out and "accept by 2026-03-02 14:00 CET" in out
        out = cli.invoke(app, ["lead", "show", LEAD, "--api-key", KEY, "--tz", "UTC"]).output
        assert "2026-03-02 09:00 UTC" in out and "10:00 CET" not in out

    def test_json(self, cli: CliRunner) -> None:
        """``--json``: the API's answer, parseable."""
        result = cli.invoke(app, ["lead", "show", LEAD, "--json", "--api-key", KEY])
        assert json.loads(result.output)["score"] == 85

    def test_unknown_zone(self, cli: CliRunner) -> None:
        """A zone that does not exist: a bad parameter saying so, before any call."""
        result = cli.invoke(app, ["lead", "show", LEAD, "--tz", "Mars/Olympus"])
        assert result.exit_code == 2 and "is not a time zone" in result.output


class TestLeadsList:
    """``leads list`` prints one row per lead, the next page's token, or that none match."""

    def test_rows_and_next_page(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        row = LeadRow(lead_id=LEAD, stage="mql", score=42, grade="B", owner="ana", next_touch_at=T0)
        gateway.page = LeadPage(leads=(row,), next_page_token="bmV4dA")
        result = cli.invoke(app, ["leads", "list", "--stage", "mql", "--limit", "1", *ARGS])
        assert result.exit_code == 0, result.output
        assert LEAD in result.output and "Times in CET." in result.output
        assert "02 Mar 10:00" in result.output and "--page bmV4dA" in result.output

    def test_narrow_terminal(
        self, cli: CliRunner, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """At 80 columns the last activity goes, and the lead id stays whole on its line."""
        monkeypatch.setenv("COLUMNS", "80")
        gateway.page = LeadPage(leads=(LeadRow(lead_id=LEAD, stage="opportunity", score=9),))
        out = cli.invoke(app, ["leads", "list", *ARGS]).output
        assert "Next touch" in out and "Last active" not in out
        assert any(line.startswith(LEAD) for line in out.splitlines())
        assert max(len(line) for line in out.splitlines()) <= 80

    def test_filters_reach_the_api(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        """A date is its midnight in the chosen zone."""
        argv = ["leads", "list", "--grade", "A", "--min-score", "50", "--owner", "ana"]
        argv += ["--sequence", "discovery", "--next-touch-before", "2026-03-03", *ARGS]
        assert cli.invoke(app, argv).exit_code == 0
        ((filters, size, token),) = gateway.listings
        assert (filters.grade, filters.min_score, filters.owner, size, token) == (
            "A",
            50,
            "ana",
            25,
            None,
        )
        assert filters.next_touch_before is not None
        assert filters.next_touch_before.isoformat() == "2026-03-03T00:00:00+01:00"

    def test_none_match(self, cli: CliRunner) -> None:
        result = cli.invoke(app, ["leads", "list", *ARGS])
        assert result.exit_code == 0 and "No open lead matches." in result.output

    def test_json(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        gateway.page = LeadPage(leads=(LeadRow(lead_id=LEAD),))
        result = cli.invoke(app, ["leads", "list", "--json", "--api-key", KEY])
        assert json.loads(result.output)["leads"][0]["lead_id"] == LEAD


class TestErrors:
    """An API refusal prints as sentences on stderr, never as JSON, and exits 1."""

    def test_unknown_lead(self, cli: CliRunner) -> None:
        result = cli.invoke(app, ["lead", "show", "nobody", *ARGS])
        assert result.exit_code == 1
        assert result.stderr.strip() == "No lead with id 'nobody'."

    def test_bad_field_named(self, cli: CliRunner) -> None:
        """A hostile owner: the field and its rule, one line."""
        result = cli.invoke(app, ["leads", "list", "--owner", "x' OR '1'='1", *ARGS])
        assert result.exit_code == 1 and result.stderr.startswith("owner: ")
        assert "{" not in result.stderr and "422" not in result.stderr

    def test_bad_email_on_submit(self, cli: CliRunner) -> None:
        result = cli.invoke(app, ["submit", "contact", "--email", "not-an-address"])
        assert result.exit_code == 1 and result.stderr.startswith("email: ")

    def test_wrong_key(self, cli: CliRunner) -> None:
        result = cli.invoke(app, ["lead", "show", LEAD, "--api-key", "wrong"])
        assert result.exit_code == 1
        assert "The API refused the key" in result.stderr and "NURTURE_API_KEY" in result.stderr

    def test_refused_action(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        gateway.views[LEAD] = _view()
        gateway.refuse = "the lead is not in sales"
        result = cli.invoke(app, ["lead", "act", "accept", LEAD, "--actor", "ana", *ARGS])
        assert result.exit_code == 1
        assert result.stderr.strip() == "Refused, nothing was changed: the lead is not in sales."

    @pytest.mark.parametrize(
        ("status", "text", "said"),
        [
            (
                500,
                '{"detail": "internal error", "error_id": "ab12"}',
                "Internal error (error id ab12",
            ),
            (502, "<html>Bad gateway</html>", "The API answered 502 with no explanation."),
            (422, '{"detail": [{"field": "", "message": "bad"}]}', "request: bad"),
        ],
    )
    def test_any_answer_is_a_sentence(self, status: int, text: str, said: str) -> None:
        assert api_error(status, text).startswith(said)
