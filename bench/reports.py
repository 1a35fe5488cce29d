"""Reports benchmark: a realistic facts log for N leads (``bench.factgen``: a year of
sources, campaigns, sequences, A/B splits, hand-offs and deals, about twenty facts a lead),
loaded into the SQLite store and into a throwaway PostgreSQL, then every report timed on
each, as ``nurture report`` and ``GET /v1/reports/{name}`` run it (the reports service).

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
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from bench.factgen import generate, spend
from bench.memory import PeakMemory
from bench.postgres import PostgresUnavailable, throwaway_postgres
from nurture.adapters.factlog import FactStore, PostgresFactStore, SqliteFactStore
from nurture.domain.factlog import Fact
from nurture.domain.reports import REPORT_NAMES, ReportQuery
from nurture.services.reports import run_report

__all__ = ["main"]


def batches(leads: int, size: int, created: Counter[tuple[str, str]]) -> Iterator[list[Fact]]:
    """The log in batches of about ``size`` facts (whole leads), counting in ``created``
    the leads of each source and month (the cost report's spend is made from them)."""
    batch: list[Fact] = []
    for facts in generate(leads):
        first = facts[0]
        if first.kind == "lead_created":
            created[(str(first.get("source")), str(first.get("cohort")))] += 1
        batch += facts
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def load(stores: dict[str, FactStore], leads: int, size: int) -> Counter[tuple[str, str]]:
    """Append the log to every store, batch by batch, printing the time each took; the
    leads created per source and month."""
    spent, created = dict.fromkeys(stores, 0.0), Counter[tuple[str, str]]()
    total, began = 0, time.perf_counter()
    for batch in batches(leads, size, created):
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


async def time_reports(
    backend: str, store: FactStore, query: ReportQuery, repeat: int, memory: PeakMemory
) -> None:
    print(
        f"\n{backend}: {query.since or 'first fact'} .. {query.until or 'now'}, by {query.by}; "
        f"peak memory: {memory.method}"
    )
    print("backend   report         best    median   peak memory")
    for name in REPORT_NAMES:
        walls = []
        for _ in range(repeat):
            started = time.perf_counter()
            await run_report(name, store, query)
            walls.append(time.perf_counter() - started)
        with memory:
            await run_report(name, store, query)
        print(
            f"{backend:<9} {name:<12} {min(walls):7.2f}s  {statistics.median(walls):7.2f}s  "
            f"{memory.peak / 2**20:8.1f} MiB",
            flush=True,
        )


def open_stores(
    wanted: list[str], folder: Path, cleanup: ExitStack
) -> dict[str, Callable[[], FactStore]]:
    """How to open each backend asked for that can run here."""
    makers: dict[str, Callable[[], FactStore]] = {}
    if "sqlite" in wanted:
        makers["sqlite"] = lambda: SqliteFactStore(folder / "facts.sqlite3")
    if "postgres" in wanted:
        try:
            url = cleanup.enter_context(throwaway_postgres())
        except PostgresUnavailable as exc:
            print(f"PostgreSQL skipped: {exc}")
        else:
            makers["postgres"] = lambda: PostgresFactStore(url)
    return makers


async def run(args: argparse.Namespace) -> None:
    with ExitStack() as cleanup:
        folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        makers = open_stores(args.backend or ["sqlite", "postgres"], folder, cleanup)
        stores = {name: make() for name, make in makers.items()}
        try:
            created = await load(stores, args.leads, args.batch)
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
