"""``nurture dev`` leaves nothing behind: whatever stops it, its children go with it.

Each test starts the real stack on free ports, records the supervisor's child processes
(Temporal, SMTP sink, worker, API) from ``/proc``, stops the supervisor one way, then checks
that every one of them is gone and that each port can be bound again, as the next
``nurture dev`` would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nurture.devtools.stack import wait_for_port
from nurture.testing import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

NURTURE = [sys.executable, "-m", "nurture.cli"]
GONE_WITHIN = 20.0


@dataclass(frozen=True)
class Child:
    """A process, identified by its PID and its start time (PIDs are reused)."""

    name: str
    pid: int
    started: str

    def alive(self) -> bool:
        """Running, and still the same process (a zombie holds nothing: it is gone)."""
        fields = _stat(self.pid)
        return fields is not None and fields[19] == self.started and fields[0] != "Z"


@dataclass
class Supervisor:
    """A running ``nurture dev``, its ports and the children it started."""

    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    children: list[Child] = field(default_factory=list)

    def signal(self, signum: int) -> None:
        """Signal its process group, as a terminal does for Ctrl-C: the children, each in
        a session of its own, get nothing from this."""
        os.killpg(self.process.pid, signum)

    def survivors(self) -> list[Child]:
        deadline = time.monotonic() + GONE_WITHIN
        while any(c.alive() for c in self.children) and time.monotonic() < deadline:
            time.sleep(0.2)
        return [c for c in self.children if c.alive()]


def _stat(pid: int) -> list[str] | None:
    """Fields 3 onwards of ``/proc/<pid>/stat`` (state first), or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _descendants(pid: int) -> list[Child]:
    """Every process below ``pid``, named after what it runs."""
    found: list[Child] = []
    parents = {pid}
    for _ in range(3):
        for entry in Path("/proc").iterdir():
            fields = _stat(int(entry.name)) if entry.name.isdigit() else None
            if fields and int(fields[1]) in parents and int(entry.name) not in parents:
                found.append(Child(_name(int(entry.name)), int(entry.name), fields[19]))
        parents |= {c.pid for c in found}
    return list({c.pid: c for c in found}.values())


def _name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "(gone)"
    if argv[0].endswith("temporal"):
        return "temporal"
    if any(arg.endswith("worker.py") for arg in argv):
        return "worker"
    # `nurture worker` before it execs worker.py (a loaded machine may still be there when
    # the API already answers): the same process, the same pid.
    return next((arg for arg in argv if arg in {"sink", "api", "worker"}), " ".join(argv))


def _bindable(port: int) -> bool:
    """What the next ``nurture dev`` does with the port: bind it and listen."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _hangup_not_ignored() -> Iterator[None]:
    """Start the supervisor as a terminal would: one started under ``nohup`` inherits an
    ignored SIGHUP and, rightly, keeps running when the terminal closes."""
    ignored = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)


@pytest.fixture
def start_dev(project_home: Path) -> Iterator[Callable[..., Supervisor]]:
    """Start ``nurture dev`` with the given standard streams; kill whatever is left after."""
    started: list[Supervisor] = []

    def start(stdout: Any, stderr: Any, close_stdout: bool = False) -> Supervisor:
        ports = {name: free_port() for name in ("temporal", "ui", "api", "smtp")}
        argv = [*NURTURE, "dev", *(f"--{name}-port={port}" for name, port in ports.items())]
        if close_stdout:  # `nurture dev >&-`: no file descriptor 1 at all, same process
            argv = ["sh", "-c", 'exec "$@" >&-', "sh", *argv]
        with _hangup_not_ignored():
            process = subprocess.Popen(
                argv,
                cwd=project_home,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        supervisor = Supervisor(process, ports)
        started.append(supervisor)
        wait_for_port(ports["api"], 60, process)
        supervisor.children = _descendants(process.pid)
        assert sorted(c.name for c in supervisor.children) == ["api", "sink", "temporal", "worker"]
        return supervisor

    yield start
    for supervisor in started:
        _kill_leftovers(supervisor)


def _kill_leftovers(supervisor: Supervisor) -> None:
    """A failing test must not leave a stack running on the machine."""
    if supervisor.process.poll() is None:
        supervisor.process.kill()
    supervisor.process.wait(10)
    for child in supervisor.children:
        if child.alive():
            os.kill(child.pid, signal.SIGKILL)


def assert_nothing_left(supervisor: Supervisor) -> None:
    survivors = supervisor.survivors()
    assert survivors == [], f"outlived nurture dev: {survivors}"
    deadline = time.monotonic() + GONE_WITHIN
    busy = supervisor.ports
    while busy and time.monotonic() < deadline:
        # A process the kernel is still tearing down shows as a zombie before its
        # descriptors are closed: give the ports the moment that takes.
        time.sleep(0.1)
        busy = {name: port for name, port in busy.items() if not _bindable(port)}
    assert busy == {}, f"ports still taken after nurture dev ended: {busy}"


class TestStopSignals:
    """Ctrl-C, SIGTERM or a closed terminal stop every child, whatever became of stdout."""

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
    def test_reader_of_stdout_gone(self, start_dev: Callable[..., Supervisor], signum: int) -> None:
        """`nurture dev | tee log`, then Ctrl-C (or SIGTERM) to the pipeline: tee dies
        first, the supervisor's messages meet a broken pipe; it stops all the same, and
        says so on stderr (the terminal, still there)."""
        dev = start_dev(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert dev.process.stdout is not None and dev.process.stderr is not None
        for line in dev.process.stdout:  # tee shows the banner, then dies
            if line.startswith(b"Stop: Ctrl-C"):
                break
        dev.process.stdout.close()
        dev.signal(signum)
        _, raw = dev.process.communicate(timeout=60)
        assert_nothing_left(dev)
        said = raw.decode()
        assert dev.process.returncode == 0, said
        assert said == "nurture dev: stopping…\nnurture dev: stopped.\n"

    def test_stdout_closed(self, start_dev: Callable[..., Supervisor], tmp_path: Path) -> None:
        """Started with stdout closed (`nurture dev >&-`): Ctrl-C stops everything, and its
        lines go to stderr instead."""
        errors = tmp_path / "stderr.log"
        with errors.open("wb") as stderr:
            dev = start_dev(stdout=None, stderr=stderr, close_stdout=True)
        dev.signal(signal.SIGINT)
        dev.process.wait(60)
        assert_nothing_left(dev)
        assert dev.process.returncode == 0, errors.read_text()
        assert errors.read_text().endswith("nurture dev: stopping…\nnurture dev: stopped.\n")

    def test_terminal_closed(self, start_dev: Callable[..., Supervisor]) -> None:
        """The terminal window closed: SIGHUP, and every write to it fails (EIO)."""
        terminal, tty = os.openpty()
        dev = start_dev(stdout=tty, stderr=tty)
        os.close(tty)
        os.close(terminal)
        dev.signal(signal.SIGHUP)
        dev.process.wait(60)
        assert_nothing_left(dev)
        assert dev.process.returncode == 0


class TestSupervisorKilled:
    """A SIGKILLed supervisor cannot clean up: the children die with it (Linux)."""

    def test_sigkill(self, start_dev: Callable[..., Supervisor]) -> None:
        """Nothing outlives `kill -9` of `nurture dev`: the next start finds its ports free."""
        dev = start_dev(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dev.signal(signal.SIGKILL)
        assert dev.process.wait(10) == -signal.SIGKILL
        assert_nothing_left(dev)
