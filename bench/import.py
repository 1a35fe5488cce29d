"""Import benchmark: ``nurture import leads`` against the form intake floor, in one run.

    .venv/bin/python -m bench.import [--rows 20000] [--leads 300] [--concurrency 40]

On one stack (embedded dev server on SQLite, worker, API, as ``nurture dev``):
 (a) the intake floor: forms POSTed to the API until each thank-you reaches the SMTP
     server (``bench.intake``'s path (b)), closed loop: leads per second;
 (b) an import of ``--rows`` rows (``bench.leadcsv``'s mixed export, 15% bad rows) through
     ``POST /v1/leads/import``: rows per second until the API's report (every good row
     durably handed to its lead), then leads per second until every imported lead's
     workflow has applied its row (counted in visibility: its mail status is published);
 (c) while the import's backlog drains, forms posted meanwhile: their thank-you latency
     (the import's priority is behind every form's lead).
Also the API's and the worker's peak RSS. A script: it prints figures, never fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import httpx
from aiosmtpd.controller import Controller
from temporalio.client import Client

from bench import leadcsv, procstat
from bench.intake import ArrivalRecorder, closed_loop, form_poster, summary
from bench.stack import bench_stack
from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DEV_API_KEY, DevStack
from nurture.testing import free_port

_IMPORTED = "NurtureSource = 'referral' AND NurtureMailStatus IN ('held', 'held,no_consent')"


async def body(rows: int) -> AsyncIterator[bytes]:
    chunk: list[str] = []
    for line in leadcsv.lines(rows, "bench-import.example"):
        chunk.append(line)
        if len(chunk) >= 200:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def _rss_mib(stack: DevStack, name: str) -> float:
    process = stack.get(name).process
    return procstat.read(process.pid).rss_kib / 1024 if process else 0.0


async def applied(client: Client) -> int:
    return (await client.count_workflows(_IMPORTED)).count


async def main(args: argparse.Namespace) -> None:
    sink = ArrivalRecorder()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sink.loop = asyncio.get_running_loop()
    want = leadcsv.expected(args.rows)
    try:
        with bench_stack(smtp_port) as stack:
            ports = stack.ports
            client = await connect(TemporalSettings(address=f"127.0.0.1:{ports.temporal}"))
            base = f"http://127.0.0.1:{ports.api}"
            limits = httpx.Limits(max_connections=args.concurrency * 2)
            print(
                f"{args.rows:,} rows ({want['leads']:,} leads, {want['bad']:,} bad rows); "
                f"intake floor over {args.leads} forms, {args.concurrency} in flight"
            )
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=None) as api:
                await closed_loop(20, args.concurrency, form_poster(api, sink, "warm"))
                a = summary(
                    "(a) form POST → thank-you",
                    *await closed_loop(args.leads, args.concurrency, form_poster(api, sink, "a")),
                )
                began = time.perf_counter()
                response = await api.post(
                    "/v1/leads/import",
                    params={"name": "bench", "source": "referral"},
                    content=body(args.rows),
                    headers={"X-API-Key": DEV_API_KEY, "Content-Type": "text/csv"},
                )
                taken = time.perf_counter() - began
                report = response.json()
                print(
                    f"{'(b) rows handed to their leads':<34} {report['rows']:>6} in "
                    f"{taken:6.1f}s  {report['rows'] / taken:7.1f} rows/s "
                    f"(report: {report['imported']:,} imported, {report['leads']:,} leads, "
                    f"{report['bad']:,} bad)"
                )
                # Forms posted while the import's backlog drains.
                during = form_poster(api, sink, "c")
                latencies: list[float] = []

                async def one_form(i: int) -> None:
                    t = time.perf_counter()
                    await during(i)
                    latencies.append(time.perf_counter() - t)

                forms = asyncio.gather(*(one_form(i) for i in range(args.during)))
                peak_api = peak_worker = 0.0
                while (done := await applied(client)) < report["leads"]:
                    peak_api = max(peak_api, _rss_mib(stack, "api"))
                    peak_worker = max(peak_worker, _rss_mib(stack, "worker"))
                    if time.perf_counter() - began > args.timeout:
                        print(f"gave up: {done:,} of {report['leads']:,} leads applied")
                        break
                    await asyncio.sleep(0.5)
                drained = time.perf_counter() - began
                await forms
    finally:
        controller.stop()
    leads = report["leads"]
    print(
        f"{'(b) imported leads applied':<34} {leads:>6} in {drained:6.1f}s  "
        f"{leads / drained:7.1f} leads/s"
    )
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"(c) {len(latencies)} forms during the import: thank-you p50 "
            f"{statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )
    print(f"peak RSS during the import: API {peak_api:.0f} MiB, worker {peak_worker:.0f} MiB")
    print(
        f"ratio import leads/s ÷ form intake leads/s: {leads / drained / a['throughput']:.2f}"
        " (near 1: an import runs at the intake floor)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--leads", type=int, default=300, help="forms for the intake floor")
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--during", type=int, default=20, help="forms posted during the import")
    parser.add_argument("--timeout", type=float, default=1800)
    asyncio.run(main(parser.parse_args()))
