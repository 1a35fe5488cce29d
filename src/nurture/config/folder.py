"""The project folder (``config/nurture.toml``, ``worker.py``, ``.nurture/``), found from anywhere.

``nurture dev`` runs the stack for it and ``nurture outbox`` reads its sink's folder, so both
must find the same one whatever the working directory: ``NURTURE_HOME`` when set, else the
nearest folder holding ``config/nurture.toml`` or ``.nurture/`` from the working directory
up, else the checkout nurture itself runs from (an editable install). When none is found the
error says where it looked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nurture.errors import NurtureError

__all__ = [
    "MARKERS",
    "OutboxLocation",
    "ProjectHome",
    "ProjectNotFound",
    "find_project_home",
    "locate_outbox",
    "source_checkout",
]

MARKERS = ("config/nurture.toml", ".nurture/")
"""What makes a folder a project folder: its configuration, or the data ``nurture dev`` keeps."""


class ProjectNotFound(NurtureError):
    """No project folder where nurture looked; the message lists those places."""


@dataclass(frozen=True)
class ProjectHome:
    """The project folder, and how it was found: None for the working directory itself,
    else words for a person who ran the command from elsewhere."""

    path: Path
    found: str | None


@dataclass(frozen=True)
class OutboxLocation:
    """The local SMTP sink's folder, and what decided it: None when it was given, or is the
    working directory's own."""

    folder: Path
    found: str | None


def source_checkout() -> Path | None:
    """The checkout this package runs from (``src/nurture/`` in it), if it runs from one."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "src" / "nurture").is_dir() else None


def find_project_home(cwd: Path, environ: Mapping[str, str], checkout: Path | None) -> ProjectHome:
    """``NURTURE_HOME``, else the nearest project folder at or above ``cwd``, else
    ``checkout`` if it is one; raises ``ProjectNotFound`` naming where it looked."""
    if environ.get("NURTURE_HOME"):
        return ProjectHome((cwd / environ["NURTURE_HOME"]).resolve(), "from NURTURE_HOME")
    for folder in (cwd, *cwd.parents):
        if _is_project(folder):
            return ProjectHome(folder, None if folder == cwd else f"found above {cwd}")
    if checkout is not None and _is_project(checkout):
        return ProjectHome(checkout, "the checkout nurture runs from")
    raise ProjectNotFound(_looked(cwd, checkout))


def locate_outbox(
    folder: Path | None, cwd: Path, environ: Mapping[str, str], checkout: Path | None
) -> OutboxLocation:
    """``folder`` if given, else ``NURTURE_OUTBOX_DIR`` (what ``nurture dev`` gives its
    children), else ``.nurture/outbox`` in the project folder."""
    if folder is not None:
        return OutboxLocation((cwd / folder).resolve(), None)
    if environ.get("NURTURE_OUTBOX_DIR"):
        base = cwd / environ.get("NURTURE_HOME", "")
        return OutboxLocation(
            (base / environ["NURTURE_OUTBOX_DIR"]).resolve(), "from NURTURE_OUTBOX_DIR"
        )
    home = find_project_home(cwd, environ, checkout)
    return OutboxLocation(home.path / ".nurture" / "outbox", home.found)


def _is_project(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in MARKERS)


def _looked(cwd: Path, checkout: Path | None) -> str:
    places = f"in {cwd} and every folder above it"
    if checkout is not None and checkout not in (cwd, *cwd.parents):
        places += f", and in {checkout} (the checkout nurture runs from)"
    wanted = " or ".join(MARKERS)
    return f"no nurture project found: looked for {wanted} {places}; NURTURE_HOME is not set"
