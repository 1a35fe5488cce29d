"""End-to-end fixtures: a project folder and a whole stack of real processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from nurture.devtools.stack import DevPorts, DevStack
from nurture.testing import free_port
from tests.conftest import write_always_open_config
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def project_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder like a user's checkout, with its own .nurture/ data."""
    return make_project_home(tmp_path_factory)


def make_project_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder like a user's checkout: the shipped configuration, with a send
    window that never closes and a quick second conversion."""
    home = tmp_path_factory.mktemp("home")
    for name in ("worker.py", "templates"):
        (home / name).symlink_to(ROOT / name)
    # The shipped configuration with a send window that never closes: end-to-end results
    # must not depend on the hour the suite runs at.
    (home / "config").mkdir()
    (home / "config" / "scoring.toml").symlink_to(ROOT / "config" / "scoring.toml")
    (home / "config" / "sales.toml").symlink_to(ROOT / "config" / "sales.toml")
    config = write_always_open_config(home / "config")
    # A form whose welcome email is due 20 s after the post: a marketing email scheduled
    # close enough for a test to unsubscribe before it goes.
    config.write_text(
        config.read_text()
        + """
[forms.quick-guide]
event = "content_downloaded"
properties = { content = "buying-guide" }
source = "inbound"
second_conversion_delay = "20s"
offer = { title = "The quick guide", url = "https://www.example.com/guides/quick.pdf" }
related = [{ title = "The long guide", url = "https://www.example.com/guides/long.pdf" }]

# A test clicks a second after the mail: no security scanner is that slow to be believed.
[tracking]
scanner_window = "1s"
"""
    )
    return home


@contextmanager
def running_stack(home: Path, smtp_port: int, env: dict[str, str]) -> Iterator[DevStack]:
    """Dev server, worker and API on free ports of 127.0.0.1, mailing ``smtp_port``, no UI
    and no sink; stopped (every process, every port) however the block ends."""
    ports = DevPorts(temporal=free_port(), ui=free_port(), api=free_port(), smtp=smtp_port)
    dev = DevStack(home, ports, ui=False, sink=False, extra_env=env)
    try:
        dev.start()
        yield dev
    finally:
        dev.stop()


@contextmanager
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """A stack of a module's own (its leads alone: counts over every lead stay exact),
    mailing a scripted SMTP server that accepts everything; API key ``e2e-key``."""
    from nurture.testing import ScriptedSmtpServer

    with (
        ScriptedSmtpServer() as smtp,
        running_stack(
            make_project_home(tmp_path_factory), smtp.port, {"NURTURE_API_KEYS": "e2e-key"}
        ) as dev,
    ):
        yield dev


@contextmanager
def api_client(stack: DevStack) -> Iterator[httpx.Client]:
    """An HTTP client on the stack's API."""
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ports.api}", timeout=30) as client:
        yield client
