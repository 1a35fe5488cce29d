"""Dev stack children die with their supervisor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nurture.devstack import die_with_parent

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")

SUPERVISOR = """
import sys, time
from pathlib import Path
from nurture.devstack import ManagedProcess
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
