"""The embedded default: real Temporal dev server, SMTP sink, worker and API as processes.

Each child runs in its own session, so Ctrl-C reaches only the supervisor, which then stops
the children in reverse order (API, worker, sink, Temporal) and waits for each. A supervisor
that cannot do that (SIGKILL, a crash) takes its children with it on Linux, where each child
asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``); elsewhere they
outlive it, and the next start names the port they still hold.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nurture.adapters.temporal.client import dev_server_flags
from nurture.devtools.binaries import find_binary
from nurture.errors import NurtureError

__all__ = [
    "DevPorts",
    "DevStack",
    "ManagedProcess",
    "die_with_parent",
    "listening",
    "temporal_dev_server_argv",
    "wait_for_port",
]

DEV_API_KEY = "dev-key"
_PR_SET_PDEATHSIG = 1
"""``prctl`` option from ``<linux/prctl.h>``: the signal a process gets when its parent dies."""


@dataclass(frozen=True)
class DevPorts:
    """Where each piece listens, all on 127.0.0.1."""

    temporal: int = 7233
    ui: int = 8233
    api: int = 8000
    smtp: int = 1025


def temporal_dev_server_argv(
    db_file: Path, port: int, ui_port: int | None, extra: Sequence[str] = ()
) -> list[str]:
    """``temporal server start-dev`` persisted to SQLite in WAL mode, attributes registered,
    and ``extra`` flags.

    WAL with ``synchronous=normal`` doubles throughput over the defaults and survives a
    process crash; a power cut may lose the last transactions (fine for development).
    """
    argv = [
        str(find_binary("temporal")),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(db_file),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
        *dev_server_flags(),
        *extra,
    ]
    return [*argv, "--ui-port", str(ui_port)] if ui_port else [*argv, "--headless"]


def listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts TCP connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise NurtureError(f"process exited with {process.returncode} before listening")
        if listening(port):
            return
        time.sleep(0.1)
    raise NurtureError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child SIGKILLed when this process dies, or None where
    that cannot be had.

    Linux only (``prctl(PR_SET_PDEATHSIG)``). The kernel ties the signal to the *thread*
    that forked the child, so it is offered only to the main thread, which lives as long as
    the process: a child started from a worker thread would die when that thread ends.
    Every child of the stack is crash-safe (Temporal's SQLite in WAL mode, the ledger, the
    sink's renames), so SIGKILL loses nothing, and unlike SIGTERM it cannot be ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


@functools.cache
def _prctl() -> Callable[[int, int], int] | None:
    """libc's ``prctl``, looked up in the parent: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # a libc without prctl (a static or unusual build)
        return None
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong)  # variadic in C: fix what we pass
    prctl.restype = ctypes.c_int
    function: Callable[[int, int], int] = prctl
    return function


@dataclass
class ManagedProcess:
    """A child process with its log file, stopped with SIGTERM then SIGKILL.

    It runs in a session of its own (a Ctrl-C in the terminal is the supervisor's to handle)
    and, on Linux, dies with the process that started it (see ``die_with_parent``).
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        out: IO[bytes] | None = None
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            out = self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # Runs after setsid() in the child, before exec; PDEATHSIG survives both.
            preexec_fn=die_with_parent(),
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


@dataclass
class DevStack:
    """Temporal dev server, SMTP sink, worker and API for one project folder."""

    home: Path
    ports: DevPorts = DevPorts()
    ui: bool = True
    sink: bool = True
    """Run the local SMTP sink; off when something else listens on ``ports.smtp``."""
    extra_env: dict[str, str] = field(default_factory=dict)
    temporal_flags: tuple[str, ...] = ()
    """More ``temporal server start-dev`` flags (a benchmark's dynamic configuration)."""
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.home / ".nurture"

    @property
    def outbox(self) -> Path:
        return self.data / "outbox"

    def env(self) -> dict[str, str]:
        """The settings every child reads, pointing at this stack."""
        env = {
            **os.environ,
            "NURTURE_HOME": str(self.home),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports.temporal}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.ports.smtp),
            "SMTP_SECURITY": "none",
            "NURTURE_LEDGER_URL": f"sqlite:///{self.data / 'ledger.sqlite3'}",
            "NURTURE_API_HOST": "127.0.0.1",
            "NURTURE_API_PORT": str(self.ports.api),
            "NURTURE_PUBLIC_URL": f"http://127.0.0.1:{self.ports.api}",
            "NURTURE_OUTBOX_DIR": str(self.outbox),
            "PYTHONUNBUFFERED": "1",
        }
        env.setdefault("NURTURE_API_KEYS", DEV_API_KEY)
        return {**env, **self.extra_env}

    def start(self, timeout: float = 60.0) -> None:
        """Start everything, each piece once the one it needs is listening."""
        self._check_ports_free()
        self.data.mkdir(parents=True, exist_ok=True)
        logs = self.data / "logs"
        python = sys.executable
        cli = [python, "-m", "nurture.cli"]
        temporal = self._spawn(
            "temporal",
            temporal_dev_server_argv(
                self.data / "temporal.sqlite",
                self.ports.temporal,
                self.ports.ui if self.ui else None,
                self.temporal_flags,
            ),
            logs / "temporal.log",
        )
        if self.sink:
            sink = self._spawn(
                "smtp-sink",
                [*cli, "sink", "--folder", str(self.outbox), "--port", str(self.ports.smtp)],
                logs / "smtp-sink.log",
            )
            wait_for_port(self.ports.smtp, timeout, sink.process)
        wait_for_port(self.ports.temporal, timeout, temporal.process)
        self.start_worker()
        api = self._spawn("api", [*cli, "api"], logs / "api.log")
        wait_for_port(self.ports.api, timeout, api.process)

    def start_worker(self) -> ManagedProcess:
        """Start (or restart) the worker, as ``nurture worker`` runs it."""
        self.processes = [p for p in self.processes if p.name != "worker"]
        return self.add_worker("worker")

    def add_worker(self, name: str) -> ManagedProcess:
        """Start a worker process named ``name``, beside any other (scaling out on one
        machine: the workers share the task queues, the ledger and Temporal)."""
        argv = [sys.executable, "-m", "nurture.cli", "worker"]
        return self._spawn(name, argv, self.data / f"logs/{name}.log")

    def get(self, name: str) -> ManagedProcess:
        return next(p for p in self.processes if p.name == name)

    def dead(self) -> list[str]:
        """Names of children that exited on their own."""
        return [p.name for p in self.processes if not p.alive()]

    def stop(self) -> None:
        """Stop every child, last started first."""
        for process in reversed(self.processes):
            process.stop()

    def _check_ports_free(self) -> None:
        """Refuse to start beside something already listening: we would talk to it instead."""
        wanted = {"temporal": self.ports.temporal, "api": self.ports.api}
        if self.ui:
            wanted["ui"] = self.ports.ui
        if self.sink:
            wanted["smtp"] = self.ports.smtp
        for name, port in wanted.items():
            if listening(port):
                raise NurtureError(
                    f"port {port} ({name}) is already in use on 127.0.0.1; stop what "
                    f"listens there or choose another with --{name}-port"
                )

    def _spawn(self, name: str, argv: list[str], log: Path) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.env(), self.home, log)
        process.start()
        self.processes.append(process)
        return process
