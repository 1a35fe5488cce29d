"""A burst of form posts against a slow relay: how many leads got their thank-you twice.

    .venv/bin/python -m bench.slow_relay [--leads 150] [--answer-after 3] [--quiet 20]

One embedded dev server, worker and API (as ``nurture dev``), mail through a relay that
keeps each message at once but answers its end of data only after ``--answer-after``
seconds (a slow relay, or one filtering mail before it answers). Every lead posts the
white-paper form at once; the script waits until every lead has its thank-you and then
until the relay has been ``--quiet`` seconds without a new message (a resend would come
after an attempt's timeout), and prints messages per key (the Message-ID derives from
it), duplicates, and how long the burst took to drain. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import httpx

from bench.stack import bench_stack
from nurture.testing import ScriptedSmtpServer


async def post_all(api: httpx.AsyncClient, leads: int) -> None:
    async def one(i: int) -> None:
        response = await api.post("/v1/forms/white-paper", data={"email": f"slow-{i}@b.example"})
        response.raise_for_status()

    await asyncio.gather(*(one(i) for i in range(leads)))


async def drained(relay: ScriptedSmtpServer, leads: int, quiet: float) -> float:
    """Seconds until every lead had a message; then wait for ``quiet`` seconds of silence."""
    started = time.perf_counter()
    while True:  # the relay's own thread adds messages: poll
        if len({str(m["To"]) for m in relay.messages}) >= leads:
            break
        await asyncio.sleep(0.2)
    first_all = time.perf_counter() - started
    seen, last_change = len(relay.messages), time.perf_counter()
    while time.perf_counter() - last_change < quiet:
        await asyncio.sleep(0.5)
        if len(relay.messages) != seen:
            seen, last_change = len(relay.messages), time.perf_counter()
    return first_all


async def main(args: argparse.Namespace) -> None:
    with ScriptedSmtpServer() as relay:
        relay.answer_after = args.answer_after
        with bench_stack(relay.port) as stack:
            base = f"http://127.0.0.1:{stack.ports.api}"
            async with httpx.AsyncClient(base_url=base, timeout=60) as api:
                await post_all(api, args.leads)
            took = await drained(relay, args.leads, args.quiet)
    per_key = Counter(str(m["Message-ID"]) for m in relay.messages)
    twice = sum(1 for count in per_key.values() if count > 1)
    print(f"{args.leads} leads, relay answering after {args.answer_after:g} s")
    print(f"  every lead had its thank-you after {took:.1f} s ({args.leads / took:.1f}/s)")
    print(f"  messages received: {len(relay.messages)} for {len(per_key)} keys")
    print(f"  leads mailed more than once: {twice} (most copies of one: {max(per_key.values())})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=150)
    parser.add_argument("--answer-after", type=float, default=3.0)
    parser.add_argument("--quiet", type=float, default=20.0)
    asyncio.run(main(parser.parse_args()))
