"""A broken configuration stops the worker and the API at start, and fails CI, by name.

Real processes, as an operator or CI runs them; no Temporal server is needed: a process that
gets as far as connecting has already failed the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nurture.testing import free_port
from tests.configfiles import break_file, copy_project
from tests.helpers import ROOT

pytestmark = pytest.mark.e2e

BROKEN_POINTS = ("points = 2\ncap = 20", 'points = "two"\ncap = 20')
INVALID_POINTS = "behaviour.2.points: Input should be a valid integer"


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``argv`` run to its end from ``cwd``, Temporal pointed at a port nobody listens on."""
    settings = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    settings |= {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", **env}
    return subprocess.run(
        argv, cwd=cwd, env=settings, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A project folder like a user's, with copies of the shipped configuration."""
    return copy_project(tmp_path / "home")


class TestWorkerRefusesToStart:
    """``python worker.py`` with a broken file exits 1, naming file, line and rule."""

    def test_broken_scoring_file(self, home: Path) -> None:
        """Before connecting to anything or opening the ledger."""
        line = break_file(home / "config" / "scoring.toml", *BROKEN_POINTS)
        result = run([sys.executable, "worker.py"], home)
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines() == [
            "worker: not starting: 1 error in the configuration",
            f"  config/scoring.toml:{line}: {INVALID_POINTS}, unable to parse string as an integer",
        ]
        assert not (home / ".nurture").exists(), "the ledger was opened"

    def test_every_file_from_nurture_home(self, home: Path) -> None:
        """Run from another project's folder with NURTURE_HOME and a moved sales file: each
        problem of each file of NURTURE_HOME at its line."""
        scoring = break_file(home / "config" / "scoring.toml", *BROKEN_POINTS)
        sales_file = home / "team.toml"
        (home / "config" / "sales.toml").rename(sales_file)
        sales = break_file(sales_file, "capacity = 25", "capacity = 0")
        result = run(
            [sys.executable, str(home / "worker.py")],
            ROOT,
            NURTURE_HOME=str(home),
            NURTURE_SALES_FILE="team.toml",
        )
        assert result.returncode == 1
        assert (
            result.stderr.splitlines()[0] == "worker: not starting: 2 errors in the configuration"
        )
        assert f"  {home}/config/scoring.toml:{scoring}: {INVALID_POINTS}" in result.stderr
        assert f"  {sales_file}:{sales}: reps.1.capacity: Input should be greater" in result.stderr


class TestWorkerCommandRunsWorkerPy:
    """``nurture worker`` runs the same wiring as ``python worker.py``: the same refusal,
    word for word, with the same exit code."""

    def test_in_the_project_folder(self, home: Path) -> None:
        """Both run from the project folder."""
        break_file(home / "config" / "scoring.toml", *BROKEN_POINTS)
        script = run([sys.executable, "worker.py"], home)
        command = run([sys.executable, "-m", "nurture.cli", "worker"], home)
        assert (command.returncode, command.stderr) == (1, script.stderr)
        assert "worker: not starting: 1 error in the configuration" in command.stderr

    def test_from_elsewhere(self, home: Path) -> None:
        """``--home`` from another folder is the script with NURTURE_HOME."""
        break_file(home / "config" / "scoring.toml", *BROKEN_POINTS)
        script = run([sys.executable, str(home / "worker.py")], ROOT, NURTURE_HOME=str(home))
        command = run([sys.executable, "-m", "nurture.cli", "worker", "--home", str(home)], ROOT)
        assert (command.returncode, command.stderr) == (1, script.stderr)
        assert f"  {home}/config/scoring.toml:" in command.stderr


class TestApiRefusesToStart:
    """``nurture api`` with a broken file exits 1 the same way, and never listens."""

    def test_broken_scoring_file(self, home: Path) -> None:
        line = break_file(home / "config" / "scoring.toml", *BROKEN_POINTS)
        result = run(
            [sys.executable, "-m", "nurture.cli", "api"], home, NURTURE_API_PORT=str(free_port())
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.splitlines()[:2] == [
            "nurture api: not starting: 1 error in the configuration",
            f"  config/scoring.toml:{line}: {INVALID_POINTS}, unable to parse string as an integer",
        ]
        assert "Traceback" not in result.stderr


class TestConfigCheckCommand:
    """``nurture config check`` for CI: every problem, one per line; exit 1 on errors only."""

    def test_shipped_configuration(self) -> None:
        """The repository's configuration: exit 0, and what was checked."""
        result = run([sys.executable, "-m", "nurture.cli", "config", "check"], ROOT)
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout == (
            "configuration OK (0 warnings): config/nurture.toml, config/scoring.toml, "
            "config/sales.toml, templates/emails\n"
        )

    def test_errors_and_warnings(self, home: Path) -> None:
        """An error and a warning: both listed, errors first, and exit 1."""
        nurture = break_file(
            home / "config" / "nurture.toml", 'forms = ["newsletter"]', 'forms = ["newsleter"]'
        )
        scoring = break_file(home / "config" / "scoring.toml", *BROKEN_POINTS)
        result = run([sys.executable, "-m", "nurture.cli", "config", "check"], home)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"config/scoring.toml:{scoring}: {INVALID_POINTS}, unable to parse string as an "
            "integer",
            f"config/nurture.toml:{nurture}: warning: enrolment.2.forms.0: no form "
            "'newsleter' in [forms]: this rule never matches a new lead by it",
            "1 error, 1 warning in the configuration: config/nurture.toml, "
            f"config/scoring.toml, config/sales.toml, {ROOT / 'templates' / 'emails'}",
        ]

    def test_warnings_alone_pass(self, home: Path) -> None:
        """Only a warning: printed, and exit 0."""
        break_file(home / "config" / "nurture.toml", 'forms = ["newsletter"]', 'forms = ["x"]')
        result = run([sys.executable, "-m", "nurture.cli", "config", "check"], home)
        assert result.returncode == 0
        assert "warning: enrolment.2.forms.0: no form 'x'" in result.stderr
        assert result.stdout.startswith("configuration OK (1 warning): ")
