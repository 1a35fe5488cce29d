"""A real throwaway PostgreSQL (as used in docker-compose) for the storage tests: one
cluster per session, a fresh database for each module or test that asks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nurture.testing import free_port


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((str(v / name) for v in versions if (v / name).exists()), None)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """A Postgres cluster in a temporary folder on a free loopback port, removed afterwards:
    the URL of its ``postgres`` database."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="nurture-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_user, *argv], check=True, capture_output=True)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "nurture")
        run(
            pg_ctl,
            "-D",
            str(data),
            "-w",
            "-l",
            str(folder / "log"),
            "-o",
            f"-p {port} -h 127.0.0.1 -k {folder}",
            "start",
        )
        yield f"postgresql://nurture@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def new_database(cluster_url: str) -> str:
    """The URL of a new empty database in the cluster."""
    name = f"nurture_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return cluster_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def postgres_url(postgres_cluster: str) -> str:
    """An empty database that lives for the whole test module."""
    return new_database(postgres_cluster)


@pytest.fixture
def fresh_postgres_url(postgres_cluster: str) -> str:
    """An empty database for one test."""
    return new_database(postgres_cluster)
