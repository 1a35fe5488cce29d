"""Reports benchmark: a realistic facts log for N leads (``bench.factgen``: a year of
sources, campaigns, sequences, A/B splits, hand-offs and deals, about twenty facts a lead),
loaded into the SQLite store and into a throwaway PostgreSQL, then every report timed on
each, as ``nurture report`` and ``GET /v1/reports/{name}`` run it (the reports service),
and the dashboard's page (``GET /reports``: all its sections, from one read of the log;
then again with its figures kept, as the API serves it while the log has not moved).

    .venv/bin/python -m bench.reports [--leads 100000] [--repeat 1] [--backend sqlite]
        [--since 2026-06-01] [--until 2026-09-01] [--by source] [--rss]

Prints, per backend: the load (facts, seconds, facts/s, size on disk), then for each
report its wall time (best and median of ``--repeat`` runs) and, in one more run, the peak
memory it added to this process (Python allocations, by tracemalloc; the resident set with
``--rss``; a PostgreSQL server's own memory is not counted). A script, not a test: it
prints figures and never fails on a slow machine. PostgreSQL is skipped, saying why, when
no server can start.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import psycopg

from bench.factgen import generate, spend
from bench.memory import PeakMemory
from bench.postgres import PostgresUnavailable, throwaway_postgres
from nurture.adapters.factlog import FactStore, PostgresFactStore, SqliteFactStore
from nurture.api.dashboard.i18n import Language
from nurture.api.dashboard.page import (
    GROUPINGS,
    DashboardRequest,
    dashboard_asks,
    dashboard_sections,
)
from nurture.domain.factlog import Fact
from nurture.domain.reports import REPORT_NAMES, ReportQuery
from nurture.services.report_cache import ReportCache
from nurture.services.reports import ReportConfig, run_report, run_reports

__all__ = ["main"]


def batches(
    leads: int, size: int, mixed: int, created: Counter[tuple[str, str]]
) -> Iterator[list[Fact]]:
    """The log in batches of ``size`` facts, counting in ``created`` the leads of each
    source and month (the cost report's spend is made from them).

    As the workflows write it, the log is in time order, each lead's facts scattered among
    everyone else's: so are the facts of every ``mixed`` leads here (their stories span
    the whole year), which keeps the generator's memory bounded."""
    chunk: list[Fact] = []
    for number, facts in enumerate(generate(leads), 1):
        first = facts[0]
        if first.kind == "lead_created":
            created[(str(first.get("source")), str(first.get("cohort")))] += 1
        chunk += facts
        if number % mixed == 0 or number == leads:
            chunk.sort(key=lambda fact: fact.at)
            for start in range(0, len(chunk), size):
                yield chunk[start : start + size]
            chunk = []


async def load(
    stores: dict[str, FactStore], leads: int, size: int, mixed: int
) -> Counter[tuple[str, str]]:
    """Append the log to every store, batch by batch, printing the time each took; the
    leads created per source and month."""
    spent, created = dict.fromkeys(stores, 0.0), Counter[tuple[str, str]]()
    total, began = 0, time.perf_counter()
    for batch in batches(leads, size, mixed, created):
        total += len(batch)
        for name, store in stores.items():
            started = time.perf_counter()
            await store.append(batch)
            spent[name] += time.perf_counter() - started
        if total // 200_000 != (total - len(batch)) // 200_000:
            print(f"  {total:>10,} facts loaded ({time.perf_counter() - began:6.1f}s)", flush=True)
    generation = time.perf_counter() - began - sum(spent.values())
    print(f"{total:,} facts for {leads:,} leads; generated in {generation:.1f}s")
    for name, seconds in spent.items():
        print(f"  {name:<9} load {seconds:7.1f}s  {total / seconds:9,.0f} facts/s")
    return created


async def measure(
    backend: str, label: str, run: Callable[[], Awaitable[object]], repeat: int, memory: PeakMemory
) -> None:
    """Time ``run`` ``repeat`` times, then once more for its peak memory; print a line."""
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        walls.append(time.perf_counter() - started)
    with memory:
        await run()
    print(
        f"{backend:<9} {label:<12} {min(walls):7.2f}s  {statistics.median(walls):7.2f}s  "
        f"{memory.peak / 2**20:8.1f} MiB",
        flush=True,
    )


async def time_reports(
    backend: str, store: FactStore, query: ReportQuery, repeat: int, memory: PeakMemory
) -> None:
    """Each report, then the dashboard's page (every section, in English, in one read of
    the log), then the page again as the API serves it while the log has not moved (its
    figures kept)."""
    print(
        f"\n{backend}: {query.since or 'first fact'} .. {query.until or 'now'}, by {query.by}; "
        f"peak memory: {memory.method}"
    )
    print("backend   report         best    median   peak memory")
    for name in REPORT_NAMES:
        await measure(backend, name, partial(run_report, name, store, query), repeat, memory)
    page = DashboardRequest(
        since=query.since and query.since.isoformat(),
        until=query.until and query.until.isoformat(),
        by=query.by if query.by in GROUPINGS else GROUPINGS[0],
        lang=Language("en"),
    )
    asks = dashboard_asks(page, ReportConfig(costs=query.costs, accept_within=query.accept_within))

    async def dashboard() -> None:
        dashboard_sections(await run_reports(store, asks), page)

    await measure(backend, "(dashboard)", dashboard, repeat, memory)
    cache = ReportCache()
    await cache.run(store, asks)

    async def kept() -> None:
        dashboard_sections((await cache.run(store, asks)).results, page)

    await measure(backend, "(kept)", kept, repeat, memory)


class Backend:
    """One store under test, and how big its facts are on disk."""

    def __init__(self, store: FactStore, size: Callable[[], int]) -> None:
        self.store, self.size = store, size


def open_backends(wanted: list[str], folder: Path, cleanup: ExitStack) -> dict[str, Backend]:
    """Each backend asked for that can run here."""
    backends: dict[str, Backend] = {}
    if "sqlite" in wanted:
        path = folder / "facts.sqlite3"
        files = lambda: sum(f.stat().st_size for f in folder.glob("facts.sqlite3*"))  # noqa: E731
        backends["sqlite"] = Backend(SqliteFactStore(path), files)
    if "postgres" in wanted:
        try:
            url = cleanup.enter_context(throwaway_postgres())
        except PostgresUnavailable as exc:
            print(f"PostgreSQL skipped: {exc}")
        else:
            backends["postgres"] = Backend(PostgresFactStore(url), partial(_pg_size, url))
    return backends


def _pg_size(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_total_relation_size('nurture_facts')").fetchone()
    return int(row[0]) if row else 0


async def run(args: argparse.Namespace) -> None:
    with ExitStack() as cleanup:
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        backends = open_backends(args.backend or ["sqlite", "postgres"], folder, cleanup)
        stores = {name: backend.store for name, backend in backends.items()}
        try:
            created = await load(stores, args.leads, args.batch, args.mixed)
            for name, backend in backends.items():
                print(f"  {name:<9} size {backend.size() / 2**20:7.0f} MiB (table and indexes)")
            query = ReportQuery(
                since=args.since,
                until=args.until,
                by=args.by,
                costs=spend(created),
                accept_within=timedelta(hours=1),
            )
            for name, store in stores.items():
                await time_reports(name, store, query, args.repeat, PeakMemory(rss=args.rss))
        finally:
            for store in stores.values():
                await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each report")
    parser.add_argument("--batch", type=int, default=5000, help="facts per append")
    parser.add_argument(
        "--mixed", type=int, default=10_000, help="leads whose facts are appended in time order"
    )
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--since", type=date.fromisoformat)
    parser.add_argument("--until", type=date.fromisoformat)
    parser.add_argument("--by")
    parser.add_argument(
        "--rss",
        action="store_true",
        help="measure the resident set instead of Python allocations (cheaper, coarser)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
