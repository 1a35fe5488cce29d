"""``nurture sequences``: every registered sequence and version, and how many leads run each."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from nurture.cli.common import connect_temporal, exit_skipping_teardown, show
from nurture.config.settings import Settings

__all__ = ["sequences"]


def sequences(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every sequence and version, with how many leads run each right now."""
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
