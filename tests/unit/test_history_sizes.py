"""The history-size script counts every byte of a history, and cuts a lead's at the task
after its thank-you."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from bench.history_sizes import kind, payload_bytes, sizes, until_thank_you

OPTIN = Path(__file__).parents[1] / "replay" / "lead_optin_run1.json"


def events() -> list[HistoryEvent]:
    return list(WorkflowHistory.from_json("optin", OPTIN.read_text()).events)


class TestSizes:
    """Per kind, the sizes add up to the whole history, payloads included."""

    def test_totals(self) -> None:
        history = events()
        rows = sizes(history)
        assert sum(r[1] for r in rows) == sum(e.ByteSize() for e in history)
        assert sum(r[3] for r in rows) == len(history)
        assert all(0 < inside < total for name, total, inside, _ in rows if "MARKER" in name)

    def test_markers_named_by_activity(self) -> None:
        names = {kind(e) for e in events()}
        assert "MARKER_RECORDED patch" in names
        assert "MARKER_RECORDED record_facts" in names

    def test_signal_payload_counted(self) -> None:
        signal = next(e for e in events() if kind(e) == "WORKFLOW_EXECUTION_SIGNALED")
        (payload,) = signal.workflow_execution_signaled_event_attributes.input.payloads
        assert payload_bytes(signal) == payload.ByteSize()


class TestUntilThankYou:
    """The cut keeps the thank-you's completion and the commands of the next task, no more."""

    def test_cut(self) -> None:
        history = events()
        cut = until_thank_you(history)
        assert len(cut) < len(history)
        kinds = [kind(e) for e in cut]
        assert "ACTIVITY_TASK_COMPLETED" in kinds
        last_task = max(i for i, k in enumerate(kinds) if k == "WORKFLOW_TASK_COMPLETED")
        assert kinds.index("ACTIVITY_TASK_COMPLETED") < last_task < len(cut) - 1
        assert kind(history[len(cut)]) in {
            "WORKFLOW_TASK_SCHEDULED",
            "WORKFLOW_EXECUTION_SIGNALED",
            "TIMER_FIRED",
        }

    def test_no_email_keeps_everything(self) -> None:
        history = [
            e for e in events() if not e.HasField("activity_task_completed_event_attributes")
        ]
        assert until_thank_you(history) == history
