"""``nurture dev`` as a user runs it: one command, a form, the outbox, the UI, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from nurture.adapters.mail.sink import OutboxMessage, read_outbox
from nurture.devtools.stack import listening, wait_for_port
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
            "--job-title",
            "Marketing director",
            "--field",
            "company_size=80",
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
        # The Rich view: who, the stage, the thank-you among the emails sent.
        assert "Margaret" in shown and re.search(r"Stage\s+new", shown), shown
        assert re.search(r"thank_you\s.*\ssent", shown), shown
        ui = httpx.get(f"http://127.0.0.1:{ports['ui']}/namespaces/default/workflows")
        assert ui.status_code == 200
        unsubscribe_by_mail_then_erase(project_home, api_url, ports["smtp"])
    finally:
        dev.send_signal(signal.SIGINT)
        output, _ = dev.communicate(timeout=60)
    assert dev.returncode == 0, output
    assert "nurture dev: stopped." in output
    assert not any(listening(port) for port in ports.values()), "a child outlived nurture dev"


def unsubscribe_by_mail_then_erase(home: Path, api_url: str, smtp_port: int) -> None:
    """Margaret reaches the evaluation stage and gets the buying guide, a marketing email
    with both unsubscribe headers; her mail client answers the mailto; the sink (playing
    the unsubscribe mailbox) posts the one-click URL and she is unsubscribed. Then
    `nurture lead erase` deletes her, her messages in the outbox included."""
    for n in range(6):
        run_cli(
            "event",
            "page_viewed",
            "--email",
            "margaret@dev.example",
            "--prop",
            "section=product",
            "--event-id",
            f"m-{n}",
            "--api-url",
            api_url,
            home=home,
        )
    outbox = home / ".nurture" / "outbox"

    def guide() -> OutboxMessage | None:
        return next(
            (m for m in read_outbox(outbox) if m.message["X-Nurture-Template"] == "buying_guide"),
            None,
        )

    deadline = time.monotonic() + 20
    while guide() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    found = guide()
    assert found is not None, "no buying guide in the outbox"
    assert found.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mailto = str(found.message["List-Unsubscribe"]).split(",")[1].strip(" <>")
    address, _, query = mailto.removeprefix("mailto:").partition("?subject=")
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "margaret@dev.example", address, unquote(query)
    reply.set_content("unsubscribe")
    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        smtp.send_message(reply)
    deadline = time.monotonic() + 20
    shown = ""
    while "unsubscribed" not in shown and time.monotonic() < deadline:
        time.sleep(0.2)
        shown = run_cli("lead", "show", "margaret@dev.example", "--api-url", api_url, home=home)
    assert re.search(r"Stage\s+\w+ \(unsubscribed\)", shown), shown

    erased = run_cli(
        "lead", "erase", "margaret@dev.example", "--yes", "--api-url", api_url, home=home
    )
    assert "address suppressed" in erased
    left = [m for m in read_outbox(outbox) if "margaret" in m.to.lower()]
    assert left == []


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
