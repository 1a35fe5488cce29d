"""What a lead's histories say about its cost: each run's length in events and bytes, the
state it carried in and out through continue-as-new, and when the workflow handled each
message it was sent.

Sizes are protobuf bytes, as the server stores them. A message counts as handled when the
first workflow task completed after its signal event: the server writes signals that arrive
during a task after that task's completion, so that task is the first to see them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent

__all__ = [
    "RunFigures",
    "handled_times",
    "history_bytes",
    "largest_parts",
    "run_figures",
    "window_rates",
]

_SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
_TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
_STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
_CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
_TASK_FAILED = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED


@dataclass(frozen=True)
class RunFigures:
    """One run of a workflow: its events, their bytes, its signals, the bytes of the input
    it started with and of the input it continued as new with (0 if it did not), and the
    largest parts of the latter, and its failed workflow tasks by cause (a continue-as-new
    refused because signals came meanwhile: ``UNHANDLED_COMMAND``)."""

    events: int
    bytes: int
    signals: int
    carried_in: int
    carried_out: int
    largest_out: tuple[tuple[str, int], ...] = ()
    failed_tasks: tuple[tuple[str, int], ...] = ()


def history_bytes(events: Iterable[HistoryEvent]) -> int:
    """The bytes of a history's events."""
    return sum(event.ByteSize() for event in events)


def _payload_bytes(payloads: Payloads) -> int:
    return sum(payload.ByteSize() for payload in payloads.payloads)


def run_figures(events: Sequence[HistoryEvent]) -> RunFigures:
    """Figures of one run's history."""
    carried_in = carried_out = signals = 0
    largest: tuple[tuple[str, int], ...] = ()
    failed: dict[str, int] = {}
    for event in events:
        if event.event_type == _STARTED:
            carried_in = _payload_bytes(event.workflow_execution_started_event_attributes.input)
        elif event.event_type == _CONTINUED:
            payloads = event.workflow_execution_continued_as_new_event_attributes.input
            carried_out = _payload_bytes(payloads)
            largest = tuple(largest_parts(payloads.payloads[0].data)) if payloads.payloads else ()
        elif event.event_type == _SIGNALED:
            signals += 1
        elif event.event_type == _TASK_FAILED:
            code = event.workflow_task_failed_event_attributes.cause
            cause = WorkflowTaskFailedCause.Name(code).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
            failed[cause] = failed.get(cause, 0) + 1
    return RunFigures(
        len(events),
        history_bytes(events),
        signals,
        carried_in,
        carried_out,
        largest,
        tuple(sorted(failed.items())),
    )


def largest_parts(data: bytes, top: int = 3) -> list[tuple[str, int]]:
    """The ``top`` largest fields of a JSON payload, as bytes of JSON, the fields of an
    object-valued field counted one by one (``state.seen_events``); a payload that is not
    a JSON object has none."""
    try:
        value = json.loads(data)
    except ValueError:
        return []
    if not isinstance(value, dict):
        return []
    sizes: dict[str, int] = {}
    for name, field in value.items():
        inner: dict[str, Any] = field if isinstance(field, dict) else {}
        for inner_name, inner_field in inner.items():
            sizes[f"{name}.{inner_name}"] = _json_bytes(inner_field)
        if not inner:
            sizes[name] = _json_bytes(field)
    return sorted(sizes.items(), key=lambda item: -item[1])[:top]


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def handled_times(events: Iterable[HistoryEvent], marker: bytes) -> list[float]:
    """For each signal whose payload holds ``marker``, in history order, the moment (epoch
    seconds) the first workflow task after it completed. A signal no task completed after
    yet is left out."""
    waiting = 0
    handled: list[float] = []
    for event in events:
        if event.event_type == _SIGNALED:
            payloads = event.workflow_execution_signaled_event_attributes.input.payloads
            waiting += any(marker in payload.data for payload in payloads)
        elif event.event_type == _TASK_COMPLETED and waiting:
            at = event.event_time.ToNanoseconds() / 1e9
            handled += [at] * waiting
            waiting = 0
    return handled


def window_rates(start: float, times: Iterable[float], window: int) -> list[float]:
    """Items per second in consecutive windows of ``window`` items, the times sorted, each
    window from the end of the one before (the first from ``start``). The last window may
    hold fewer items."""
    ordered = sorted(times)
    rates: list[float] = []
    began = start
    for first in range(0, len(ordered), window):
        chunk = ordered[first : first + window]
        seconds = chunk[-1] - began
        rates.append(len(chunk) / seconds if seconds > 0 else float("inf"))
        began = chunk[-1]
    return rates
