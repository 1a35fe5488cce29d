"""Set up a virtual environment for nurture, then run it or its checks.

Usage (from the checkout, with any Python 3.11+ and nothing else):

    python3 bootstrap.py dev    # Temporal dev server + Web UI, SMTP sink, worker, API
    python3 bootstrap.py test   # lint, type checks and the whole test suite

The environment lives in ``.venv/`` and is reinstalled only when ``pyproject.toml`` changes.
Extra arguments are passed on: ``python3 bootstrap.py test -k scoring``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".nurture-installed"


def _python() -> str:
    return str(BIN / "python")


def ensure_environment() -> None:
    """Create the venv and install the project with its dev extras, once per pyproject."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("bootstrap: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("bootstrap: installing nurture and its dependencies (first run only)", flush=True)
    pip = [_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run_checks(extra: list[str]) -> int:
    """Lint, type-check, check the import contract between the layers, then run pytest;
    the first failure decides the exit code."""
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports"), "--no-logo"],
        [str(BIN / "nurture"), "config", "check"],
        [str(BIN / "nurture"), "templates", "check"],
        [_python(), "-m", "pytest", *extra],
    ]
    for step in steps:
        print(f"bootstrap: {Path(step[0]).name} {' '.join(step[1:])}", flush=True)
        code = subprocess.run(step, cwd=ROOT).returncode
        if code != 0:
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"dev", "test"}:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    command, extra = argv[0], argv[1:]
    if command == "test":
        return run_checks(extra)
    os.chdir(ROOT)
    nurture = str(BIN / "nurture")
    os.execv(nurture, [nurture, "dev", *extra])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
