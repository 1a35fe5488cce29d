"""Dev stack children die with their supervisor; a hangup stops a supervisor unless nohup'd."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nurture.devtools.stack import die_with_parent, temporal_dev_server_argv, wait_for_port
from nurture.testing import free_port

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

SUPERVISOR = """
import sys, time
from pathlib import Path
from nurture.devtools.stack import ManagedProcess
child = ManagedProcess("sleeper", ["sleep", "60"], {}, Path("."))
child.start()
print(child.process.pid, flush=True)
time.sleep(60)
"""


def gone(pid: int, within: float = 5.0) -> bool:
    """The process ended (a zombie waiting for init to reap it has ended)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


class TestDieWithParent:
    """A managed child cannot outlive the process that started it, even a SIGKILLed one."""

    @linux_only
    def test_child_dies_with_a_killed_parent(self) -> None:
        """SIGKILL the parent: the kernel kills its child too."""
        with subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR], stdout=subprocess.PIPE, text=True
        ) as parent:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            parent.kill()
        try:
            assert gone(child), f"child {child} outlived its SIGKILLed parent"
        finally:
            if not gone(child, 0):
                os.kill(child, signal.SIGKILL)

    @linux_only
    def test_offered_on_the_main_thread(self) -> None:
        assert die_with_parent() is not None

    def test_not_offered_off_the_main_thread(self) -> None:
        """The signal follows the thread that forked: one that ends would kill the child."""
        offered: list[object] = []
        thread = threading.Thread(target=lambda: offered.append(die_with_parent()))
        thread.start()
        thread.join()
        assert offered == [None]


def start_sink(folder: Path, *prefix: str) -> tuple[subprocess.Popen[bytes], int]:
    """`nurture sink` on a free port, in a session of its own, as a terminal would run it."""
    port = free_port()
    argv = [*prefix, sys.executable, "-m", "nurture.cli", "sink", "--folder", str(folder)]
    sink = subprocess.Popen(
        [*argv, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_port(port, 30, sink)
    return sink, port


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP")
class TestHangup:
    """A closed terminal (SIGHUP) stops nurture's long-running commands cleanly, except
    under `nohup`, which asks to keep running."""

    def test_hangup_stops(self, tmp_path: Path) -> None:
        sink, _ = start_sink(tmp_path)
        sink.send_signal(signal.SIGHUP)
        assert sink.wait(10) == 0

    def test_nohup_keeps_running(self, tmp_path: Path) -> None:
        sink, port = start_sink(tmp_path, "nohup")
        try:
            sink.send_signal(signal.SIGHUP)
            time.sleep(1)
            assert sink.poll() is None
            wait_for_port(port, 1, sink)
        finally:
            sink.terminate()
        assert sink.wait(10) == 0


class TestDevServerArgv:
    """The embedded dev server writes every task of a queue to one partition, where
    priorities order them (reads keep the default, so older tasks still drain)."""

    def test_one_write_partition(self, tmp_path: Path) -> None:
        argv = temporal_dev_server_argv(tmp_path / "t.sqlite", 7233, None)
        flags = list(itertools.pairwise(argv))
        assert ("--dynamic-config-value", "matching.numTaskqueueWritePartitions=1") in flags
        assert not any("ReadPartitions" in arg for arg in argv)

    def test_extra_flags_last(self, tmp_path: Path) -> None:
        """A benchmark's own dynamic configuration follows the stack's."""
        extra = ("--dynamic-config-value", "matching.useNewMatcher=false")
        argv = temporal_dev_server_argv(tmp_path / "t.sqlite", 7233, None, extra)
        assert argv[-3:] == [*extra, "--headless"]
