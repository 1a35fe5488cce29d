"""POST /v1/events: events for a lead, and the declared vocabulary of event types."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nurture.api import create_app
from nurture.config.settings import Settings
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import AUTH, KEY, fields, hashed
from tests.helpers import ROOT, told_events


class TestEvents:
    """Events reach known leads only."""

    def test_event_by_email(self, client: TestClient, gateway: MemoryLeadGateway) -> None:
        """By email: the same lead id as the form gave."""
        lead_id = client.post("/v1/forms/contact", json={"email": "a@b.example"}).json()["lead_id"]
        response = client.post(
            "/v1/events",
            headers=AUTH,
            json={
                "email": "A@B.example",
                "type": "page_viewed",
                "event_id": "e-1",
                "properties": {"section": "blog"},
            },
        )
        assert response.status_code == 202
        assert told_events(gateway)[0][0] == lead_id and told_events(gateway)[0][1].id == "e-1"

    def test_unknown_lead(self, client: TestClient) -> None:
        """An event for nobody is a 404 naming the lead as the caller did: by id, or by
        email (never by the keyed hash of the address)."""
        by_id = client.post(
            "/v1/events", headers=AUTH, json={"lead_id": "nobody", "type": "page_viewed"}
        )
        assert by_id.status_code == 404
        assert by_id.json()["detail"] == "no lead with id 'nobody'"
        by_email = client.post(
            "/v1/events", headers=AUTH, json={"email": "no@b.example", "type": "page_viewed"}
        )
        assert by_email.status_code == 404
        assert by_email.json()["detail"] == "no lead with email 'no@b.example'"
        assert hashed("no@b.example") not in by_email.text

    def test_needs_exactly_one_identity(self, client: TestClient) -> None:
        """Neither lead_id nor email: 422 saying so."""
        response = client.post("/v1/events", headers=AUTH, json={"type": "page_viewed"})
        assert response.status_code == 422
        assert "exactly one of lead_id or email" in response.text

    def test_naive_time_refused(self, client: TestClient) -> None:
        """occurred_at must carry a zone."""
        response = client.post(
            "/v1/events",
            headers=AUTH,
            json={"lead_id": "x", "type": "page_viewed", "occurred_at": "2026-01-01T10:00:00"},
        )
        assert response.status_code == 422 and "occurred_at" in fields(response)


class TestEventTypes:
    """Only declared event types are accepted; the declaration is read again when edited."""

    def test_unknown_type_names_the_near_matches(
        self, client: TestClient, gateway: MemoryLeadGateway
    ) -> None:
        """A typo is a 422 on `type` suggesting the declared type, and nothing is sent."""
        client.post("/v1/forms/contact", json={"email": "a@b.example"})
        response = client.post(
            "/v1/events", headers=AUTH, json={"email": "a@b.example", "type": "page_veiwed"}
        )
        assert response.status_code == 422
        assert fields(response)["type"].startswith(
            "unknown event type 'page_veiwed'; did you mean 'page_viewed'?"
        )
        assert told_events(gateway) == []

    def test_a_type_added_to_events_is_accepted_without_restart(
        self,
        gateway: MemoryLeadGateway,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """`webinar_attended` is refused, then declared in the project file the running API
        reads: accepted; a broken edit keeps the last good declaration."""
        config = tmp_path / "nurture.toml"
        shipped = (ROOT / "config" / "nurture.toml").read_text()
        config.write_text(shipped)
        monkeypatch.setenv("NURTURE_API_KEYS", KEY)
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        monkeypatch.setenv("NURTURE_CONFIG_FILE", str(config))
        body = {"email": "a@b.example", "type": "webinar_attended"}
        declared = shipped.replace("events = [", 'events = [\n    "webinar_attended",', 1)
        with TestClient(create_app(Settings(), gateway=gateway, ledger=MemoryLedger())) as api:
            api.post("/v1/forms/contact", json={"email": "a@b.example"})
            assert api.post("/v1/events", headers=AUTH, json=body).status_code == 422
            config.write_text(declared)
            assert api.post("/v1/events", headers=AUTH, json=body).status_code == 202
            config.write_text(shipped.replace("events = [", "events = [[[", 1))
            assert api.post("/v1/events", headers=AUTH, json=body).status_code == 202
        assert [e.type for _, e in told_events(gateway)] == ["webinar_attended", "webinar_attended"]
        assert any(
            "last good version stays in use" in r.getMessage() and str(config) in r.getMessage()
            for r in caplog.records
        )
