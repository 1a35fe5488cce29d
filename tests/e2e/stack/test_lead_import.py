"""``nurture import leads`` against the real stack, as a person runs it: a mixed export
(bad addresses, unknown choices, bad dates, repeated people, customers, BANT answers) gives
the report the file implies, no mail, leads with their fields and stages; the same file
again changes nothing; an import killed halfway completes when run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import leadcsv
from nurture.devtools.stack import DevStack
from nurture.testing import ScriptedSmtpServer
from tests.e2e.stack.tools import HEADERS, wait_until

pytestmark = pytest.mark.e2e


def run_import(stack: DevStack, file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nurture.cli", "import", "leads", str(file), *args],
        env=_env(stack),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _env(stack: DevStack) -> dict[str, str]:
    return {
        **os.environ,
        "NURTURE_API_URL": f"http://127.0.0.1:{stack.ports.api}",
        "NURTURE_API_KEY": HEADERS["X-API-Key"],
        "COLUMNS": "200",
    }


def lookup(api: httpx.Client, email: str) -> dict[str, Any] | None:
    """The lead's view; ``None`` when there is no such lead; ``{}`` while its workflow has
    not applied its row yet (waiting behind the import's backlog)."""
    response = api.post("/v1/leads/lookup", json={"email": email}, headers=HEADERS)
    if response.status_code == 404:
        return {} if response.json().get("pending") else None
    if response.status_code == 503:
        return {}
    response.raise_for_status()
    return dict(response.json())


def exists(api: httpx.Client, email: str) -> bool:
    """Whether the lead's workflow exists, applied or not yet (a lead still waiting for its
    first task behind an import's backlog answers 'pending', or not within the API's
    query timeout)."""
    response = api.post("/v1/leads/lookup", json={"email": email}, headers=HEADERS)
    if response.status_code == 404:
        return bool(response.json().get("pending"))
    return response.status_code in (200, 503)


def summary_line(out: str) -> str:
    return " ".join(out.split())


class TestImportLeads:
    def test_a_mixed_export_then_the_same_file_again(
        self, api: httpx.Client, stack: DevStack, smtp: ScriptedSmtpServer, tmp_path: Path
    ) -> None:
        domain = "e2e-import.example"
        file = tmp_path / "fair.csv"
        file.write_text(leadcsv.text(300, domain))
        want = leadcsv.expected(300)

        done = run_import(stack, file)
        out = summary_line(done.stdout)
        assert done.returncode == 1, done.stderr  # bad rows were reported
        assert (
            f"{want['rows']} rows read: {want['imported']} imported ({want['repeats']} naming "
            f"a lead an earlier row named), {want['leads']} leads, {want['bad']} bad rows. "
            "Origin: import:fair."
        ) in out
        assert "person7-at-nowhere" in out and "'a few coins'" in out
        assert "not a date: 'last tuesday'" in out

        customer = leadcsv.email_of(1, domain)
        wait_until(lambda: (lookup(api, customer) or {}).get("stage") == "customer", within=60)
        wait_until(lambda: bool(lookup(api, leadcsv.email_of(0, domain))), within=60)
        first = lookup(api, leadcsv.email_of(0, domain))
        assert first
        assert first["custom"] == {
            "budget": "none yet",
            "authority": "decides",
            "timeline": "this quarter",
        }
        assert first["conditions"] == ["held"]  # consented; enters no sequence until it acts
        for i in (2, 16):
            wait_until(lambda i=i: bool(lookup(api, leadcsv.email_of(i, domain))), within=60)
        mql = lookup(api, leadcsv.email_of(2, domain))
        assert mql and mql["stage"] == "mql"
        assert sorted(mql["conditions"]) == ["held", "no_consent"]
        updated = lookup(api, leadcsv.email_of(16, domain))  # row 17 updated its job title
        assert updated and updated["person"]["job_title"] == "Chief Revenue Officer"
        assert lookup(api, leadcsv.email_of(7, domain)) is None  # its address was bad

        again = run_import(stack, file)
        assert summary_line(again.stdout).count(f"{want['imported']} imported") == 1
        time.sleep(2)
        assert lookup(api, leadcsv.email_of(0, domain)) == first
        assert not [m for m in smtp.messages if domain in str(m["To"])]

    def test_an_import_killed_halfway_completes_when_run_again(
        self, api: httpx.Client, stack: DevStack, tmp_path: Path
    ) -> None:
        domain = "e2e-killed.example"
        rows = 2500
        file = tmp_path / "killed.csv"
        file.write_text(leadcsv.text(rows, domain))
        args = [sys.executable, "-m", "nurture.cli", "import", "leads", str(file)]
        started = subprocess.Popen(
            [*args, "--source", "referral"], env=_env(stack), start_new_session=True
        )
        wait_until(lambda: exists(api, leadcsv.email_of(50, domain)), within=60)
        os.killpg(started.pid, signal.SIGKILL)
        started.wait()
        assert not exists(api, leadcsv.email_of(rows - 1, domain))  # it was halfway

        done = run_import(stack, file, "--source", "referral")
        want = leadcsv.expected(rows)
        assert f"{want['leads']:,} leads" in summary_line(done.stdout), done.stdout
        last = leadcsv.email_of(rows - 1, domain)
        wait_until(lambda: exists(api, last), within=120)
        wait_until(lambda: _applied(api, last), within=120)
        # Every person once: a repeated person's lead shows the last row it was given.
        wait_until(lambda: _applied(api, leadcsv.email_of(rows - 9, domain)), within=60)
        repeated = lookup(api, leadcsv.email_of(rows - 9, domain))  # rows - 8 updates it
        assert repeated
        assert repeated["person"]["job_title"] == "Chief Revenue Officer"


def _applied(api: httpx.Client, email: str) -> bool:
    response = api.post("/v1/leads/lookup", json={"email": email}, headers=HEADERS)
    return response.status_code == 200
