"""``nurture dev``: the whole stack on this machine, for one project folder, until stopped."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from nurture.cli.common import HomeOption, project_home, say, stop_requested
from nurture.config.settings import Settings
from nurture.devtools.stack import DevPorts, DevStack
from nurture.errors import NurtureError

__all__ = ["dev"]


def dev(
    home: HomeOption = None,
    temporal_port: Annotated[int, typer.Option(help="Port of the Temporal server.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Port of the Temporal Web UI.")] = 8233,
    api_port: Annotated[int, typer.Option(help="Port of the nurture API.")] = 8000,
    smtp_port: Annotated[int, typer.Option(help="Port of the SMTP sink.")] = 1025,
) -> None:
    """Run Temporal (with its Web UI), the SMTP sink, the worker and the API until Ctrl-C,
    SIGTERM or SIGHUP (the terminal closed); every child stops with it."""
    stopped = stop_requested()
    ports = DevPorts(temporal=temporal_port, ui=ui_port, api=api_port, smtp=smtp_port)
    stack = DevStack(project_home(home, "nurture dev"), ports)
    _check_project(stack.home)
    try:
        say("nurture dev: starting Temporal, SMTP sink, worker and API…")
        stack.start()
        _print_urls(stack)
        _supervise(stack, stopped)
    except NurtureError as exc:
        say(f"nurture dev: {exc}; see {stack.data / 'logs'}", err=True)
        raise typer.Exit(1) from exc
    finally:
        stack.stop()  # first, and alone: nothing before it may keep it from running
    say("nurture dev: stopped.")


def _check_project(home: Path) -> None:
    """Check the configuration first, as the worker and the API will: a typo is named here,
    by file and line, instead of a worker that exits with its reason in a log."""
    from nurture.config.check import check_configuration

    report = check_configuration(Settings(home=home))
    for line in report.lines():
        say(line, err=True)
    if report.errors:
        say(f"nurture dev: not starting: {report.summary()}", err=True)
        raise typer.Exit(1)


def _supervise(stack: DevStack, stopped: Callable[[], bool]) -> None:
    """Wait until a stop is requested or a child exits on its own."""
    while not stopped() and not stack.dead():
        time.sleep(0.3)
    if stack.dead() and not stopped():
        say(f"nurture dev: {', '.join(stack.dead())} exited; see {stack.data / 'logs'}", err=True)
    say("nurture dev: stopping…")


def _print_urls(stack: DevStack) -> None:
    p = stack.ports
    key = stack.env()["NURTURE_API_KEYS"].split(",")[0]
    say(
        "\n".join(
            [
                "",
                "nurture is running:",
                f"  Temporal Web UI  http://127.0.0.1:{p.ui}/namespaces/default/workflows",
                f"  API + docs       http://127.0.0.1:{p.api}/docs   (X-API-Key: {key})",
                f"  Temporal server  127.0.0.1:{p.temporal}",
                f"  SMTP sink        127.0.0.1:{p.smtp} → {stack.outbox}  (nurture outbox)",
                f"  Logs             {stack.data / 'logs'}",
                "",
                "Try:  nurture submit white-paper --email ada@example.com --first-name Ada",
                "Stop: Ctrl-C",
                "",
            ]
        )
    )
