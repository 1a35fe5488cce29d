"""``nurture export leads`` against the real API routes over an in-memory gateway, and
``nurture export facts`` over a facts store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nurture.cli import app
from nurture.domain.lead.listing import LeadPage, LeadRow
from nurture.domain.lead.state import start_state
from nurture.domain.lead.view import lead_view
from nurture.domain.models import ContactDetails
from nurture.testing import MemoryLeadGateway
from tests.api.apitools import KEY
from tests.helpers import T0, scoring_model

ARGS = ["--api-key", KEY, "--tz", "Europe/Paris"]


class _Through(httpx.AsyncBaseTransport):
    """Sends the CLI's async requests to the app under test."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.client.request(
            request.method, str(request.url), headers=dict(request.headers)
        )
        return httpx.Response(answer.status_code, content=answer.content)


@pytest.fixture
def cli(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    def api_client(api_url: str, api_key: str) -> httpx.AsyncClient:
        headers = {"X-API-Key": api_key}
        return httpx.AsyncClient(base_url=api_url, headers=headers, transport=_Through(client))

    monkeypatch.setattr("nurture.cli.export.api_client", api_client)
    return CliRunner()


def _known(gateway: MemoryLeadGateway, *ids: str) -> None:
    model = scoring_model()
    for lead_id in ids:
        view = lead_view(start_state(lead_id, model), model, T0)
        person = ContactDetails(email=f"{lead_id}@x.example", company="=1+1")
        gateway.views[lead_id] = view.model_copy(update={"person": person})


class TestExportLeads:
    """Each listed lead becomes a row with its contact details; filters reach the API."""

    def test_csv(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        _known(gateway, "l1", "l2")
        gateway.page = LeadPage(leads=(LeadRow(lead_id="l1"), LeadRow(lead_id="l2")))
        result = cli.invoke(app, ["export", "leads", *ARGS])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
        assert [r["email"] for r in rows] == ["l1@x.example", "l2@x.example"]
        assert rows[0]["company"] == "'=1+1"

    def test_custom_fields_as_columns(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        """The project's declared fields are columns (the shipped BANT and message), each
        lead's value in its own; --field picks some."""
        _known(gateway, "l1")
        view = gateway.views["l1"]
        gateway.views["l1"] = view.model_copy(update={"custom": {"budget": "over 50k"}})
        gateway.page = LeadPage(leads=(LeadRow(lead_id="l1"),))
        result = cli.invoke(app, ["export", "leads", *ARGS])
        assert result.exit_code == 0, result.output
        [row] = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
        assert row["custom.budget"] == "over 50k" and row["custom.timeline"] == ""
        picked = cli.invoke(
            app, ["export", "leads", "--field", "budget", "--format", "jsonl", *ARGS]
        )
        record = json.loads(picked.stdout)
        assert record["custom.budget"] == "over 50k" and "custom.timeline" not in record

    def test_filters_and_erased(self, cli: CliRunner, gateway: MemoryLeadGateway) -> None:
        """A lead gone between the list and its fetch is left out, not an error."""
        _known(gateway, "l1")
        gateway.page = LeadPage(leads=(LeadRow(lead_id="l1"), LeadRow(lead_id="gone")))
        argv = ["export", "leads", "--grade", "A", "--min-score", "50", "--owner", "ana"]
        argv += ["--sequence", "discovery", "--next-touch-before", "2026-03-03"]
        argv += ["--stage", "sql", "--format", "jsonl", *ARGS]
        result = cli.invoke(app, argv)
        assert result.exit_code == 0, result.output
        assert [json.loads(x)["lead_id"] for x in result.stdout.splitlines()] == ["l1"]
        ((filters, size, token),) = gateway.listings
        assert (filters.stage, filters.grade, filters.min_score, filters.owner) == (
            "sql",
            "A",
            50,
            "ana",
        )
        assert filters.sequence == "discovery" and (size, token) == (100, None)
        assert filters.next_touch_before is not None
        assert filters.next_touch_before.isoformat() == "2026-03-03T00:00:00+01:00"

    def test_to_a_file(self, cli: CliRunner, gateway: MemoryLeadGateway, tmp_path: Path) -> None:
        _known(gateway, "l1")
        gateway.page = LeadPage(leads=(LeadRow(lead_id="l1"),))
        target = tmp_path / "leads.csv"
        assert cli.invoke(app, ["export", "leads", "-o", str(target), *ARGS]).exit_code == 0
        assert target.read_bytes().startswith(b"lead_id,email,") and b"\r\n" in target.read_bytes()

    def test_wrong_key(self, cli: CliRunner) -> None:
        result = cli.invoke(app, ["export", "leads", "--api-key", "nope"])
        assert result.exit_code == 1 and "refused the key" in result.stderr
