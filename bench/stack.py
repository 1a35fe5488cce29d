"""The stack a benchmark measures: dev server, worker and API as ``nurture dev`` runs them,
on free ports, mailing a relay the benchmark runs itself."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nurture.devtools.stack import DevPorts, DevStack
from nurture.testing import free_port

__all__ = ["bench_stack"]

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def bench_stack(
    smtp_port: int, env: dict[str, str] | None = None, temporal_flags: tuple[str, ...] = ()
) -> Iterator[DevStack]:
    """A started stack in a throwaway project folder (the checkout's config and templates),
    no UI, no sink: mail goes to ``smtp_port``. The public rate limit is off: with one
    client address it would measure the limiter. ``env`` adds settings, ``temporal_flags``
    dev server flags."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for name in ("worker.py", "config", "templates"):
            (home / name).symlink_to(ROOT / name)
        ports = DevPorts(temporal=free_port(), ui=free_port(), api=free_port(), smtp=smtp_port)
        settings = {"NURTURE_API_PUBLIC_RATE": "off", **(env or {})}
        stack = DevStack(
            home, ports, ui=False, sink=False, extra_env=settings, temporal_flags=temporal_flags
        )
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()
