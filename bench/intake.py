"""Intake benchmark: bare Temporal workflows vs the full form → thank-you path.

    .venv/bin/python -m bench.intake [--leads 400] [--concurrency 40] [--open-seconds 20]
                                     [--burst 3000]

On one embedded dev server (the `temporal` binary, SQLite in WAL mode, as `nurture dev`):
 (a) bare: start a workflow that runs one no-op activity, wait for its result;
 (b) full: POST a form to the API (a separate process) and wait until the thank-you is
     accepted by the SMTP server, through the real worker process;
 (c) full path again, open loop, at half of (a)'s throughput: the latency a steady stream
     of leads sees;
 (d) a burst: ``--burst`` posts as fast as the API takes them (a campaign), then the rate at
     which their thank-yous leave (``--burst 0`` skips it).
Prints throughput, p50/p99 latency, the ratios b/a and d/a against their targets, and
where the CPU goes: for (a) and (b), each process's CPU time per workflow or lead (the dev
server, the nurture worker, the API, this script: client, bare worker and SMTP server),
their sum, and the throughput that sum allows on this machine's cores. The server's share
bounds b/a when the server is the first limit: if a lead costs the server twice what a bare
workflow does, b/a cannot pass 0.5 however fast the worker is. A script, not a test: it
prints figures and never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from temporalio.client import Client
from temporalio.worker import Worker

from bench import procstat
from bench.bare import BareWorkflow, noop
from bench.stack import bench_stack
from nurture.adapters.temporal.client import connect
from nurture.config.settings import TemporalSettings
from nurture.devtools.stack import DevStack
from nurture.testing import free_port


class ArrivalRecorder:
    """SMTP handler noting when each recipient's message was accepted."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.perf_counter()
        for rcpt in envelope.rcpt_tos:
            self.arrived.setdefault(rcpt, now)
            future = self.waiters.get(rcpt)
            if future is not None and self.loop is not None:
                self.loop.call_soon_threadsafe(_resolve, future, now)
        return "250 OK"

    def wait_for(self, rcpt: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if rcpt in self.arrived:
            future.set_result(self.arrived[rcpt])
        else:
            self.waiters[rcpt] = future
        return future


def _resolve(future: asyncio.Future[float], value: float) -> None:
    if not future.done():
        future.set_result(value)


def summary(name: str, latencies: list[float], elapsed: float) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100)
    figures = {"throughput": len(latencies) / elapsed, "p50": q[49], "p99": q[98]}
    print(
        f"{name:<34} {len(latencies):>5} in {elapsed:6.2f}s  "
        f"{figures['throughput']:7.1f}/s  p50 {figures['p50'] * 1000:7.0f} ms  "
        f"p99 {figures['p99'] * 1000:7.0f} ms",
        flush=True,
    )
    return figures


class CpuWatch:
    """Each process's CPU time over one phase of the benchmark (a ``ProcessMeter`` read at
    the phase's start and end, and while it waits for the processes to settle)."""

    def __init__(self, stack: DevStack) -> None:
        pids = {"dev server": _pid(stack, "temporal"), "worker": _pid(stack, "worker")}
        pids |= {"API": _pid(stack, "api"), "this script": os.getpid()}
        self.meter = procstat.ProcessMeter(pids)
        self.began = 0.0

    def start(self) -> None:
        self.meter.samples = {}
        self.meter.sample()
        self.began = time.monotonic()

    def elapsed(self) -> float:
        """Wall time since :meth:`start`."""
        return time.monotonic() - self.began

    async def settled(self, within: float = 30.0) -> dict[str, float]:
        """CPU seconds per process since :meth:`start`, read once the dev server and the
        worker are done with what the phase left them (a lead's facts, its next task):
        both under 3% of a core over half a second, or ``within`` seconds at most."""
        deadline = time.monotonic() + within
        last = self.meter.sample()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            now = self.meter.sample()
            busy = [procstat.cpu_percent(last[n], now[n]) for n in _BUSY if n in last and n in now]
            if all(percent < 3 for percent in busy):
                break
            last = now
        return self.seconds()

    def seconds(self) -> dict[str, float]:
        """CPU seconds per process since :meth:`start`."""
        self.meter.sample()
        return {name: usage.cpu_seconds for name, usage in self.meter.usage().items()}


_BUSY = ("dev server", "worker")
"""The processes a phase leaves work to after its last thank-you."""


def _pid(stack: DevStack, name: str) -> int:
    process = stack.get(name).process
    assert process is not None, f"{name} is not running"
    return int(process.pid)


def cpu_profile(
    name: str, seconds: dict[str, float], units: int, elapsed: float | None = None
) -> dict[str, float]:
    """Print and return each process's CPU milliseconds per unit, with their sum and the
    throughput the sum allows on this machine's cores (and, given the phase's ``elapsed``
    wall time, how many cores the processes kept busy: below the machine's, something
    other than CPU set the pace)."""
    per_unit = {process: 1000 * spent / units for process, spent in seconds.items()}
    total = sum(per_unit.values())
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{process} {ms:.1f}" for process, ms in per_unit.items())
    busy = f"; {sum(seconds.values()) / elapsed:.2f} cores busy" if elapsed else ""
    print(
        f"    CPU ms per {name}: {parts}; total {total:.1f} "
        f"(at most {1000 * cores / total:.0f}/s on {cores} cores){busy}",
        flush=True,
    )
    return per_unit | {"total": total}


async def closed_loop(n: int, concurrency: int, one: Any) -> tuple[list[float], float]:
    """Run ``one(i)`` n times with at most ``concurrency`` in flight."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def run(i: int) -> None:
        async with gate:
            started = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(n)))
    return latencies, time.perf_counter() - began


async def open_loop(rate: float, seconds: float, one: Any) -> tuple[list[float], float]:
    """Start ``one(i)`` at a steady ``rate`` per second for ``seconds``."""
    latencies: list[float] = []

    async def run(i: int) -> None:
        started = time.perf_counter()
        await one(i)
        latencies.append(time.perf_counter() - started)

    tasks = []
    began = time.perf_counter()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(run(i)))
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - began


async def bare(client: Client, n: int, concurrency: int, cpu: CpuWatch) -> dict[str, float]:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"

    async def one(i: int) -> None:
        await client.execute_workflow(
            BareWorkflow.run, str(i), id=f"bare-{queue}-{i}", task_queue=queue
        )

    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop]):
        await closed_loop(min(20, n), concurrency, one)  # warm-up
        cpu.start()
        figures = summary(
            "(a) bare workflow + no-op activity", *await closed_loop(n, concurrency, one)
        )
        return figures | {
            f"cpu {k}": v
            for k, v in cpu_profile("workflow", await cpu.settled(), n, cpu.elapsed()).items()
        }


def form_poster(api: httpx.AsyncClient, sink: ArrivalRecorder, tag: str) -> Any:
    async def one(i: int) -> None:
        email = f"lead-{tag}-{i}@bench.example"
        arrival = sink.wait_for(email)
        response = await api.post("/v1/forms/white-paper", data={"email": email, "first_name": "B"})
        response.raise_for_status()
        await asyncio.wait_for(arrival, timeout=120)

    return one


async def main(args: argparse.Namespace) -> None:
    sink = ArrivalRecorder()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sink.loop = asyncio.get_running_loop()
    try:
        with bench_stack(smtp_port) as stack:
            ports = stack.ports
            client = await connect(TemporalSettings(address=f"127.0.0.1:{ports.temporal}"))
            print(f"{args.leads} per run, {args.concurrency} in flight; dev server on SQLite (WAL)")
            cpu = CpuWatch(stack)
            a = await bare(client, args.leads, args.concurrency, cpu)
            limits = httpx.Limits(max_connections=args.concurrency * 2)
            base = f"http://127.0.0.1:{ports.api}"
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as api:
                await closed_loop(20, args.concurrency, form_poster(api, sink, "warm"))
                cpu.start()
                b = summary(
                    "(b) form POST → thank-you in sink",
                    *await closed_loop(args.leads, args.concurrency, form_poster(api, sink, "b")),
                )
                # Counted until the leads' facts and next tasks after the thank-you are done.
                b_cpu = cpu_profile("lead", await cpu.settled(), args.leads, cpu.elapsed())
                rate = a["throughput"] / 2
                c = summary(
                    f"(c) same, open loop at {rate:.1f}/s",
                    *await open_loop(rate, args.open_seconds, form_poster(api, sink, "c")),
                )
                d = (
                    await burst(api, sink, args.burst, args.concurrency * 2, cpu)
                    if args.burst
                    else None
                )
    finally:
        controller.stop()
    print(f"ratio b/a throughput: {b['throughput'] / a['throughput']:.2f} (target ≥ 0.8)")
    server = a["cpu dev server"] / b_cpu["dev server"]
    machine = a["cpu total"] / b_cpu["total"]
    print(
        f"    the CPU a bare workflow costs over what a lead costs: dev server {server:.2f}, "
        f"all processes {machine:.2f} (b/a cannot pass the first when the server is the "
        "limit, nor the second when every core is busy)"
    )
    print(
        f"form → thank-you at half the bare throughput: p50 {c['p50'] * 1000:.0f} ms, "
        f"p99 {c['p99'] * 1000:.0f} ms (target p99 < 1000)"
    )
    if d is not None:
        print(f"ratio d/a, a burst's thank-yous: {d / a['throughput']:.2f} (target ≥ 0.8)")


async def burst(
    api: httpx.AsyncClient, sink: ArrivalRecorder, n: int, concurrency: int, cpu: CpuWatch
) -> float:
    """Post ``n`` forms as fast as the API takes them; thank-yous per second from the first
    post to the last thank-you."""
    gate = asyncio.Semaphore(concurrency)
    arrivals: list[asyncio.Future[float]] = []

    async def post(i: int) -> None:
        email = f"lead-d-{i}@bench.example"
        arrivals.append(sink.wait_for(email))
        async with gate:
            response = await api.post(
                "/v1/forms/white-paper", data={"email": email, "first_name": "B"}
            )
        response.raise_for_status()

    cpu.start()
    began = time.perf_counter()
    await asyncio.gather(*(post(i) for i in range(n)))
    posted = time.perf_counter() - began
    last = max(await asyncio.wait_for(asyncio.gather(*arrivals), timeout=60 + n))
    drained = last - began
    print(
        f"{'(d) burst: posts taken by the API':<34} {n:>5} in {posted:6.2f}s  {n / posted:7.1f}/s",
        flush=True,
    )
    print(
        f"{'    their thank-yous':<34} {n:>5} in {drained:6.2f}s  {n / drained:7.1f}/s",
        flush=True,
    )
    cpu_profile("lead", cpu.seconds(), n, cpu.elapsed())
    return n / drained


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--open-seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=3000)
    asyncio.run(main(parser.parse_args()))
