"""A stack of its own for the reports scenario: its facts are the scenario's alone, so every
figure the reports give can be checked exactly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nurture.devtools.stack import DevPorts, DevStack
from nurture.testing import ScriptedSmtpServer, free_port
from tests.e2e.conftest import make_project_home


@pytest.fixture(scope="package")
def stack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project_home(tmp_path_factory)


@pytest.fixture(scope="package")
def smtp() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture(scope="package")
def stack(stack_home: Path, smtp: ScriptedSmtpServer) -> Iterator[DevStack]:
    ports = DevPorts(temporal=free_port(), ui=free_port(), api=free_port(), smtp=smtp.port)
    dev = DevStack(
        stack_home, ports, ui=False, sink=False, extra_env={"NURTURE_API_KEYS": "e2e-key"}
    )
    try:
        dev.start()
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="package")
def api(stack: DevStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.api}", timeout=30) as client:
        yield client
