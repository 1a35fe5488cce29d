"""``nurture dev`` as a user runs it: one command, a form, the outbox, the UI, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nurture.devstack import listening, wait_for_port
from nurture.testing import free_port

pytestmark = pytest.mark.e2e

NURTURE = [sys.executable, "-m", "nurture.cli"]


def run_cli(*args: str, home: Path) -> str:
    done = subprocess.run(
        [*NURTURE, *args], cwd=home, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_dev_runs_the_whole_system_and_stops_cleanly(project_home: Path) -> None:
    """Form → thank-you in `nurture outbox`, Web UI up, lead shown; SIGINT stops all."""
    ports = {name: free_port() for name in ("temporal", "ui", "api", "smtp")}
    env = {**os.environ, "NURTURE_API_KEYS": "dev-key"}
    dev = subprocess.Popen(
        [
            *NURTURE,
            "dev",
            "--temporal-port",
            str(ports["temporal"]),
            "--ui-port",
            str(ports["ui"]),
            "--api-port",
            str(ports["api"]),
            "--smtp-port",
            str(ports["smtp"]),
        ],
        cwd=project_home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api_url = f"http://127.0.0.1:{ports['api']}"
    try:
        wait_for_port(ports["api"], 60, dev)  # type: ignore[arg-type]
        out = run_cli(
            "submit",
            "white-paper",
            "--email",
            "Margaret@Dev.example",
            "--first-name",
            "Margaret",
            "--api-url",
            api_url,
            home=project_home,
        )
        assert '"lead_id"' in out
        deadline = time.monotonic() + 10
        listing = ""
        while "Margaret" not in listing and time.monotonic() < deadline:
            time.sleep(0.1)
            listing = run_cli("outbox", home=project_home)
        assert "margaret@dev.example" in listing and "buying guide" in listing
        body = run_cli("outbox", "--show", "1", home=project_home)
        assert "Hello Margaret," in body and "buying-guide.pdf" in body
        shown = run_cli(
            "lead", "show", "margaret@dev.example", "--api-url", api_url, home=project_home
        )
        assert "**Stage:** new" in shown and "thank_you (sent)" in shown
        ui = httpx.get(f"http://127.0.0.1:{ports['ui']}/namespaces/default/workflows")
        assert ui.status_code == 200
    finally:
        dev.send_signal(signal.SIGINT)
        output, _ = dev.communicate(timeout=60)
    assert dev.returncode == 0, output
    assert "nurture dev: stopped." in output
    assert not any(listening(port) for port in ports.values()), "a child outlived nurture dev"


def test_dev_refuses_a_busy_port(project_home: Path) -> None:
    """Something already on the API port: a clear error naming it and the option, exit 1."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [
                *NURTURE,
                "dev",
                "--temporal-port",
                str(free_port()),
                "--ui-port",
                str(free_port()),
                "--smtp-port",
                str(free_port()),
                "--api-port",
                str(port),
            ],
            cwd=project_home,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"port {port} (api) is already in use" in done.stderr
    assert "--api-port" in done.stderr
