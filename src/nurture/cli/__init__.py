"""The ``nurture`` command: run the dev stack, submit leads, read leads and the outbox."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import httpx
import typer

from nurture.config.folder import (
    OutboxLocation,
    ProjectNotFound,
    find_project_home,
    locate_outbox,
    source_checkout,
)
from nurture.config.settings import Settings
from nurture.devtools.stack import DEV_API_KEY, DevPorts, DevStack
from nurture.errors import ConfigError, NurtureError

__all__ = ["app", "main"]

app = typer.Typer(help="Durable lead nurturing on Temporal.", no_args_is_help=True)
lead_app = typer.Typer(help="Read leads and act on them as sales.", no_args_is_help=True)
app.add_typer(lead_app, name="lead")
templates_app = typer.Typer(help="Email templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
config_app = typer.Typer(help="Configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ApiUrl = Annotated[str, typer.Option(envvar="NURTURE_API_URL", help="Base URL of the nurture API.")]
ApiKey = Annotated[
    str, typer.Option(envvar="NURTURE_API_KEY", help="API key (the dev stack uses dev-key).")
]
DEFAULT_API = "http://127.0.0.1:8000"


@app.command()
def dev(
    home: Annotated[
        Path | None,
        typer.Option(
            help="Project folder (holds config/ and .nurture/); default: NURTURE_HOME, else "
            "the nearest one from here up, else the checkout nurture runs from."
        ),
    ] = None,
    temporal_port: int = 7233,
    ui_port: int = 8233,
    api_port: int = 8000,
    smtp_port: int = 1025,
) -> None:
    """Run Temporal (with its Web UI), the SMTP sink, the worker and the API until Ctrl-C,
    SIGTERM or SIGHUP (the terminal closed); every child stops with it."""
    stopped = _stop_requested()
    ports = DevPorts(temporal=temporal_port, ui=ui_port, api=api_port, smtp=smtp_port)
    stack = DevStack(_project_home(home), ports)
    _check_project(stack.home)
    try:
        _say("nurture dev: starting Temporal, SMTP sink, worker and API…")
        stack.start()
        _print_urls(stack)
        _supervise(stack, stopped)
    except NurtureError as exc:
        _say(f"nurture dev: {exc}; see {stack.data / 'logs'}", err=True)
        raise typer.Exit(1) from exc
    finally:
        stack.stop()  # first, and alone: nothing before it may keep it from running
    _say("nurture dev: stopped.")


def _project_home(home: Path | None) -> Path:
    """``--home``, else the project folder found from here (see ``nurture.config.folder``)."""
    if home is not None:
        return home.resolve()
    try:
        return find_project_home(Path.cwd(), os.environ, source_checkout()).path
    except ProjectNotFound as exc:
        _say(f"nurture dev: {exc}; run it in the project folder or pass --home", err=True)
        raise typer.Exit(1) from exc


def _check_project(home: Path) -> None:
    """Check the configuration first, as the worker and the API will: a typo is named here,
    by file and line, instead of a worker that exits with its reason in a log."""
    from nurture.config.check import check_configuration

    report = check_configuration(Settings(home=home))
    for line in report.lines():
        _say(line, err=True)
    if report.errors:
        _say(f"nurture dev: not starting: {report.summary()}", err=True)
        raise typer.Exit(1)


def _supervise(stack: DevStack, stopped: Callable[[], bool]) -> None:
    """Wait until a stop is requested or a child exits on its own."""
    while not stopped() and not stack.dead():
        time.sleep(0.3)
    if stack.dead() and not stopped():
        _say(f"nurture dev: {', '.join(stack.dead())} exited; see {stack.data / 'logs'}", err=True)
    _say("nurture dev: stopping…")


def _print_urls(stack: DevStack) -> None:
    p = stack.ports
    key = stack.env()["NURTURE_API_KEYS"].split(",")[0]
    _say(
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


@app.command()
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


@app.command()
def sink(
    folder: Annotated[
        Path | None, typer.Option(help="Where to keep messages; default: what outbox reads.")
    ] = None,
    host: str = "127.0.0.1",
    port: int = 1025,
) -> None:
    """Run the local SMTP sink, keeping every message it receives."""
    from nurture.adapters.mail.sink import serve_sink

    stopped = _stop_requested()
    where = _outbox_location(folder).folder
    controller = serve_sink(where, host, port, Settings().public_url)
    _say(f"SMTP sink on {host}:{port}, keeping messages in {where}")
    while not stopped():
        time.sleep(0.2)
    controller.stop()


@app.command()
def setup() -> None:
    """Register nurture's search attributes on the configured Temporal namespace."""
    from nurture.adapters.temporal.client import connect, register_search_attributes

    async def run() -> None:
        settings = Settings()
        client = await connect(settings.temporal)
        await register_search_attributes(client, settings.temporal.namespace)

    asyncio.run(run())
    typer.echo("search attributes registered")
    _exit_skipping_teardown()


@app.command()
def sequences(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every sequence and version, with how many leads run each right now."""
    from nurture.adapters.temporal.client import connect, count_sequence_runs
    from workflows.sequences import REGISTRY

    async def run() -> list[dict[str, Any]]:
        client = await connect(Settings().temporal)
        counts = await count_sequence_runs(client, sorted(REGISTRY))
        return [
            {
                "sequence": name,
                "version": version,
                "running": counts[(name, version)],
                "newest": version == max(v for n, v in REGISTRY if n == name),
                "about": (REGISTRY[(name, version)].__doc__ or "").strip().split("\n")[0],
            }
            for name, version in sorted(REGISTRY)
        ]

    rows = asyncio.run(run())
    if as_json:
        _show(rows)
        _exit_skipping_teardown()
    typer.echo(f"{'sequence':<20} {'version':>7} {'running':>8}  about")
    for row in rows:
        mark = "*" if row["newest"] else " "
        typer.echo(
            f"{row['sequence']:<20} {row['version']:>6}{mark} {row['running']:>8}  {row['about']}"
        )
    typer.echo("* the version new enrolments get")
    _exit_skipping_teardown()


@app.command()
def submit(
    form_id: Annotated[str, typer.Argument(help="A form id from config/nurture.toml.")],
    email: Annotated[str, typer.Option(help="The lead's email.")],
    first_name: str | None = None,
    last_name: str | None = None,
    company: str | None = None,
    job_title: str | None = None,
    locale: str | None = None,
    submission_id: str | None = None,
    field: Annotated[list[str] | None, typer.Option(help="Any other field, as name=value.")] = None,
    api_url: ApiUrl = DEFAULT_API,
) -> None:
    """Post a form for a lead, as a web page would."""
    body: dict[str, Any] = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "job_title": job_title,
        "locale": locale,
        "submission_id": submission_id,
    }
    body.update(_pairs(field or []))
    body = {k: v for k, v in body.items() if v is not None}
    _show(_call("POST", f"{api_url}/v1/forms/{form_id}", None, body))


@app.command()
def event(
    event_type: Annotated[str, typer.Argument(help="Event type, e.g. page_viewed.")],
    email: str | None = None,
    lead_id: str | None = None,
    prop: Annotated[list[str] | None, typer.Option(help="A property, as name=value.")] = None,
    event_id: str | None = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Record a behavioural event for a lead."""
    body: dict[str, Any] = {
        "type": event_type,
        "email": email,
        "lead_id": lead_id,
        "event_id": event_id,
        "properties": _pairs(prop or []),
    }
    body = {k: v for k, v in body.items() if v is not None}
    _show(_call("POST", f"{api_url}/v1/events", api_key, body))


@lead_app.command("show")
def lead_show(
    who: Annotated[str, typer.Argument(help="An email or a lead id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Show a lead's stage, score with its explanation, transitions and emails."""
    if "@" in who:
        view = _call("POST", f"{api_url}/v1/leads/lookup", api_key, {"email": who})
    else:
        view = _call("GET", f"{api_url}/v1/leads/{who}", api_key, None)
    if as_json:
        _show(view)
        return
    from nurture.domain.lead.view import LeadView, summary_markdown

    typer.echo(summary_markdown(LeadView.model_validate(view)))


@lead_app.command("act")
def lead_act(
    action: Annotated[
        str,
        typer.Argument(
            help="accept, return-to-nurture, disqualify, convert, won or lost.",
        ),
    ],
    who: Annotated[str, typer.Argument(help="An email or a lead id.")],
    actor: Annotated[str, typer.Option(help="Who acts (a rep id or name).")],
    reason: Annotated[
        str | None,
        typer.Option(
            help="return-to-nurture: budget, authority, need, timing, no_response, other."
        ),
    ] = None,
    note: str | None = None,
    revisit_after: Annotated[
        str | None, typer.Option(help="return-to-nurture: no new hand-off before YYYY-MM-DD.")
    ] = None,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Act on a lead as sales; a refused action prints why and changes nothing."""
    lead_id = who
    if "@" in who:
        lead_id = _call("POST", f"{api_url}/v1/leads/lookup", api_key, {"email": who})["lead_id"]
    body = {"actor": actor, "reason": reason, "note": note, "revisit_after": revisit_after}
    body = {k: v for k, v in body.items() if v is not None}
    view = _call("POST", f"{api_url}/v1/leads/{lead_id}/{action}", api_key, body)
    from nurture.domain.lead.view import LeadView, summary_markdown

    typer.echo(summary_markdown(LeadView.model_validate(view)))


@lead_app.command("erase")
def lead_erase(
    who: Annotated[str, typer.Argument(help="An email or a lead id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = DEFAULT_API,
    api_key: ApiKey = DEV_API_KEY,
) -> None:
    """Erase a lead (right to erasure): its workflows and histories, send records and
    outbox messages are deleted; a keyed hash of its address stays suppressed."""
    if not yes:
        typer.confirm(f"Erase {who} for good? This cannot be undone", abort=True)
    if "@" in who:
        report = _call("POST", f"{api_url}/v1/leads/erase", api_key, {"email": who})
    else:
        report = _call("DELETE", f"{api_url}/v1/leads/{who}", api_key, None)
    typer.echo(
        f"erased lead {report['lead_id']}: {report['workflow_runs_deleted']} workflow runs, "
        f"{report['send_records_deleted']} send records, "
        f"{report['outbox_messages_deleted']} outbox messages deleted; "
        + ("address suppressed" if report["suppressed"] else "no address was known")
    )


@apikey_app.command("create")
def apikey_create(
    scope: Annotated[
        list[str],
        typer.Option(help="forms, events, sales or admin; repeat for several."),
    ],
) -> None:
    """Make a new API key: print the key once (give it to the caller) and the entry to add
    to NURTURE_API_KEYS (only its hash is stored)."""
    from nurture.api.security import new_api_key

    try:
        key, entry = new_api_key(scope)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from exc
    typer.echo(f"key (shown once):       {key}")
    typer.echo(f"NURTURE_API_KEYS entry: {entry}")


@templates_app.command("check")
def templates_check() -> None:
    """Render every template in every locale; fail on a missing variable, an empty subject,
    a broken link or a template missing from a locale."""
    from nurture.config.files import load_project_config
    from nurture.config.template_check import check_templates, template_names

    settings = Settings()
    folder = settings.path(settings.templates_dir)
    try:
        brand = load_project_config(settings.path(settings.config_file)).brand
    except ConfigError as exc:
        typer.echo(f"nurture templates check: {exc}", err=True)
        raise typer.Exit(1) from exc
    problems = check_templates(folder, brand)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(template_names(folder))} templates render in every locale")


@config_app.command("check")
def config_check() -> None:
    """Check the configuration files and templates as the worker and the API do at start:
    print each problem as file:line: field: rule, and exit 1 on any error (for CI)."""
    from nurture.config.check import check_configuration

    report = check_configuration(Settings())
    for line in report.lines():
        typer.echo(line, err=True)
    typer.echo(report.summary(), err=bool(report.errors))
    if report.errors:
        raise typer.Exit(1)


@app.command()
def outbox(
    folder: Annotated[
        Path | None,
        typer.Option(
            help="The sink's folder; default: NURTURE_OUTBOX_DIR, else .nurture/outbox in "
            "the project folder (found as `nurture dev --help` says)."
        ),
    ] = None,
    show: Annotated[int | None, typer.Option(help="Print message N (1 = oldest) in full.")] = None,
    html: Annotated[bool, typer.Option(help="With --show, print the HTML part.")] = False,
) -> None:
    """List the messages the local SMTP sink received."""
    from nurture.adapters.mail.sink import read_outbox

    location = _outbox_location(folder)
    where = _describe(location)
    if not location.folder.is_dir():
        typer.echo(
            f"no outbox at {where}: the folder does not exist (`nurture dev` makes it)", err=True
        )
        raise typer.Exit(1)
    messages = read_outbox(location.folder)
    if show is not None:
        if not 1 <= show <= len(messages):
            typer.echo(f"no message {show}: the outbox {where} holds {len(messages)}", err=True)
            raise typer.Exit(1)
        m = messages[show - 1]
        typer.echo(f"To: {m.to}\nSubject: {m.subject}\nMessage-ID: {m.message['Message-ID']}\n")
        typer.echo(m.body("html" if html else "plain"))
        return
    count = f"{len(messages)} message{'s' if len(messages) > 1 else ''}"
    typer.echo(f"{count} in the outbox {where}" if messages else f"the outbox {where} is empty")
    for number, m in enumerate(messages, 1):
        date = m.message["Date"] or ""
        typer.echo(f"{number:>4}  {date}  {m.to}  {m.subject}")


def _outbox_location(folder: Path | None) -> OutboxLocation:
    """The sink's folder as ``nurture.config.folder.locate_outbox`` finds it from here."""
    try:
        return locate_outbox(folder, Path.cwd(), os.environ, source_checkout())
    except ProjectNotFound as exc:
        typer.echo(f"{exc}; pass --folder, or set NURTURE_OUTBOX_DIR", err=True)
        raise typer.Exit(1) from exc


def _describe(location: OutboxLocation) -> str:
    """The folder, and how it was found unless that is where the person stands."""
    if location.found is None:
        return str(location.folder)
    return f"{location.folder} ({location.found})"


def _stop_requested() -> Callable[[], bool]:
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


def _say(message: str, *, err: bool = False) -> None:
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


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not name=value")
        pairs[name] = value
    return pairs


def _call(method: str, url: str, key: str | None, body: dict[str, Any] | None) -> Any:
    headers = {"X-API-Key": key} if key else {}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the API at {url}: {exc} (is `nurture dev` running?)", err=True)
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        typer.echo(f"{response.status_code}: {response.text}", err=True)
        raise typer.Exit(1)
    return response.json()


def _exit_skipping_teardown() -> NoReturn:
    """Exit 0 now, once output is flushed, without the interpreter's teardown.

    The Temporal client's Rust threads can outlive the event loop and call into Python
    while it finalizes, which aborts the process ("Fatal Python error: PyGILState_Release",
    temporalio/sdk-python#300): seen here in 2 of 25 runs of ``nurture sequences``. Commands
    that used a client leave this way; they hold nothing else that needs closing.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _show(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
