"""Copies of the shipped configuration that a test may break, and where it broke them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import ROOT

CONFIG_FILES = ("nurture.toml", "scoring.toml", "sales.toml")


def copy_project(home: Path) -> Path:
    """``home`` made a project folder: copies of the three config files (to break), the
    shipped templates and worker.py linked. Returns ``home``."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    for name in CONFIG_FILES:
        shutil.copy(ROOT / "config" / name, home / "config" / name)
    for name in ("templates", "worker.py"):
        (home / name).symlink_to(ROOT / name)
    return home


def break_file(path: Path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` in ``path`` with ``new``; the 1-based line where
    ``new`` starts, the line an error about it must name."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not unique in {path.name}"
    start = text.index(old)
    path.write_text(text.replace(old, new))
    return text.count("\n", 0, start) + 1
