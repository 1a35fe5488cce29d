"""One stack of real processes shared by this folder's tests: dev server, worker, API, and
mail through the scriptable SMTP server of ``nurture.testing`` (so a test can hold mail
back, answering 451, while it kills the worker)."""

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
    """The project folder the shared stack runs in."""
    return make_project_home(tmp_path_factory)


@pytest.fixture(scope="package")
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="package")
def stack(stack_home: Path, smtp: ScriptedSmtpServer) -> Iterator[DevStack]:
    # Three signals per run: leads continue as new often here, on a real server.
    # And answers awaited 5 s: a worker killed mid-answer is dealt with in seconds.
    env = {"NURTURE_API_KEYS": "e2e-key", "NURTURE_MAX_INBOUND_PER_RUN": "3", "SMTP_TIMEOUT": "5"}
    with running_stack(stack_home, smtp.port, env) as dev:
        yield dev


@pytest.fixture(scope="package")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with api_client(stack) as client:
        yield client
