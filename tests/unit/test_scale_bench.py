"""The scale benchmark's pure helpers: reading /proc, reading histories, pacing figures."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskFailedEventAttributes,
)

from bench.lead_runs import handled_times, largest_parts, run_figures, window_rates
from bench.procstat import Reading, cpu_ticks, status_kib, summarise
from bench.scale_intake import ThankYous, duration
from bench.scale_measure import DatabaseSize, database_size
from bench.scale_steps import log_tail

# A real /proc/<pid>/stat line, its command name holding a space and a parenthesis.
STAT = (
    "4242 (temporal (dev)) S 1 4242 4242 0 -1 4194560 12000 0 0 0 "
    "1500 250 0 0 20 0 14 0 123456 1234567890 70000 18446744073709551615"
)
STATUS = (
    "Name:\ttemporal\nVmPeak:\t 2000000 kB\nVmHWM:\t  300000 kB\n"
    "VmRSS:\t  250000 kB\nThreads:\t14\n"
)


class TestProc:
    """CPU ticks and memory are read from the fields proc(5) documents."""

    def test_ticks_are_user_plus_system_after_an_odd_name(self) -> None:
        """utime and stime (fields 14 and 15) are counted from the name's last parenthesis."""
        assert cpu_ticks(STAT) == 1500 + 250

    def test_status_figures_in_kib(self) -> None:
        """Only the kB lines are figures; others are left out."""
        figures = status_kib(STATUS)
        assert figures == {"VmPeak": 2_000_000, "VmHWM": 300_000, "VmRSS": 250_000}

    def test_summary_of_a_watch(self) -> None:
        """Mean CPU over the watch, the busiest step, the last and highest resident set."""
        ticks = os.sysconf("SC_CLK_TCK")  # one second of one core
        readings = [
            Reading(0.0, 0, 1024, 4096),
            Reading(1.0, ticks // 2, 2048, 4096),
            Reading(2.0, ticks // 2, 1024, 4096),
        ]
        usage = summarise(readings)
        assert usage.cpu_mean == pytest.approx(25.0, abs=1.0)
        assert usage.cpu_max == pytest.approx(50.0, abs=1.0)
        assert (usage.rss_mib, usage.rss_max_mib, usage.peak_mib) == (1.0, 2.0, 4.0)


def _event(kind: EventType.ValueType, at: float = 0.0, **attributes: Any) -> HistoryEvent:
    event = HistoryEvent(event_type=kind, **attributes)
    event.event_time.CopyFrom(Timestamp(seconds=int(at), nanos=int(at % 1 * 1e9)))
    return event


def _payloads(data: bytes) -> Payloads:
    return Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=data)])


def _signal(at: float, data: bytes) -> HistoryEvent:
    attributes = WorkflowExecutionSignaledEventAttributes(input=_payloads(data))
    return _event(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        at,
        workflow_execution_signaled_event_attributes=attributes,
    )


def _completed(at: float) -> HistoryEvent:
    return _event(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, at)


class TestHistories:
    """A lead's runs are measured from its history events alone."""

    def test_handled_at_the_next_completed_task(self) -> None:
        """Each marked signal is handled when the first task after it completes."""
        events = [
            _completed(1.0),
            _signal(2.0, b'{"id":"ev-1"}'),
            _signal(2.5, b'{"id":"other"}'),
            _signal(3.0, b'{"id":"ev-2"}'),
            _completed(4.0),
            _signal(5.0, b'{"id":"ev-3"}'),
        ]
        assert handled_times(events, b"ev-") == [4.0, 4.0]

    def test_run_figures(self) -> None:
        """Events, bytes, signals, and the state carried in and out are counted."""
        state = json.dumps({"lead_id": "x", "state": {"seen": ["a"] * 50, "stage": "new"}})
        started = WorkflowExecutionStartedEventAttributes(input=_payloads(b'{"lead_id":"x"}'))
        continued = WorkflowExecutionContinuedAsNewEventAttributes(input=_payloads(state.encode()))
        events = [
            _event(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                workflow_execution_started_event_attributes=started,
            ),
            _signal(1.0, b"{}"),
            _completed(2.0),
            _event(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
                workflow_execution_continued_as_new_event_attributes=continued,
            ),
        ]
        run = run_figures(events)
        assert (run.events, run.signals) == (4, 1)
        assert run.bytes == sum(event.ByteSize() for event in events)
        assert run.carried_in == started.input.payloads[0].ByteSize()
        assert run.carried_out > len(state)
        assert run.largest_out[0] == ("state.seen", len(json.dumps(["a"] * 50).replace(" ", "")))

    def test_failed_tasks_by_cause(self) -> None:
        """A continue-as-new the server refused (signals came meanwhile) is counted."""
        unhandled = WorkflowTaskFailedEventAttributes(
            cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
        )
        failed = _event(
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            workflow_task_failed_event_attributes=unhandled,
        )
        run = run_figures([_completed(1.0), failed, _completed(2.0), failed])
        assert run.failed_tasks == (("UNHANDLED_COMMAND", 2),)
        assert run_figures([_completed(1.0)]).failed_tasks == ()

    def test_largest_parts_of_what_is_not_an_object(self) -> None:
        """A payload that is no JSON object has no parts."""
        assert largest_parts(b"[1, 2]") == []
        assert largest_parts(b"\x00binary") == []


class TestRates:
    """Rates per window and durations read as a person expects."""

    def test_windows_from_the_start(self) -> None:
        """Each window runs from the end of the one before; the last may be short."""
        times = [1.0, 2.0, 3.0, 4.0, 6.0]
        assert window_rates(0.0, times, 2) == [1.0, 1.0, 0.5]

    def test_unordered_times(self) -> None:
        """Times are sorted first (concurrent requests finish out of order)."""
        assert window_rates(0.0, [2.0, 1.0], 2) == [1.0]

    def test_durations(self) -> None:
        """Hours and minutes, minutes and seconds, or seconds; unknown is a question mark."""
        assert duration(3725) == "1h02m"
        assert duration(185) == "3m05s"
        assert duration(42.4) == "42s"
        assert duration(float("inf")) == "?"


class TestThankYous:
    """Each recipient's first message counts once, and whoever waits for it is woken."""

    async def test_first_message_only(self) -> None:
        """A second message to the same address is not a new thank-you."""
        sink = ThankYous(asyncio.get_running_loop())
        heard: list[str] = []
        sink.listeners.append(heard.append)
        waiting = asyncio.create_task(sink.wait_for("a@x.example"))
        envelope = SimpleNamespace(rcpt_tos=["a@x.example", "b@x.example"])
        assert await sink.handle_DATA(None, None, envelope) == "250 OK"
        await sink.handle_DATA(None, None, SimpleNamespace(rcpt_tos=["a@x.example"]))
        await asyncio.wait_for(waiting, 1)
        assert heard == ["a@x.example", "b@x.example"]


class TestDatabaseSize:
    """An SQLite database's size is read by table, and its growth told apart."""

    def test_growth_by_table(self, tmp_path: Path) -> None:
        """Tables that grew are listed largest first; unchanged ones are left out."""
        path = tmp_path / "db.sqlite"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE small (v TEXT)")
            conn.execute("CREATE TABLE big (v TEXT)")
            conn.execute("CREATE INDEX big_v ON big (v)")
        before = database_size(path)
        with sqlite3.connect(path) as conn:
            conn.executemany("INSERT INTO big VALUES (?)", [("x" * 500,)] * 100)
        after = database_size(path)
        assert list(after.growth(before)) == ["big"]
        assert 0 < after.index_growth(before)["big"] < after.growth(before)["big"]
        assert after.used > before.used
        assert after.files >= path.stat().st_size

    def test_missing_database(self, tmp_path: Path) -> None:
        """A database not created yet has no size."""
        assert database_size(tmp_path / "none.sqlite") == DatabaseSize(0, {})


class TestLogTail:
    """A dead process's log is shown short and readable."""

    def test_last_lines_without_colours(self, tmp_path: Path) -> None:
        """Only the last lines, terminal colours removed, long lines cut."""
        log = tmp_path / "worker.log"
        lines = [f"line {n}" for n in range(20)] + ["\x1b[33m WARN\x1b[0m " + "x" * 500]
        log.write_text("\n".join(lines))
        tail = log_tail(log, lines=2, width=20).splitlines()
        assert tail == ["line 19", " WARN " + "x" * 14]

    def test_no_log(self, tmp_path: Path) -> None:
        """A process without a log file says so."""
        assert log_tail(tmp_path / "none.log") == "(no log)"
