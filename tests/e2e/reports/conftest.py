"""A stack of its own for the reports scenario: its facts are the scenario's alone, so every
figure the reports give can be checked exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.conftest import api_client, make_project_home, running_stack


@pytest.fixture(scope="package")
def stack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project_home(tmp_path_factory)


@pytest.fixture(scope="package")
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="package")
def stack(stack_home: Path, smtp: ScriptedSmtpServer) -> Iterator[DevStack]:
    with running_stack(stack_home, smtp.port, {"NURTURE_API_KEYS": "e2e-key"}) as dev:
        yield dev


@pytest.fixture(scope="package")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client
