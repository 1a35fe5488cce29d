"""``python -m nurture.cli``: the same as the ``nurture`` command."""

import os
import sys

from nurture.cli import app

__all__: list[str] = []

if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
