"""Which addresses a form takes: only those nurture can send email to, decided at intake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from nurture.api import create_app
from nurture.config.settings import Settings
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.helpers import ROOT


def client_for(monkeypatch: pytest.MonkeyPatch, smtputf8: bool) -> TestClient:
    monkeypatch.setenv("NURTURE_HOME", str(ROOT))
    monkeypatch.setenv("SMTP_SMTPUTF8", "true" if smtputf8 else "false")
    return TestClient(create_app(Settings(), gateway=MemoryLeadGateway(), ledger=MemoryLedger()))


@pytest.fixture
def plain_relay(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with client_for(monkeypatch, smtputf8=False) as client:
        yield client


NON_ASCII_LOCAL = ["jos\u00e9@example.com", "\u0430da@example.com", "\uff41da@example.com"]
"""Accented, Cyrillic and fullwidth letters before the @ (escaped: they look like ASCII)."""


class TestWithoutSmtputf8:
    """The default relay takes ASCII local parts only: anything else is a 422 on ``email``."""

    @pytest.mark.parametrize("address", NON_ASCII_LOCAL)
    def test_refused_naming_the_field(self, plain_relay: TestClient, address: str) -> None:
        gateway = plain_relay.app.state.gateway  # type: ignore[attr-defined]
        response = plain_relay.post("/v1/forms/white-paper", json={"email": address})
        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["field"] == "email" and "before the @" in error["message"]
        assert gateway.forms == []

    def test_the_urlencoded_path_refuses_too(self, plain_relay: TestClient) -> None:
        response = plain_relay.post("/v1/forms/white-paper", data={"email": "josé@example.com"})
        assert response.status_code == 422

    def test_an_international_domain_is_fine(self, plain_relay: TestClient) -> None:
        """Its ASCII (IDNA) form needs no SMTPUTF8."""
        response = plain_relay.post("/v1/forms/white-paper", json={"email": "ada@exämple.com"})
        assert response.status_code == 202


class TestWithSmtputf8:
    """``SMTP_SMTPUTF8=true``: the relay takes them, so the form does."""

    @pytest.mark.parametrize("address", NON_ASCII_LOCAL)
    def test_accepted(self, monkeypatch: pytest.MonkeyPatch, address: str) -> None:
        with client_for(monkeypatch, smtputf8=True) as client:
            response = client.post("/v1/forms/white-paper", json={"email": address})
        assert response.status_code == 202
