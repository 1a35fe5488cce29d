"""Scale benchmark: many leads asleep on one dev stack, and one lead that lives long.

    .venv/bin/python -m bench.scale --leads 100000 [--events 10000] [--json]

On one stack as ``nurture dev`` runs it (dev server on SQLite in WAL mode, worker and API
processes, mail to a local SMTP server that accepts everything):
 1. watches the worker, the Temporal server and the API with no lead at all for
    ``--idle-seconds`` (resident memory and CPU: the floor the rest is compared with);
    then creates ``--leads`` leads through the API (form posts, a bounded number of leads
    not yet thanked at a time, progress with rate and ETA);
 2. once all are thanked and the worker is quiet, watches the three processes again;
 3. storage: the dev server's SQLite files per lead (and the tables that hold them), one
    lead's histories as stored, the ledger and facts log per lead;
 4. visibility: the time to count the leads at a stage and to list the first page, with
    the query ``nurture`` uses for running leads;
 5. a long-lived lead sent ``--events`` events: the API's acceptance rate and the
    workflow's handling rate per ``--window`` events, its runs (continue-as-new) with their
    history length and the state each carried, and the CPU each event cost.
Prints a table at the end (``--json``: the figures as JSON, progress on stderr). A step
that fails says why and the others still run. A script, not a test: it prints figures and
never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

import httpx
from aiosmtpd.controller import Controller

from bench.scale_intake import ThankYous
from bench.scale_report import Findings
from bench.scale_steps import Steps
from bench.stack import bench_stack
from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.testing import free_port

__all__ = ["main"]


async def run(args: argparse.Namespace, findings: Findings, log: TextIO) -> None:
    """Start the SMTP server and the stack, run each step, stop everything."""
    current = asyncio.current_task()
    if current is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
    sink = ThankYous(asyncio.get_running_loop())
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with bench_stack(smtp_port) as stack:
            client = await connect(TemporalSettings(address=f"127.0.0.1:{stack.ports.temporal}"))
            limits = httpx.Limits(max_connections=2 * max(args.concurrency, args.event_concurrency))
            base = f"http://127.0.0.1:{stack.ports.api}"
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as api:
                await run_steps(args, findings, log, Steps(args, stack, client, api, sink, log))
    finally:
        controller.stop()


async def run_steps(
    args: argparse.Namespace, findings: Findings, log: TextIO, steps: Steps
) -> None:
    """The steps in order; those that need the leads or a live stack only when they can."""
    say = steps.say
    say(
        f"{args.leads:,} leads, then one lead sent {args.events:,} events; "
        "dev server on SQLite (WAL)"
    )
    await findings.step("empty stack", steps.empty_stack(findings), log)
    if args.leads:
        await findings.step("create leads", steps.create_leads(findings), log)
    if steps.created:
        for name, step in (
            ("asleep", steps.asleep),
            ("storage", steps.storage),
            ("visibility", steps.visibility),
        ):
            if steps.usable(name, findings):
                await findings.step(name, step(findings), log)
    if args.events and steps.usable("long-lived lead", findings):
        await findings.step("long-lived lead", steps.long_lead(findings), log)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--leads", type=int, default=1000, help="leads to create (default 1000)")
    add("--concurrency", type=int, default=10, help="form posts open at once")
    add("--in-flight", type=int, default=50, help="leads posted but not yet thanked, at most")
    add("--progress", type=float, default=30.0, help="seconds between progress lines")
    add("--stall", type=float, default=300.0, help="give up after so long with no thank-you")
    add("--settle", type=float, default=600.0, help="longest wait for the worker to go quiet")
    add(
        "--idle-seconds",
        type=float,
        default=60.0,
        help="how long to watch the empty stack, then the sleeping leads",
    )
    add("--sample", type=int, default=3, help="leads whose histories are read")
    add("--stage", help="the stage to list (default: the one with the most leads)")
    add("--page", type=int, default=100, help="the first page's size")
    add("--repeat", type=int, default=3, help="timed runs of each visibility call")
    add("--events", type=int, default=10_000, help="events sent to the long-lived lead (0: none)")
    add("--event-type", default="page_viewed")
    add(
        "--event-property",
        action="append",
        metavar="NAME=VALUE",
        help="a property of each event (default: section=blog)",
    )
    add("--event-concurrency", type=int, default=4, help="event posts open at once")
    add("--window", type=int, default=500, help="events per rate window")
    add("--json", action="store_true", help="print the figures as JSON (progress on stderr)")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    log = sys.stderr if args.json else sys.stdout
    findings = Findings()
    try:
        asyncio.run(run(args, findings, log))
    except (KeyboardInterrupt, asyncio.CancelledError):
        findings.errors["interrupted"] = "stopped before the end: the figures so far"
    except Exception as exc:  # the stack did not start: say why, with what there is
        findings.errors["stack"] = f"{type(exc).__name__}: {exc}"
    if args.json:
        findings.json()
    else:
        findings.table()


if __name__ == "__main__":
    main()
