"""Signed mail reports from the sending provider: bounces and complaints."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nurture.adapters.links.tokens import email_hash
from nurture.api import create_app
from nurture.api.routes.webhooks import signature
from nurture.config.settings import Settings
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY, fields
from tests.helpers import ROOT


class TestMailReports:
    """POST /v1/webhooks/mail-reports: signed with NURTURE_WEBHOOK_SECRET, else refused."""

    SECRET = "hook-secret"
    BODY = json.dumps(
        {"report_id": "r-1", "type": "bounce", "bounce_type": "hard", "email": "a@b.example"}
    ).encode()

    @pytest.fixture
    def hooked(
        self, gateway: MemoryLeadGateway, ledger: MemoryLedger, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[TestClient]:
        monkeypatch.setenv("NURTURE_API_KEYS", KEY)
        monkeypatch.setenv("NURTURE_HOME", str(ROOT))
        monkeypatch.setenv("NURTURE_WEBHOOK_SECRET", self.SECRET)
        with TestClient(create_app(Settings(), gateway=gateway, ledger=ledger)) as test_client:
            yield test_client

    def post(self, client: TestClient, body: bytes, secret: str = SECRET, skew: int = 0) -> Any:
        stamp = str(int(time.time()) + skew)
        return client.post(
            "/v1/webhooks/mail-reports",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Nurture-Timestamp": stamp,
                "X-Nurture-Signature": signature(secret.encode(), stamp, body),
            },
        )

    def test_signed_hard_bounce_suppresses(self, hooked: TestClient, ledger: MemoryLedger) -> None:
        response = self.post(hooked, self.BODY)
        assert response.status_code == 200 and response.json()["action"] == "suppressed"
        assert email_hash("a@b.example", Settings().secret()) in ledger.suppressions

    @pytest.mark.parametrize(
        ("secret", "skew", "detail"),
        [("wrong", 0, "invalid signature"), (SECRET, -600, "stale request")],
    )
    def test_bad_signatures_change_nothing(
        self, hooked: TestClient, ledger: MemoryLedger, secret: str, skew: int, detail: str
    ) -> None:
        response = self.post(hooked, self.BODY, secret, skew)
        assert response.status_code == 401 and detail in response.json()["detail"]
        assert ledger.suppressions == {}

    def test_unsigned_or_altered(self, hooked: TestClient, ledger: MemoryLedger) -> None:
        unsigned = hooked.post("/v1/webhooks/mail-reports", content=self.BODY)
        assert unsigned.status_code == 401
        stamp = str(int(time.time()))
        altered = hooked.post(
            "/v1/webhooks/mail-reports",
            content=self.BODY.replace(b"a@b", b"c@d"),
            headers={
                "X-Nurture-Timestamp": stamp,
                "X-Nurture-Signature": signature(self.SECRET.encode(), stamp, self.BODY),
            },
        )
        assert altered.status_code == 401 and ledger.suppressions == {}

    def test_bad_report_names_the_field(self, hooked: TestClient) -> None:
        body = json.dumps({"report_id": "r", "type": "bounce", "email": "nope"}).encode()
        response = self.post(hooked, body)
        assert response.status_code == 422
        assert "email" in fields(response)

    def test_off_without_a_secret(self, client: TestClient) -> None:
        response = self.post(client, self.BODY)
        assert response.status_code == 503 and "NURTURE_WEBHOOK_SECRET" in response.text
