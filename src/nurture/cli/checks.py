"""``nurture templates check`` and ``nurture config check``: what CI runs on a project's
templates and configuration, each problem on its own line, exit 1 on any error."""

from __future__ import annotations

import typer

from nurture.config.settings import Settings
from nurture.errors import ConfigError

__all__ = ["config_app", "templates_app"]

templates_app = typer.Typer(help="Check the email templates.", no_args_is_help=True)
config_app = typer.Typer(help="Check the configuration files.", no_args_is_help=True)


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
