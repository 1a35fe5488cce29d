"""Back-pressure benchmark: new leads' thank-you latency while a campaign's backlog drains.

    .venv/bin/python -m bench.backlog [--campaign 400] [--delay 20] [--answer-after 0.1]
                                      [--pool 1] [--leads 20] [--every 1]

Twice, each time on a fresh embedded stack (as ``nurture dev``): with the dev server as
shipped, which honours task-queue priorities (``workflows/priorities.py``), then with its
priority matcher off (``matching.useNewMatcher=false``: tasks in arrival order, as on a
server that ignores priorities). Each time:

 1. ``--campaign`` leads post a form whose welcome email (marketing) falls due ``--delay``
    seconds after their thank-you, which a fast relay takes at once;
 2. the relay then answers each message after ``--answer-after`` seconds, and the worker
    holds ``--pool`` connections to it: the welcome emails back up in the mail queue;
 3. once every welcome email is due, ``--leads`` new leads post the white-paper form, one
    every ``--every`` seconds, and the script notes when each thank-you arrives.

Prints, per run, how long the campaign's welcome emails took to leave, the sends waiting
in the mail queue as each new lead posted (the server's approximate count), and the new
leads' thank-you latency and how many marketing sends went first. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.stack import ROOT, bench_stack
from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.domain.emails import mail_task_queue
from nurture.testing import free_port

WINDOW = """[sending.window]
days = [1, 2, 3, 4, 5, 6, 7]
start = "00:00"
end = "23:59:59.999999"

"""

RUNS = {
    "priorities honoured": (),
    "priorities ignored": ("--dynamic-config-value", "matching.useNewMatcher=false"),
}
"""The dev server's flags for each run (beside those ``nurture dev`` passes)."""


class Relay:
    """An SMTP handler noting each message's arrival, recipient and template; it answers
    after ``answer_after`` seconds (a slow relay, once set)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, str]] = []
        self.answer_after = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.perf_counter()
        template = str(BytesHeaderParser().parsebytes(envelope.content)["X-Nurture-Template"])
        self.arrivals += [(now, rcpt, template) for rcpt in envelope.rcpt_tos]
        await asyncio.sleep(self.answer_after)
        return "250 OK"

    def times(self, template: str, prefix: str = "") -> list[float]:
        return [t for t, rcpt, tpl in self.arrivals if tpl == template and rcpt.startswith(prefix)]

    def thanked(self, rcpt: str) -> float | None:
        return next((t for t, r, tpl in self.arrivals if r == rcpt and tpl == "thank_you"), None)


def campaign_config(folder: Path, delay: float) -> Path:
    """The shipped configuration with a send window that never closes and a ``campaign``
    form whose welcome email is due ``delay`` seconds after the thank-you."""
    head, _, tail = (ROOT / "config" / "nurture.toml").read_text().partition("[sending.window]")
    path = folder / "nurture.toml"
    path.write_text(head + WINDOW + tail[tail.index("[sending.cap]") :] + campaign_form(delay))
    return path


def campaign_form(delay: float) -> str:
    """``nurture.toml``'s ``[forms.campaign]``: a form whose welcome email (marketing) is
    due ``delay`` seconds after its thank-you."""
    return f"""
[forms.campaign]
event = "content_downloaded"
source = "inbound"
second_conversion_delay = "{delay:g}s"
offer = {{ title = "The campaign guide", url = "https://www.example.com/guides/campaign.pdf" }}
related = [{{ title = "The long guide", url = "https://www.example.com/guides/long.pdf" }}]
"""


async def until(check: Callable[[], bool], within: float) -> None:
    deadline = time.perf_counter() + within
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not reached within {within:.0f}s")
        await asyncio.sleep(0.05)


async def post(api: httpx.AsyncClient, form: str, email: str) -> None:
    response = await api.post(f"/v1/forms/{form}", data={"email": email})
    response.raise_for_status()


async def campaign(api: httpx.AsyncClient, relay: Relay, args: argparse.Namespace) -> None:
    """Post the campaign's forms, wait for their thank-yous, then slow the relay down:
    the welcome emails fall due ``args.delay`` seconds after each."""
    gate = asyncio.Semaphore(20)

    async def one(i: int) -> None:
        async with gate:
            await post(api, "campaign", f"campaign-{i}@bench.example")

    await asyncio.gather(*(one(i) for i in range(args.campaign)))
    await until(lambda: len(relay.times("thank_you", "campaign-")) >= args.campaign, 600)
    relay.answer_after = args.answer_after


async def mail_backlog(client: Client) -> int:
    """Sends waiting in the mail queue, as the server counts them (approximately)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=mail_task_queue(TemporalSettings().task_queue)),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        report_stats=True,
    )
    response = await client.workflow_service.describe_task_queue(request)
    return int(response.stats.approximate_backlog_count)


async def new_leads(
    api: httpx.AsyncClient, client: Client, relay: Relay, args: argparse.Namespace
) -> list[tuple[float, int, int]]:
    """Post the white-paper form every ``args.every`` seconds; per lead, its thank-you's
    latency, the sends waiting in the mail queue as it posted, and the marketing sends
    that arrived between its post and its thank-you."""

    async def one(i: int) -> tuple[float, int, int]:
        email = f"new-{i}@bench.example"
        waiting = await mail_backlog(client)
        began = time.perf_counter()
        await post(api, "white-paper", email)
        await until(lambda: relay.thanked(email) is not None, 600)
        thanked = relay.thanked(email) or began
        ahead = sum(1 for t in relay.times("second_conversion") if began < t < thanked)
        return thanked - began, waiting, ahead

    tasks = []
    for i in range(args.leads):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(args.every)
    return list(await asyncio.gather(*tasks))


async def run(name: str, flags: tuple[str, ...], args: argparse.Namespace) -> None:
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "NURTURE_CONFIG_FILE": str(campaign_config(Path(tmp), args.delay)),
                "SMTP_POOL_SIZE": str(args.pool),
            }
            with bench_stack(controller.port, env, flags) as stack:
                base = f"http://127.0.0.1:{stack.ports.api}"
                address = f"127.0.0.1:{stack.ports.temporal}"
                client = await connect(TemporalSettings(address=address))
                async with httpx.AsyncClient(base_url=base, timeout=60) as api:
                    await campaign(api, relay, args)
                    await asyncio.sleep(args.delay + 1)  # every welcome email is due
                    measured = await new_leads(api, client, relay, args)
                    await until(
                        lambda: len(relay.times("second_conversion", "campaign-")) >= args.campaign,
                        3600,
                    )
    finally:
        controller.stop()
    report(name, relay.times("second_conversion", "campaign-"), measured)


def report(name: str, welcome: list[float], measured: list[tuple[float, int, int]]) -> None:
    drained = max(welcome) - min(welcome)
    latency = sorted(m[0] for m in measured)
    waiting = sorted(m[1] for m in measured)
    ahead = sorted(m[2] for m in measured)
    print(
        f"{name}: the campaign's {len(welcome)} welcome emails left over {drained:.1f} s "
        f"({len(welcome) / drained:.1f}/s). {len(measured)} new leads posted with "
        f"{statistics.median(waiting):g} sends waiting (median; {waiting[0]}-{waiting[-1]}): "
        f"thank-you after p50 {statistics.median(latency):.2f} s, max {latency[-1]:.2f} s; "
        f"marketing sends that went first p50 {statistics.median(ahead):g}, max {ahead[-1]}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.campaign} campaign leads, relay answering after {args.answer_after} s over "
        f"{args.pool} connection(s); {args.leads} new leads, one every {args.every} s",
        flush=True,
    )
    for name, flags in RUNS.items():
        await run(name, flags, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaign", type=int, default=400)
    parser.add_argument("--delay", type=float, default=20.0)
    parser.add_argument("--answer-after", type=float, default=0.1)
    parser.add_argument("--pool", type=int, default=1)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--every", type=float, default=1.0)
    asyncio.run(main(parser.parse_args()))
