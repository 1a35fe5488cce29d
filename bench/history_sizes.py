"""Bytes of a workflow history per kind of event, as the server stores them (protobuf).

Reads a history exported as JSON, either by the Temporal CLI or by the replay recorder:

```bash
temporal workflow show -w lead-<lead id> -o json | .venv/bin/python -m bench.history_sizes -
.venv/bin/python -m bench.history_sizes tests/replay/lead_optin_run1.json
.venv/bin/python -m bench.history_sizes tests/replay/lead_optin_run1.json --thank-you
```

One line per kind of event, largest first: its bytes, the bytes of the payloads inside it
(inputs, results, marker data) and how many there are; a marker is named by the local
activity it records, or ``patch``. ``--thank-you`` stops at the workflow task after the
lead's first email went out (the commands of that task included): what a new lead costs up
to its thank-you. The total comes last.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

__all__ = ["kind", "main", "payload_bytes", "sizes", "until_thank_you"]

_COMMAND_EVENTS = frozenset(
    {
        "MARKER_RECORDED",
        "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES",
        "TIMER_STARTED",
        "ACTIVITY_TASK_SCHEDULED",
        "START_CHILD_WORKFLOW_EXECUTION_INITIATED",
        "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED",
        "WORKFLOW_PROPERTIES_MODIFIED",
    }
)
"""Events a workflow task's commands record, right after its completion."""


def payload_bytes(message: Message) -> int:
    """The bytes of every payload inside ``message``, however deep."""
    if isinstance(message, Payload):
        return message.ByteSize()
    total = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values: Iterable[object] = value.values()
        else:
            values = [value] if isinstance(value, Message) else value
        total += sum(payload_bytes(v) for v in values if isinstance(v, Message))
    return total


def _type(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def kind(event: HistoryEvent) -> str:
    """The event's type; for a marker, the local activity it records, or ``patch``."""
    name = _type(event)
    if event.HasField("marker_recorded_event_attributes"):
        details = event.marker_recorded_event_attributes.details
        if "data" in details:
            name += " " + json.loads(details["data"].payloads[0].data)["activity_type"]
        else:
            name += " patch"
    return name


def until_thank_you(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """The events up to the workflow task after the first email activity completed, that
    task's commands included (all of them when no email went out)."""
    sends = {
        e.event_id
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "send_email"
    }
    done = next(
        (
            i
            for i, e in enumerate(events)
            if e.HasField("activity_task_completed_event_attributes")
            and e.activity_task_completed_event_attributes.scheduled_event_id in sends
        ),
        None,
    )
    if done is None:
        return list(events)
    task = next(
        (i for i in range(done, len(events)) if _type(events[i]) == "WORKFLOW_TASK_COMPLETED"),
        len(events) - 1,
    )
    end = task + 1
    while end < len(events) and _type(events[end]) in _COMMAND_EVENTS:
        end += 1
    return list(events[:end])


def sizes(events: Iterable[HistoryEvent]) -> list[tuple[str, int, int, int]]:
    """``(kind, bytes, payload bytes, count)`` per kind of event, largest first."""
    size: Counter[str] = Counter()
    payloads: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for event in events:
        name = kind(event)
        size[name] += event.ByteSize()
        payloads[name] += payload_bytes(event)
        count[name] += 1
    return [(name, total, payloads[name], count[name]) for name, total in size.most_common()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history_sizes", description=__doc__)
    parser.add_argument("history", help="a history exported as JSON, or - for stdin")
    parser.add_argument(
        "--thank-you", action="store_true", help="stop at the task after the first email"
    )
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.history == "-" else open(args.history).read()  # noqa: SIM115
    events = list(WorkflowHistory.from_json("history", text).events)
    if args.thank_you:
        events = until_thank_you(events)
    rows = sizes(events)
    for name, total, inside, count in rows:
        print(f"{total:7d} B  payloads {inside:7d} B  x{count:<3d} {name}")
    print(f"{sum(r[1] for r in rows):7d} B  in {len(events)} events")


if __name__ == "__main__":
    main()
