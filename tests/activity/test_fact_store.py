"""The facts store, on SQLite, on a real throwaway Postgres and in memory: all three agree."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import pytest_asyncio

from nurture.adapters.factlog import FactStore, open_fact_store
from nurture.domain.factlog import Fact, fact_id
from nurture.testing import MemoryFactStore

DAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
Opener = Callable[[], FactStore]


@pytest_asyncio.fixture(params=["sqlite", "postgres", "memory"])
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens each backend on one empty database (every call: another store on the same
    database, as a second process would open it), or the in-memory fake the workflow tests
    use (every call: the same store). Every store opened is closed after the test."""
    if request.param == "memory":
        memory = MemoryFactStore()
        yield lambda: memory
        return
    url = "sqlite:///facts.sqlite3"
    if request.param == "postgres":
        url = request.getfixturevalue("fresh_postgres_url")
    opened: list[FactStore] = []

    def open_one() -> FactStore:
        opened.append(open_fact_store(url, tmp_path))
        return opened[-1]

    yield open_one
    for each in opened:
        await each.close()


@pytest.fixture
def store(opener: Opener) -> FactStore:
    return opener()


def fact(lead: str, kind: str, minutes: float, **data: object) -> Fact:
    """A fact of ``lead``, ``minutes`` after 09:00 on 2 March 2026."""
    at = DAY + timedelta(minutes=minutes)
    return Fact.model_validate(
        {"id": fact_id(lead, kind, at), "lead_id": lead, "kind": kind, "at": at, "data": data}
    )


async def everything(
    store: FactStore,
    kinds: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    lead_ids: list[str] | None = None,
) -> list[Fact]:
    return [f async for f in store.read(kinds, since, until, lead_ids)]


class TestAppend:
    """Appending stores each fact once, whatever is written again."""

    async def test_round_trip(self, store: FactStore) -> None:
        """A fact comes back equal, its data types, nested mapping and moment included."""
        created = fact("L1", "lead_created", 0, source="web", cohort="2026-03", form="demo")
        opened = fact("L1", "email_opened", 1.5, key="k", template="t", machine=None)
        planned = fact("L1", "email_planned", 2, step=3, variant={"subject": "b"}, sequence="s")
        scored = fact("L1", "stage_changed", 3, from_stage="new", to_stage="mql", score=42.5)
        flagged = fact("L1", "email_clicked", 4, key="k", url="https://x/é", machine="scanner")
        assert await store.append([created, opened, planned, scored, flagged]) == 5
        assert await everything(store) == [created, opened, planned, scored, flagged]

    async def test_moment_in_another_zone(self, store: FactStore) -> None:
        """A moment given in another time zone is the same moment, to the microsecond."""
        at = datetime(2026, 3, 2, 10, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
        given = Fact(id="x", lead_id="L1", kind="event_received", at=at, data={"type": "v"})
        await store.append([given])
        (read,) = await everything(store)
        assert read.at == at

    async def test_appending_again_adds_nothing(self, store: FactStore) -> None:
        """A batch written twice (a retried activity) stores its facts once; a batch
        mixing old and new facts counts only the new ones."""
        first = [fact("L1", "event_received", m, type="visit") for m in range(3)]
        assert await store.append(first) == 3
        assert await store.append(first) == 0
        assert await store.append([*first, fact("L1", "event_received", 9, type="x")]) == 1
        assert len(await everything(store)) == 4

    async def test_first_write_wins(self, store: FactStore) -> None:
        """A fact id stored already keeps its first content."""
        original = fact("L1", "event_received", 0, type="visit")
        await store.append([original])
        await store.append([original.model_copy(update={"data": {"type": "changed"}})])
        assert await everything(store) == [original]

    async def test_duplicates_within_a_batch(self, store: FactStore) -> None:
        """The same fact twice in one batch is stored, and counted, once."""
        once = fact("L1", "event_received", 0, type="visit")
        assert await store.append([once, once]) == 1
        assert await everything(store) == [once]

    async def test_nul_cannot_poison_a_batch(self, store: FactStore) -> None:
        """A NUL in a fact's text (Postgres refuses it) is stored as U+FFFD, and the rest
        of its batch with it."""
        if isinstance(store, MemoryFactStore):
            pytest.skip("the memory store keeps facts as they are")
        fine = fact("L1", "stage_changed", 0, from_stage="new", to_stage="mql")
        nul = fact("L1", "sales_action", 1, action="disqualified", reason="no budget\x00")
        planned = fact("L1", "email_planned", 2, variant={"subject\x00": "b\x00"})
        assert await store.append([fine, nul, planned]) == 3
        read = await everything(store)
        assert read[0] == fine
        assert read[1].data["reason"] == "no budget\ufffd"
        assert read[2].data["variant"] == {"subject\ufffd": "b\ufffd"}

    async def test_empty_batch(self, store: FactStore) -> None:
        """An empty batch is nothing new."""
        assert await store.append([]) == 0


@pytest_asyncio.fixture
async def log(store: FactStore) -> list[Fact]:
    """Three leads' facts, appended out of order; returned in the order a read gives."""
    facts = [
        fact("L2", "stage_changed", 5, from_stage="new", to_stage="mql"),
        fact("L1", "event_received", 30, type="visit"),
        fact("L10", "lead_created", 0, source="web"),
        fact("L1", "lead_created", 0, source="web"),
        fact("L2", "lead_created", 1, source="ads"),
        fact("L1", "stage_changed", 60, from_stage="new", to_stage="mql"),
        # Two facts at the same moment: the id orders them.
        Fact(id="b", lead_id="L2", kind="event_received", at=DAY + timedelta(minutes=9)),
        Fact(id="a", lead_id="L2", kind="event_received", at=DAY + timedelta(minutes=9)),
    ]
    await store.append(facts)
    return sorted(facts, key=lambda f: (f.lead_id, f.at, f.id))


class TestRead:
    """A read streams the facts by lead, moment and id, filtered by kind, time and lead."""

    async def test_order(self, store: FactStore, log: list[Fact]) -> None:
        """By lead id as text ("L10" before "L2"), then moment, then id."""
        read = await everything(store)
        assert [(f.lead_id, f.id) for f in read][:5] == [
            ("L1", log[0].id),
            ("L1", log[1].id),
            ("L1", log[2].id),
            ("L10", log[3].id),
            ("L2", log[4].id),
        ]
        assert read == log
        assert [f.id for f in read if f.kind == "event_received" and f.lead_id == "L2"] == [
            "a",
            "b",
        ]

    async def test_kinds(self, store: FactStore, log: list[Fact]) -> None:
        """Only the kinds asked for; no kind at all reads nothing."""
        read = await everything(store, kinds=["lead_created", "stage_changed"])
        assert read == [f for f in log if f.kind in {"lead_created", "stage_changed"}]
        assert await everything(store, kinds=[]) == []

    async def test_since_until(self, store: FactStore, log: list[Fact]) -> None:
        """``since`` is inclusive, ``until`` exclusive, whatever the zone they are given in."""
        paris = timezone(timedelta(hours=1))
        since = (DAY + timedelta(minutes=1)).astimezone(paris)
        until = DAY + timedelta(minutes=30)
        read = await everything(store, since=since, until=until)
        assert read == [f for f in log if since <= f.at < until]
        assert {f.lead_id for f in read} == {"L2"}

    async def test_leads(self, store: FactStore, log: list[Fact]) -> None:
        """Only the leads asked for; a lead with no fact reads nothing."""
        read = await everything(store, lead_ids=["L10", "L1", "nobody"])
        assert read == [f for f in log if f.lead_id in {"L1", "L10"}]

    async def test_many_leads(self, store: FactStore, log: list[Fact]) -> None:
        """A list of leads longer than any limit on query parameters."""
        read = await everything(store, lead_ids=[f"X{n}" for n in range(40_000)] + ["L10"])
        assert read == [f for f in log if f.lead_id == "L10"]

    async def test_filters_combine(self, store: FactStore, log: list[Fact]) -> None:
        """Every filter applies at once."""
        read = await everything(
            store,
            kinds=["lead_created"],
            since=DAY,
            until=DAY + timedelta(hours=1),
            lead_ids=["L2"],
        )
        assert read == [f for f in log if f.lead_id == "L2" and f.kind == "lead_created"]

    async def test_streams_more_than_one_batch(self, store: FactStore) -> None:
        """A read longer than the backends' fetch size gives every fact once, in order."""
        facts = [fact(f"L{n % 7}", "event_received", n, type="v") for n in range(4500)]
        await store.append(facts)
        read = await everything(store)
        assert read == sorted(facts, key=lambda f: (f.lead_id, f.at, f.id))

    async def test_stopping_early(self, store: FactStore, log: list[Fact]) -> None:
        """A reader that stops early leaves the store usable."""
        reading = store.read()
        assert await anext(reading) == log[0]
        await reading.aclose()  # type: ignore[attr-defined]
        assert await store.append([fact("L3", "lead_created", 0)]) == 1
        assert len(await everything(store)) == len(log) + 1

    async def test_stopping_in_a_long_read(self, store: FactStore) -> None:
        """A reader that stops while the next batch is on its way leaves the store usable."""
        facts = [fact(f"L{n % 7}", "event_received", n, type="v") for n in range(4500)]
        await store.append(facts)
        reading = store.read()
        for _ in range(2500):
            await anext(reading)
        await reading.aclose()  # type: ignore[attr-defined]
        assert len(await everything(store)) == 4500


class TestForget:
    """Forgetting a lead deletes its facts, and only its."""

    async def test_forget_lead(self, store: FactStore, log: list[Fact]) -> None:
        assert await store.forget_lead("L1", DAY) == 3
        assert await everything(store) == [f for f in log if f.lead_id != "L1"]
        assert await store.forget_lead("L1", DAY) == 0

    async def test_forget_unknown_lead(self, store: FactStore, log: list[Fact]) -> None:
        assert await store.forget_lead("nobody", DAY) == 0
        assert await everything(store) == log


class TestHighWaterMark:
    """The mark moves when a newer fact is appended, and stays put while nothing is."""

    async def test_moves_with_new_facts(self, store: FactStore, log: list[Fact]) -> None:
        mark = await store.high_water_mark()
        assert await store.high_water_mark() == mark
        await store.append(log[:2])  # stored already
        assert await store.high_water_mark() == mark
        await store.append([fact("L4", "lead_created", 90, source="web")])
        assert await store.high_water_mark() != mark

    async def test_empty_store(self, opener: Opener) -> None:
        """An empty log has a mark too, which its first fact moves; another store on the
        same database (another process) reads the same mark."""
        store = opener()
        mark = await store.high_water_mark()
        await store.append([fact("L1", "lead_created", 0, source="web")])
        assert await store.high_water_mark() != mark
        assert await opener().high_water_mark() == await store.high_water_mark()


class TestConcurrency:
    """Many concurrent appends, from one store and from a second one on the same database,
    while a reader streams, store every fact exactly once and count each as new once."""

    async def test_concurrent_appends(self, opener: Opener) -> None:
        stores = [opener(), opener()]
        # 2 stores x 40 writers x 25 facts, half of them written by two writers.
        batches = [
            [fact(f"L{(w // 2) * 25 + n}", "event_received", n, type="v") for n in range(25)]
            for w in range(80)
        ]
        reads: list[int] = []

        async def reader() -> None:
            for _ in range(5):
                reads.append(len([f async for f in stores[1].read()]))

        added = await asyncio.gather(
            *(stores[w % 2].append(batch) for w, batch in enumerate(batches)), reader()
        )
        unique = {f.id for batch in batches for f in batch}
        assert sum(n for n in added if n is not None) == len(unique) == 1000
        assert len({f.id async for f in stores[0].read()}) == 1000
        assert reads == sorted(reads)  # a reader never sees a fact vanish


_APPENDER = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from nurture.adapters.factlog import open_fact_store
from nurture.domain.factlog import Fact

async def main() -> None:
    store = open_fact_store("sqlite:///facts.sqlite3", Path(sys.argv[1]))
    name, day = sys.argv[2], datetime(2026, 3, 2, tzinfo=UTC)
    added = await asyncio.gather(*(
        store.append([
            Fact(id=f"{name}-{b}-{n}", lead_id=f"L{b}", kind="event_received",
                 at=day + timedelta(seconds=n), data={"type": name})
            for n in range(20)
        ])
        for b in range(100)
    ))
    print(sum(added))
    await store.close()

asyncio.run(main())
"""


class TestSqliteProcesses:
    """Worker processes appending to one SQLite file at once, while another reads, never
    meet "database is locked" and lose nothing."""

    async def test_two_processes(self, tmp_path: Path) -> None:
        script = textwrap.dedent(_APPENDER)
        writers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                script,
                str(tmp_path),
                name,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for name in ("one", "two")
        ]
        done = asyncio.gather(*(w.communicate() for w in writers))
        store = open_fact_store("sqlite:///facts.sqlite3", tmp_path)
        while not done.done():
            [f async for f in store.read(kinds=["event_received"])]
            await asyncio.sleep(0.01)
        outputs = [
            (w.returncode, out.decode().strip(), err.decode())
            for w, (out, err) in zip(writers, await done, strict=True)
        ]
        assert outputs == [(0, "2000", ""), (0, "2000", "")]
        assert len([f async for f in store.read()]) == 4000
        await store.close()
