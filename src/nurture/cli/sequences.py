"""``nurture sequences``: every registered sequence and version, and how many leads run each;
``nurture sequences simulate``: what a sequence would send a lead, branch by branch, before
any lead gets it."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from nurture.cli.common import connect_temporal, exit_skipping_teardown, pairs, say, show
from nurture.config.settings import Settings
from nurture.errors import NurtureError

if TYPE_CHECKING:
    from nurture.config.project import ProjectConfig
    from nurture.domain.models import FormContext
    from nurture.domain.sequences.models import LeadSnapshot
    from nurture.domain.sequences.simulation import Simulation
    from nurture.services.simulation_branch import SimulationRequest

__all__ = ["sequences", "sequences_app", "simulate"]

sequences_app = typer.Typer(help="The sequences: list them, simulate one.")

DEFAULT_LEAD = {"lead_id": "simulated-lead", "email": "simulated.lead@example.com"}
"""Who the simulated lead is when neither --lead nor --profile says."""
_TOP_LEVEL = frozenset(
    {
        "lead_id",
        "email",
        "full_name",
        "locale",
        "timezone",
        "country",
        "stage",
        "score",
        "grade",
        "buying_stage",
        "source",
        "tracking",
        "conditions",
    }
)
"""The profile keys a sequence reads on the lead itself; any other key is an attribute."""


@sequences_app.callback(invoke_without_command=True)
def sequences(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every sequence and version, with how many leads run each right now."""
    if ctx.invoked_subcommand is not None:
        return
    from nurture.adapters.temporal.client import count_sequence_runs
    from workflows.sequences import REGISTRY

    async def run() -> list[dict[str, Any]]:
        client = await connect_temporal(Settings().temporal)
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
        show(rows)
        exit_skipping_teardown()
    typer.echo(f"{'sequence':<20} {'version':>7} {'running':>8}  about")
    for row in rows:
        mark = "*" if row["newest"] else " "
        typer.echo(
            f"{row['sequence']:<20} {row['version']:>6}{mark} {row['running']:>8}  {row['about']}"
        )
    typer.echo("* the version new enrolments get")
    exit_skipping_teardown()


@sequences_app.command("simulate")
def simulate(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME[@VERSION]",
            help="The sequence, as NAME (its newest version) or NAME@VERSION.",
        ),
    ],
    lead_file: Annotated[
        Path | None,
        typer.Option(
            "--lead",
            help="A JSON file describing the lead: timezone, country, stage, score, grade, "
            "buying_stage, locale... at the top, other keys (or an 'attributes' object) as "
            "its profile fields.",
        ),
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            help="key=value about the lead (repeatable; over --lead): timezone=Europe/Paris, "
            "country=FR, stage=mql, score=40, grade=A, industry=retail...",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="When the lead enters the sequence, ISO 8601 (2027-03-27T11:00; without an "
            "offset, in the lead's time zone); default: now. Not in the past.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            help="Simulate the sequence this Python file defines instead of the registered "
            "one (an edit, to compare with the version leads run).",
        ),
    ] = None,
    form: Annotated[
        str | None,
        typer.Option(
            help="The form that started the sequence, by its id in config/nurture.toml "
            "(what the welcome sends is the form's related content).",
        ),
    ] = None,
    event_after: Annotated[
        str,
        typer.Option(
            help="How long into a wait_for the event arrives in the branches where it "
            "does (halfway through a shorter wait).",
        ),
    ] = "1h",
    max_branches: Annotated[int, typer.Option(min=1, help="Run at most this many branches.")] = 32,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run a sequence for a made-up lead on Temporal's time-skipping test server (nothing is
    sent) and print every email each branch would send, in the lead's local time: with and
    without each event it waits for, each variant of each split, the goal reached early."""
    from nurture.cli.simulationview import simulation_lines
    from nurture.services.simulation_parts import SequenceFileError, sequences_from_file

    lead = _lead(lead_file, pairs(profile or []))
    loaded: AbstractContextManager[object] = nullcontext()
    if file is not None:
        loaded = sequences_from_file(file)
    try:
        with loaded:
            request = _request(name, lead, start, _duration(event_after), max_branches, form)
            if sys.stderr.isatty():
                say(f"Simulating {request.name} v{request.version}, branch by branch...", err=True)
            try:
                result = asyncio.run(_simulate(request))
            except NurtureError as exc:
                say(f"nurture sequences simulate: {exc}", err=True)
                exit_skipping_teardown(1)
    except SequenceFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--file") from exc
    if as_json:
        show(result.model_dump(mode="json"))
    else:
        columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        for line in simulation_lines(result, columns):
            typer.echo(line)
    exit_skipping_teardown()


def _lead(lead_file: Path | None, profile: dict[str, str]) -> LeadSnapshot:
    """The simulated lead: the defaults, then the file, then ``--profile``."""
    from nurture.domain.sequences.models import LeadSnapshot

    given: dict[str, Any] = {}
    if lead_file is not None:
        try:
            given = json.loads(lead_file.read_text())
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"{lead_file}: {exc}", param_hint="--lead") from exc
        if not isinstance(given, dict):
            raise typer.BadParameter(f"{lead_file} is not a JSON object", param_hint="--lead")
    fields: dict[str, Any] = {**DEFAULT_LEAD, "attributes": dict(given.pop("attributes", {}))}
    for key, value in [*given.items(), *profile.items()]:
        if key == "conditions" and isinstance(value, str):
            value = tuple(v for v in value.split(",") if v)
        if key in _TOP_LEVEL:
            fields[key] = value
        else:
            fields["attributes"][key] = value
    try:
        return LeadSnapshot.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems, param_hint="--lead/--profile") from exc


def _request(
    name: str,
    lead: LeadSnapshot,
    start: str | None,
    event_after: timedelta,
    limit: int,
    form_id: str | None,
) -> SimulationRequest:
    from nurture.config.files import load_project_config
    from nurture.domain.schedule import lead_zone
    from nurture.services.simulation_branch import SimulationRequest

    sequence, version = _pick(name)
    settings = Settings()
    project = _config(lambda: load_project_config(settings.path(settings.config_file)))
    zone = lead_zone(lead.timezone, lead.country, project.sending.window)
    rules = [rule for rule in project.enrolment if rule.sequence == sequence]
    return SimulationRequest(
        name=sequence,
        version=version,
        lead=lead,
        start=_start(start, zone),
        stages=tuple(rules[0].stages) if rules else None,
        event_after=event_after,
        limit=limit,
        form=_form(project, form_id) if form_id else None,
    )


def _form(project: ProjectConfig, form_id: str) -> FormContext:
    """The context a submission of ``form_id`` gives the sequence it starts."""
    from nurture.domain.models import FormContext

    form = project.forms.get(form_id)
    if form is None:
        known = ", ".join(sorted(project.forms)) or "none"
        raise typer.BadParameter(f"no form {form_id!r} (known: {known})", param_hint="--form")
    return FormContext(form_id=form_id, offer=form.offer, related=form.related)


def _pick(name: str) -> tuple[str, int]:
    """``NAME`` (its newest version) or ``NAME@VERSION``, registered."""
    from workflows.sequences import REGISTRY

    sequence, _, version = name.partition("@")
    versions = sorted(v for n, v in REGISTRY if n == sequence)
    if not versions:
        known = ", ".join(sorted({n for n, _ in REGISTRY}))
        raise typer.BadParameter(f"no sequence named {sequence!r} (known: {known})")
    if not version:
        return sequence, versions[-1]
    if not version.isdigit() or int(version) not in versions:
        listed = ", ".join(map(str, versions))
        raise typer.BadParameter(f"{sequence} has no version {version!r} (it has {listed})")
    return sequence, int(version)


def _start(text: str | None, zone: Any) -> datetime:
    """``--start`` in UTC (a time without offset is the lead's); now, to the next minute,
    by default. The simulated clock can only go forward from now."""
    now = datetime.now(UTC)
    if text is None:
        return (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not ISO 8601", param_hint="--start") from exc
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
    if moment < now - timedelta(minutes=1):
        raise typer.BadParameter(
            f"{text} is in the past: the simulated clock starts now or later",
            param_hint="--start",
        )
    return moment


def _duration(text: str) -> timedelta:
    from nurture.domain.schedule import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--event-after") from exc
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise typer.BadParameter(f"{text!r}: say 30m, 1h or 2d", param_hint="--event-after")
    return value


def _config(load: Any) -> Any:
    """A configuration file loaded, or exit 1 naming its problem."""
    from nurture.errors import ConfigError

    try:
        return load()
    except ConfigError as exc:
        say(f"nurture sequences simulate: {exc}", err=True)
        raise typer.Exit(1) from exc


async def _simulate(request: SimulationRequest) -> Simulation:
    """Wire the project's configuration activities, templates and the test server into a
    simulation, as ``worker.py`` wires a worker."""
    from activities import ConfigActivities
    from nurture.adapters.configstore import SqliteConfigStore
    from nurture.adapters.mail.rendering import TemplateRenderer
    from nurture.config.files import load_event_vocabulary, load_project_config, load_sales_team
    from nurture.devtools.binaries import find_binary
    from nurture.services.simulation import simulate
    from nurture.services.simulation_branch import Project

    settings = Settings()
    paths = [settings.path(f) for f in (settings.config_file, settings.scoring_file)]
    project_file, scoring_file = paths
    sales_file = settings.path(settings.sales_file)
    project = load_project_config(project_file)
    team = load_sales_team(sales_file)
    vocabulary = load_event_vocabulary(project_file, scoring_file, sales_file)
    with tempfile.TemporaryDirectory(prefix="nurture-simulate-") as folder:
        store = SqliteConfigStore(Path(folder) / "config.db")
        config = ConfigActivities(scoring_file, project_file, lambda: team, store)
        world = Project(
            test_server=find_binary("temporal-test-server"),
            config_activities=config.activities(),
            renderer=TemplateRenderer(
                settings.path(settings.templates_dir), project.defaults.locale
            ),
            brand=project.brand,
            sending=project.sending,
            event_types=tuple(sorted(vocabulary.types)),
        )
        try:
            return await simulate(request, world)
        finally:
            await store.close()
