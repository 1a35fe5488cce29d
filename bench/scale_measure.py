"""What sleeping leads cost, measured from outside the processes: the bytes of the dev
server's SQLite files (and which tables hold them), one lead's histories, and how long
visibility takes to count and list leads by stage.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from bench.lead_runs import history_bytes
from bench.procstat import ProcessMeter, cpu_percent
from nurture.cli.facts import RUNNING_LEADS
from nurture.domain.identity import workflow_id_for
from nurture.domain.lifecycle import Stage
from workflows import search_attributes

__all__ = [
    "DatabaseSize",
    "LeadHistory",
    "Timing",
    "database_size",
    "files_bytes",
    "lead_history",
    "settle",
    "stage_counts",
    "stage_query",
    "table_bytes",
    "time_visibility",
    "touches_due",
]


def files_bytes(folder: Path, pattern: str) -> int:
    """The bytes of the files matching ``pattern`` (a database, its WAL and shared memory)."""
    return sum(path.stat().st_size for path in folder.glob(pattern) if path.is_file())


@dataclass(frozen=True)
class DatabaseSize:
    """An SQLite database: its files on disk (WAL included), and the bytes its tables use
    (free pages left out), by table with its indexes, and by table its indexes alone (a
    table with many indexes can weigh more in them than in its rows)."""

    files: int
    tables: dict[str, int]
    indexes: dict[str, int] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return sum(self.tables.values())

    def growth(self, since: DatabaseSize) -> dict[str, int]:
        """Bytes each table grew (or shrank) by since an earlier measure, largest first;
        the tables that did not change are left out."""
        return _growth(self.tables, since.tables)

    def index_growth(self, since: DatabaseSize) -> dict[str, int]:
        """Bytes each table's indexes grew (or shrank) by since an earlier measure."""
        return _growth(self.indexes, since.indexes)


def _growth(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    grown = {name: size - before.get(name, 0) for name, size in now.items()}
    return dict(sorted(((k, v) for k, v in grown.items() if v), key=lambda item: -item[1]))


def database_size(path: Path) -> DatabaseSize:
    """The size of the database at ``path``; nothing if it does not exist (yet)."""
    if not path.exists():
        return DatabaseSize(0, {})
    return DatabaseSize(files_bytes(path.parent, f"{path.name}*"), *table_bytes(path))


def table_bytes(database: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes of each table with its indexes, and of its indexes alone, read through
    SQLite's ``dbstat`` (read-only, beside the server that writes it; its WAL included)."""
    uri = f"file:{database}?mode=ro"
    tables: dict[str, int] = {}
    indexes: dict[str, int] = {}
    with sqlite3.connect(uri, uri=True, timeout=30) as conn:
        schema = conn.execute("SELECT name, tbl_name, type FROM sqlite_master").fetchall()
        owners = {name: (table, kind) for name, table, kind in schema}
        for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table, kind = owners.get(name, (name, "table"))
            tables[table] = tables.get(table, 0) + int(size)
            if kind == "index":
                indexes[table] = indexes.get(table, 0) + int(size)
    return tables, indexes


@dataclass(frozen=True)
class LeadHistory:
    """One lead's workflows as stored: its own run and its sequences' runs."""

    events: int
    bytes: int
    sequence_runs: int
    sequence_events: int
    sequence_bytes: int


async def lead_history(client: Client, lead_id: str) -> LeadHistory:
    """The lead's current run (``fetch_history``), and every sequence run it started."""
    own = workflow_id_for(lead_id)
    history = await client.get_workflow_handle(own).fetch_history()
    runs = events = size = 0
    async for found in client.list_workflows(f'WorkflowId STARTS_WITH "{own}/"'):
        child = await client.get_workflow_handle(found.id, run_id=found.run_id).fetch_history()
        runs, events, size = (
            runs + 1,
            events + len(child.events),
            size + history_bytes(child.events),
        )
    return LeadHistory(len(history.events), history_bytes(history.events), runs, events, size)


def stage_query(stage: str) -> str:
    """Running leads at one stage, as a visibility query."""
    return f"{RUNNING_LEADS} AND {search_attributes.STAGE.name} = '{stage}'"


async def stage_counts(client: Client) -> dict[str, int]:
    """How many running leads each stage holds (visibility cannot group by stage)."""
    return {
        stage.value: (await client.count_workflows(stage_query(stage.value))).count
        for stage in Stage
    }


async def touches_due(client: Client, within: timedelta) -> int:
    """Running leads whose next touch (an email, a timer) is due within ``within``."""
    due = (datetime.now(UTC) + within).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = f"{RUNNING_LEADS} AND {search_attributes.NEXT_TOUCH.name} < '{due}'"
    return (await client.count_workflows(query)).count


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated runs of one call, in seconds."""

    best: float
    median: float
    result: int


async def _timed(run: Callable[[], Awaitable[int]], repeat: int) -> Timing:
    walls, result = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = await run()
        walls.append(time.perf_counter() - started)
    return Timing(min(walls), statistics.median(walls), result)


async def time_visibility(
    client: Client, stage: str, page: int, repeat: int
) -> tuple[Timing, Timing]:
    """The time to count the leads at ``stage``, and to get the first ``page`` of them."""
    query = stage_query(stage)

    async def count() -> int:
        return (await client.count_workflows(query)).count

    async def first_page() -> int:
        return len([w async for w in client.list_workflows(query, limit=page, page_size=page)])

    return await _timed(count, repeat), await _timed(first_page, repeat)


async def settle(meter: ProcessMeter, name: str, below: float) -> float:
    """Wait until process ``name`` uses under ``below`` % CPU for 3 s in a row; the seconds
    waited. Raises ``ProcessLookupError`` if it is gone."""
    began = time.monotonic()
    quiet = 0
    previous = meter.sample().get(name)
    while quiet < 3:
        await asyncio.sleep(1.0)
        current = meter.sample().get(name)
        if previous is None or current is None:
            raise ProcessLookupError(f"no process {name!r} to watch")
        quiet = quiet + 1 if cpu_percent(previous, current) < below else 0
        previous = current
    return time.monotonic() - began
