"""A throwaway PostgreSQL for a benchmark: a cluster in a temporary folder, on a free
loopback port, from the server binaries Debian installs under /usr/lib/postgresql."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nurture.testing import free_port

__all__ = ["PostgresUnavailable", "throwaway_postgres"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here (the message says why)."""


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((str(v / name) for v in versions if (v / name).exists()), None)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """The URL of the ``postgres`` database of a new cluster, removed afterwards."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise PostgresUnavailable("the PostgreSQL server binaries (initdb, pg_ctl) are missing")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="nurture-bench-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    # The server's default settings, as the postgres image of docker-compose runs it.
    options = f"-p {port} -h 127.0.0.1 -k {folder}"
    try:
        _run(*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "nurture")
        _run(
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-w",
            "-l",
            str(folder / "log"),
            "-o",
            options,
            "start",
        )
        yield f"postgresql://nurture@127.0.0.1:{port}/postgres"
    finally:
        stop = [*as_user, str(pg_ctl), "-D", str(data), "-m", "fast", "stop"]
        subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        command = " ".join(Path(arg).name for arg in argv[:4])
        raise PostgresUnavailable(f"{command}... failed: {done.stderr.strip()}")
