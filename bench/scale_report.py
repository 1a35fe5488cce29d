"""The scale benchmark's findings: rows for a table people read, the same figures as JSON
for scripts, and the steps that failed with why."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["Findings", "kib", "mib"]


def kib(size: float) -> str:
    return f"{size / 1024:,.1f} KiB"


def mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


@dataclass
class Findings:
    """Figures by section, in the order they were found."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, section: str, label: str, text: str, **raw: Any) -> None:
        """A row of the table, and its raw values under ``section`` in the JSON."""
        self.rows.append((section, label, text))
        self.figures.setdefault(section, {}).update(raw)

    async def step(self, name: str, work: Awaitable[None], log: TextIO) -> bool:
        """Run one step; a failure is noted (and its traceback logged), not raised, so the
        steps after it still run and what was measured is still printed."""
        try:
            await work
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name}: failed: {self.errors[name]}", file=log, flush=True)
            traceback.print_exc(file=log)
            return False
        return True

    def table(self, out: TextIO = sys.stdout) -> None:
        width = max((len(label) for _, label, _ in self.rows), default=0) + 2
        section = None
        for where, label, text in self.rows:
            if where != section:
                section = where
                print(f"\n{where}", file=out)
            print(f"  {label:<{width}}{text}", file=out)
        if self.errors:
            print("\nfailed steps", file=out)
            for name, error in self.errors.items():
                print(f"  {name:<{width}}{error}", file=out)
        out.flush()

    def json(self, out: TextIO = sys.stdout) -> None:
        print(json.dumps({**self.figures, "errors": self.errors}, indent=2), file=out)
