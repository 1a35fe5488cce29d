"""The ``nurture`` command: every group reachable from one app, and ``nurture worker``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from nurture.cli import app
from tests.helpers import ROOT

COMMANDS = {
    "dev": [],
    "worker": [],
    "api": [],
    "sink": [],
    "submit": [],
    "event": [],
    "lead": ["show", "act", "erase"],
    "leads": ["list"],
    "sequences": ["", "simulate"],
    "outbox": [],
    "report": ["funnel", "velocity", "sales", "emails", "experiments", "cost"],
    "setup": [],
    "config": ["check"],
    "templates": ["check"],
    "apikey": ["create"],
    "db": ["status", "upgrade"],
    "facts": ["backfill"],
    "webhooks": ["list", "replay"],
}
"""Every command, with its subcommands."""
ARGVS = [[name, *([sub] if sub else [])] for name, subs in COMMANDS.items() for sub in subs or [""]]


def _every_command(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    """The command and every command under it (Typer's groups are its own click's, not the
    ``click`` package's: found by their ``commands``)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _every_command(sub, f"{path} {name}")


def _without_help(cli: typer.Typer) -> list[str]:
    """Every parameter of every command, at every level, that has no help text."""
    return [
        f"{path} {param.name}"
        for path, command in _every_command(typer.main.get_command(cli), "nurture")
        for param in command.params
        if not getattr(param, "help", None)
    ]


class TestHelpTexts:
    """Every option and argument of every command says what it is for in ``--help``."""

    def test_every_parameter_has_help(self) -> None:
        assert _without_help(app) == []

    def test_a_bare_option_in_a_subgroup_is_caught(self) -> None:
        """The check walks groups within groups."""
        bare, group = typer.Typer(), typer.Typer()

        @group.command()
        def one(flag: bool = False, shown: bool = typer.Option(False, help="Shown.")) -> None:
            """A command with one bare option."""

        @bare.command()
        def other() -> None:
            """Another command, so ``bare`` is a group."""

        bare.add_typer(group, name="grp")
        assert _without_help(bare) == ["nurture grp one flag"]


class Executed(Exception):
    """Raised by the stand-in for ``os.execve``: the process would have become the worker."""


class TestCommands:
    """Every command the CLI had, and ``worker``, answers ``--help`` from the one app."""

    @pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
    def test_help(self, argv: list[str]) -> None:
        """Each command and subcommand prints its help and exits 0."""
        result = CliRunner().invoke(app, [*argv, "--help"], prog_name="nurture", terminal_width=200)
        assert result.exit_code == 0, result.output
        assert f"Usage: nurture {' '.join(argv)} [OPTIONS]" in result.output

    def test_top_level_help_lists_every_command(self) -> None:
        """``nurture --help`` names every command."""
        result = CliRunner().invoke(app, ["--help"], prog_name="nurture", terminal_width=200)
        assert result.exit_code == 0
        listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
        assert set(COMMANDS) <= listed


class TestWorkerCommand:
    """``nurture worker`` becomes ``python worker.py`` of the project folder, with
    ``NURTURE_HOME`` set to that folder."""

    @pytest.fixture
    def execs(self, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], dict[str, str]]]:
        calls: list[tuple[str, list[str], dict[str, str]]] = []

        def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
            calls.append((path, argv, env))
            raise Executed

        monkeypatch.setattr("os.execve", execve)
        return calls

    def test_help(self) -> None:
        """The help says what runs, and where the project folder comes from."""
        result = CliRunner().invoke(app, ["worker", "--help"], terminal_width=200)
        assert result.exit_code == 0
        assert "worker.py" in result.output
        assert "--home" in result.output

    def test_runs_the_folder_worker_script(self, tmp_path: Path, execs: list[tuple]) -> None:
        """``--home``: that folder's worker.py, run by this Python, NURTURE_HOME set."""
        (tmp_path / "worker.py").write_text("")
        result = CliRunner().invoke(app, ["worker", "--home", str(tmp_path)])
        assert isinstance(result.exception, Executed), result.output
        [(path, argv, env)] = execs
        assert (path, argv) == (sys.executable, [sys.executable, str(tmp_path / "worker.py")])
        assert env["NURTURE_HOME"] == str(tmp_path)

    def test_finds_the_project_as_dev_does(
        self, tmp_path: Path, execs: list[tuple], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without ``--home``: the nearest project folder from the working directory up."""
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "nurture.toml").write_text("")
        (tmp_path / "worker.py").write_text("")
        (tmp_path / "sub").mkdir()
        monkeypatch.delenv("NURTURE_HOME", raising=False)
        monkeypatch.chdir(tmp_path / "sub")
        result = CliRunner().invoke(app, ["worker"])
        assert isinstance(result.exception, Executed), result.output
        [(_, argv, env)] = execs
        assert argv[1:] == [str(tmp_path / "worker.py")]
        assert env["NURTURE_HOME"] == str(tmp_path)

    def test_no_worker_script(self, tmp_path: Path, execs: list[tuple]) -> None:
        """A folder without worker.py: exit 1 naming the folder, nothing run."""
        result = CliRunner().invoke(app, ["worker", "--home", str(tmp_path)])
        assert result.exit_code == 1
        assert f"no worker.py in {tmp_path}" in result.stderr
        assert execs == []


class TestTemporalUnreachable:
    """A command that needs Temporal, run with none there, says so in a sentence and exits
    2, without a traceback (in a process of its own: it leaves by ``os._exit``)."""

    @pytest.mark.parametrize("argv", [["sequences"], ["setup"], ["webhooks", "list"]], ids=" ".join)
    def test_says_where_it_looked(self, argv: list[str]) -> None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            address = f"127.0.0.1:{closed.getsockname()[1]}"
        env = {**os.environ, "TEMPORAL_ADDRESS": address, "NURTURE_HOME": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "nurture.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"Cannot reach Temporal at {address}")
        assert "Traceback" not in done.stderr
