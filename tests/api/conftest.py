"""The app under test, with an in-memory gateway, ledger and facts store (a module may bring
its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from nurture.api import create_app
from nurture.config.settings import Settings
from nurture.testing import MemoryFactStore, MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY
from tests.helpers import ROOT


@pytest.fixture
def gateway() -> MemoryLeadGateway:
    return MemoryLeadGateway()


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture
def facts() -> MemoryFactStore:
    return MemoryFactStore()


@pytest.fixture
def client(
    gateway: MemoryLeadGateway,
    ledger: MemoryLedger,
    facts: MemoryFactStore,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    monkeypatch.setenv("NURTURE_API_KEYS", f"other-key,{KEY}")
    monkeypatch.setenv("NURTURE_HOME", str(ROOT))
    app = create_app(Settings(), gateway=gateway, ledger=ledger, facts=facts)
    with TestClient(app) as test_client:
        yield test_client
