"""The project folder and its outbox are found the same way from wherever a command runs."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from nurture.adapters.mail.sink import serve_sink
from nurture.config.folder import (
    ProjectNotFound,
    find_project_home,
    locate_outbox,
    source_checkout,
)
from nurture.testing import free_port
from tests.helpers import ROOT

NO_ENV: dict[str, str] = {}


def make_project(folder: Path, marker: str = "config/nurture.toml") -> Path:
    (folder / marker).parent.mkdir(parents=True, exist_ok=True)
    if marker.endswith(".toml"):
        (folder / marker).write_text("")
    else:
        (folder / marker).mkdir()
    return folder


class TestFindProjectHome:
    """NURTURE_HOME, else the nearest project folder upwards, else nurture's own checkout."""

    def test_working_directory(self, tmp_path: Path) -> None:
        """A folder with config/nurture.toml is the project, said as nothing unusual."""
        home = find_project_home(make_project(tmp_path), NO_ENV, None)
        assert (home.path, home.found) == (tmp_path, None)

    def test_from_a_subfolder(self, tmp_path: Path) -> None:
        """Run from deep inside the project: the folder above with the marker is found."""
        inside = make_project(tmp_path, ".nurture") / "workflows" / "sequences"
        inside.mkdir(parents=True)
        home = find_project_home(inside, NO_ENV, None)
        assert home.path == tmp_path
        assert home.found == f"found above {inside}"

    def test_nearest_wins(self, tmp_path: Path) -> None:
        """A project inside another one is its own project."""
        inner = make_project(make_project(tmp_path) / "inner", ".nurture")
        assert find_project_home(inner, NO_ENV, None).path == inner

    def test_nurture_home_first(self, tmp_path: Path) -> None:
        """NURTURE_HOME, relative to the working directory, beats the folders around."""
        make_project(tmp_path)
        home = find_project_home(tmp_path, {"NURTURE_HOME": "elsewhere"}, None)
        assert (home.path, home.found) == (tmp_path / "elsewhere", "from NURTURE_HOME")

    def test_checkout_last(self, tmp_path: Path) -> None:
        """Outside any project, the checkout nurture runs from (an editable install)."""
        checkout = make_project(tmp_path / "checkout")
        (tmp_path / "elsewhere").mkdir()
        home = find_project_home(tmp_path / "elsewhere", NO_ENV, checkout)
        assert (home.path, home.found) == (checkout, "the checkout nurture runs from")

    def test_nothing_found_says_where_it_looked(self, tmp_path: Path) -> None:
        """No project anywhere: the error names the folder, the markers and the checkout."""
        checkout = tmp_path / "not-a-project"
        checkout.mkdir()
        with pytest.raises(ProjectNotFound) as info:
            find_project_home(tmp_path / "here", NO_ENV, checkout)
        assert str(info.value) == (
            "no nurture project found: looked for config/nurture.toml or .nurture/ in "
            f"{tmp_path / 'here'} and every folder above it, and in {checkout} (the checkout "
            "nurture runs from); NURTURE_HOME is not set"
        )

    def test_this_checkout(self) -> None:
        """Installed editable (as in development), nurture knows the checkout it runs from."""
        assert source_checkout() == ROOT


class TestLocateOutbox:
    """--folder, else NURTURE_OUTBOX_DIR, else .nurture/outbox of the project folder."""

    def test_given_folder_first(self, tmp_path: Path) -> None:
        env = {"NURTURE_OUTBOX_DIR": "/elsewhere"}
        location = locate_outbox(Path("box"), tmp_path, env, None)
        assert (location.folder, location.found) == (tmp_path / "box", None)

    def test_environment_next(self, tmp_path: Path) -> None:
        """A relative NURTURE_OUTBOX_DIR resolves against NURTURE_HOME, as settings do."""
        env = {"NURTURE_OUTBOX_DIR": "box", "NURTURE_HOME": str(tmp_path / "home")}
        location = locate_outbox(None, make_project(tmp_path), env, None)
        assert location.folder == tmp_path / "home" / "box"
        assert location.found == "from NURTURE_OUTBOX_DIR"

    def test_project_folder_last(self, tmp_path: Path) -> None:
        checkout = make_project(tmp_path / "checkout")
        location = locate_outbox(None, tmp_path, NO_ENV, checkout)
        assert location.folder == checkout / ".nurture" / "outbox"
        assert location.found == "the checkout nurture runs from"


def outbox_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NURTURE_HOME", "NURTURE_OUTBOX_DIR"}}
    return subprocess.run(
        [sys.executable, "-m", "nurture.cli", "outbox", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def receive(folder: Path, *recipients: str) -> None:
    """Messages arrive in ``folder`` through the real sink."""
    port = free_port()
    controller = serve_sink(folder, "127.0.0.1", port)
    try:
        for to in recipients:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@example.com", to, "Thanks"
            message.set_content("hello")
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                smtp.send_message(message)
    finally:
        controller.stop()


class TestOutboxCommand:
    """`nurture outbox` run away from the project folder lists its messages, or says where
    it looked; it never calls a folder that does not exist empty."""

    def test_from_a_subfolder(self, tmp_path: Path) -> None:
        """From deep in the project, the project's messages, and where they are."""
        outbox = make_project(tmp_path) / ".nurture" / "outbox"
        receive(outbox, "ada@example.com", "grace@example.com")
        (tmp_path / "templates" / "emails").mkdir(parents=True)
        done = outbox_command(cwd=tmp_path / "templates" / "emails")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        here = tmp_path / "templates" / "emails"
        assert lines[0] == f"2 messages in the outbox {outbox} (found above {here})"
        assert "ada@example.com" in lines[1] and "grace@example.com" in lines[2]

    def test_outside_any_project(self, tmp_path: Path) -> None:
        """From a folder outside any project: the checkout's outbox, named as such."""
        done = outbox_command(cwd=tmp_path)
        said = done.stdout + done.stderr
        assert f"{ROOT / '.nurture' / 'outbox'} (the checkout nurture runs from)" in said

    def test_missing_folder_is_not_empty(self, tmp_path: Path) -> None:
        """A folder that does not exist is said to be missing, with its path; exit 1."""
        done = outbox_command("--folder", "nowhere", cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr == (
            f"no outbox at {tmp_path / 'nowhere'}: the folder does not exist "
            "(`nurture dev` makes it)\n"
        )
        assert "empty" not in done.stdout
