"""``nurture apikey create``: a new API key, shown once, and the hash entry to configure."""

from __future__ import annotations

from typing import Annotated

import typer

from nurture.errors import ConfigError

__all__ = ["apikey_app"]

apikey_app = typer.Typer(help="Make API keys.", no_args_is_help=True)


@apikey_app.command("create")
def apikey_create(
    scope: Annotated[
        list[str],
        typer.Option(help="forms, events, sales, reports or admin; repeat for several."),
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
