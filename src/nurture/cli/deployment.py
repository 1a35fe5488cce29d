"""What a deployment runs: the API (``nurture api``), the worker (``nurture worker``) and the
one-off registration of the search attributes (``nurture setup``). Settings come from the
environment, as the README lists them."""

from __future__ import annotations

import asyncio
import os
import sys

import typer

from nurture.cli.common import HomeOption, connect_temporal, exit_skipping_teardown, project_home
from nurture.config.settings import Settings
from nurture.errors import ConfigError

__all__ = ["WORKER_SCRIPT", "api", "setup", "worker"]

WORKER_SCRIPT = "worker.py"
"""The worker's wiring, at the top of the project folder: settings → client → adapters →
``Worker``. It stays a script of the project (it registers the project's own workflows)."""


def api() -> None:
    """Serve the HTTP API (settings from the environment)."""
    import uvicorn

    settings = Settings()
    try:
        uvicorn.run(
            "nurture.api:create_app",
            factory=True,
            host=settings.api.host,
            port=settings.api.port,
            log_level="info",
            proxy_headers=False,  # the app applies NURTURE_API_FORWARDED_ALLOW_IPS itself
        )
    except ConfigError as exc:  # the factory refused the configuration: say why, no traceback
        typer.echo(f"nurture api: {exc}", err=True)
        raise typer.Exit(1) from exc


def worker(home: HomeOption = None) -> None:
    """Run the worker until Ctrl-C or SIGTERM: the project's worker.py, as `python worker.py`.

    Settings come from the environment, with NURTURE_HOME set to the project folder."""
    folder = project_home(home, "nurture worker")
    script = folder / WORKER_SCRIPT
    if not script.is_file():
        typer.echo(f"nurture worker: no {WORKER_SCRIPT} in {folder}, the project folder", err=True)
        raise typer.Exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    # The script in a fresh interpreter, in this process: its folder first on sys.path (its
    # own workflows), its signal handlers and logging, the same process id for supervisors.
    env = {**os.environ, "NURTURE_HOME": str(folder)}
    os.execve(sys.executable, [sys.executable, str(script)], env)


def setup() -> None:
    """Register nurture's search attributes on the configured Temporal namespace."""
    from nurture.adapters.temporal.client import register_search_attributes

    async def run() -> None:
        settings = Settings()
        client = await connect_temporal(settings.temporal)
        await register_search_attributes(client, settings.temporal.namespace)

    asyncio.run(run())
    typer.echo("search attributes registered")
    exit_skipping_teardown()
