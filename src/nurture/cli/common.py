"""What the command groups share: output for a person, calls to the API, the project folder
and the stop request of a long-running command."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import typer

from nurture.config.folder import ProjectNotFound, find_project_home, source_checkout

if TYPE_CHECKING:  # the Temporal SDK loads only for the commands that talk to it
    from temporalio.client import Client

    from nurture.config.settings import TemporalSettings

__all__ = [
    "DEFAULT_API",
    "ApiKey",
    "ApiUrl",
    "HomeOption",
    "TimeZone",
    "api_error",
    "call_api",
    "connect_temporal",
    "exit_skipping_teardown",
    "pairs",
    "project_home",
    "say",
    "show",
    "stop_requested",
    "time_zone",
]

ApiUrl = Annotated[str, typer.Option(envvar="NURTURE_API_URL", help="Base URL of the nurture API.")]
ApiKey = Annotated[
    str, typer.Option(envvar="NURTURE_API_KEY", help="API key (the dev stack uses dev-key).")
]
DEFAULT_API = "http://127.0.0.1:8000"
HomeOption = Annotated[
    Path | None,
    typer.Option(
        help="Project folder (holds config/ and .nurture/); default: NURTURE_HOME, else "
        "the nearest one from here up, else the checkout nurture runs from."
    ),
]

TimeZone = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="Show times in this IANA time zone (e.g. Europe/Paris); default: this machine's.",
    ),
]


def time_zone(name: str | None) -> tzinfo:
    """The zone ``--tz`` names, else this machine's; an unknown name is a bad parameter."""
    if name is None:
        return datetime.now(UTC).astimezone().tzinfo or UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"{name!r} is not a time zone (e.g. Europe/Paris, UTC)") from exc


def project_home(home: Path | None, program: str) -> Path:
    """``--home``, else the project folder found from here (see ``nurture.config.folder``)."""
    if home is not None:
        return home.resolve()
    try:
        return find_project_home(Path.cwd(), os.environ, source_checkout()).path
    except ProjectNotFound as exc:
        say(f"{program}: {exc}; run it in the project folder or pass --home", err=True)
        raise typer.Exit(1) from exc


def stop_requested() -> Callable[[], bool]:
    """A check that turns true at the first SIGINT (Ctrl-C), SIGTERM or SIGHUP (terminal
    closed). A SIGHUP ignored from the start (``nohup``) stays ignored: that asked to live on.

    The handler only flips a flag: a handler that took a lock (``threading.Event.set``)
    could deadlock against the main thread interrupted while holding that same lock.
    """
    requested = [False]

    def handler(*_: object) -> None:
        requested[0] = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    hangup = getattr(signal, "SIGHUP", None)  # not on Windows
    if hangup is not None and signal.getsignal(hangup) != signal.SIG_IGN:
        signal.signal(hangup, handler)
    return lambda: requested[0]


def say(message: str, *, err: bool = False) -> None:
    """Print for a person, and never fail: output is a courtesy, stopping the children is not.

    A reader gone (``nurture dev | tee log``, then Ctrl-C kills tee too) shows up as
    BrokenPipeError (Python ignores SIGPIPE), a closed terminal as EIO: a line stdout cannot
    take goes to stderr (still the terminal after ``| tee``), else nowhere.
    """
    for stream in (sys.stderr,) if err else (sys.stdout, sys.stderr):
        if _write(stream, f"{message}\n"):
            return


def _write(stream: TextIO | None, text: str) -> bool:
    """Write ``text`` to the stream's descriptor at once, bypassing its buffer: a failed
    write then leaves nothing behind for the interpreter's last flush to fail on."""
    if stream is None:  # started without this descriptor (its number may be reused since)
        return False
    try:
        data = text.encode(stream.encoding or "utf-8", "replace")
        stream.flush()
        os.write(stream.fileno(), data)
    except (OSError, ValueError):  # ValueError: the stream was closed
        return False
    return True


def pairs(items: list[str]) -> dict[str, str]:
    """``name=value`` options as a mapping; anything else is a bad parameter."""
    found = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not name=value")
        found[name] = value
    return found


def call_api(
    method: str,
    url: str,
    key: str | None,
    body: dict[str, Any] | None,
    params: dict[str, Any] | None = None,
) -> Any:
    """The API's JSON answer; an unreachable API exits 2, a refusal exits 1 saying why in
    sentences (one per bad field)."""
    headers = {"X-API-Key": key} if key else {}
    try:
        response = httpx.request(method, url, json=body, params=params, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"Cannot reach the API at {url}: {exc} (is `nurture dev` running?)", err=True)
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        typer.echo(api_error(response.status_code, response.text), err=True)
        raise typer.Exit(1)
    return response.json()


_BY_STATUS = {
    401: "The API refused the key: {}; pass --api-key or set NURTURE_API_KEY",
    403: "The API key may not do this: {}",
    409: "Refused, nothing was changed: {}",
}


def api_error(status: int, text: str) -> str:
    """What an API error answer says, as sentences for a person: each bad field as
    ``field: rule``, any other detail as a sentence, never the raw JSON."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    detail = answer.get("detail") if isinstance(answer, dict) else None
    if isinstance(detail, list):
        return "\n".join(_field_error(item) for item in detail)
    if not isinstance(detail, str) or not detail:
        return f"The API answered {status} with no explanation."
    detail = _BY_STATUS.get(status, "{}").format(detail)
    if isinstance(answer, dict) and answer.get("error_id"):
        detail += f" (error id {answer['error_id']}, in the API's log)"
    return _sentence(detail)


def _field_error(item: Any) -> str:
    if isinstance(item, dict) and "message" in item:
        field = item.get("field") or "request"
        return f"{field}: {item['message']}"
    return _sentence(str(item))


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


async def connect_temporal(settings: TemporalSettings) -> Client:
    """A client for the configured Temporal server; unreachable, it exits 2 saying so
    (skipping the teardown: the SDK's runtime threads are up, see below)."""
    from nurture.adapters.temporal.client import connect

    try:
        return await connect(settings)
    except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
        typer.echo(
            f"Cannot reach Temporal at {settings.address} (is `nurture dev` running?): {exc}",
            err=True,
        )
        exit_skipping_teardown(2)


def exit_skipping_teardown(code: int = 0) -> NoReturn:
    """Exit now with ``code``, once output is flushed, without the interpreter's teardown.

    The Temporal client's Rust threads can outlive the event loop and call into Python
    while it finalizes, which aborts the process ("Fatal Python error: PyGILState_Release",
    temporalio/sdk-python#300): seen here in 2 of 25 runs of ``nurture sequences``. Commands
    that used a client leave this way; they hold nothing else that needs closing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def show(data: Any) -> None:
    """``data`` as indented JSON, non-ASCII kept readable."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
