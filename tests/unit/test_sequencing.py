"""Sequence helpers: stable A/B assignment and per-enrolment email keys."""

from __future__ import annotations

from collections import Counter

import pytest

from nurture.domain.sequences.models import (
    LeadSnapshot,
    SequenceInput,
    assign_variant,
    sequence_step_key,
)


class TestAssignVariant:
    """Assignment is a pure function of lead and experiment: stable, balanced, with holdout."""

    def test_stable(self) -> None:
        """The same lead gets the same variant every time (and so in every replay)."""
        first = [assign_variant(f"lead-{i}", "subject-test", {"a": 1, "b": 1}) for i in range(50)]
        again = [assign_variant(f"lead-{i}", "subject-test", {"a": 1, "b": 1}) for i in range(50)]
        assert first == again

    def test_balanced_over_many_leads(self) -> None:
        """10,000 leads split 50/50 within 3 points, and 1:3 weights near 25/75."""
        even = Counter(assign_variant(f"l{i}", "x", {"a": 1, "b": 1}) for i in range(10_000))
        assert abs(even["a"] - 5000) < 300
        skewed = Counter(assign_variant(f"l{i}", "y", {"a": 1, "b": 3}) for i in range(10_000))
        assert abs(skewed["a"] - 2500) < 300

    def test_experiments_are_independent(self) -> None:
        """Another experiment name reshuffles: agreement near chance, not 100%."""
        same = sum(
            assign_variant(f"l{i}", "one", {"a": 1, "b": 1})
            == assign_variant(f"l{i}", "two", {"a": 1, "b": 1})
            for i in range(2000)
        )
        assert 850 < same < 1150

    def test_holdout_share(self) -> None:
        """A 10% holdout keeps about a tenth of leads out of every variant."""
        held = sum(
            assign_variant(f"l{i}", "h", {"a": 1, "b": 1}, 0.1) is None for i in range(10_000)
        )
        assert 850 < held < 1150

    @pytest.mark.parametrize(
        ("variants", "holdout"), [({}, 0.0), ({"a": 0}, 0.0), ({"a": 1}, 1.0), ({"a": 1}, -0.1)]
    )
    def test_bad_arguments(self, variants: dict[str, int], holdout: float) -> None:
        """No variants, a zero weight or an impossible holdout are refused."""
        with pytest.raises(ValueError):
            assign_variant("l", "x", variants, holdout)


def test_step_keys_differ_per_enrolment_and_occurrence() -> None:
    """Re-entering a sequence or sending a template twice never reuses a ledger key."""
    lead = LeadSnapshot(lead_id="L1", email="a@b.example")
    first = SequenceInput(name="evaluation", version=1, enrolment=1, lead=lead)
    second = first.model_copy(update={"enrolment": 2})
    keys = {
        sequence_step_key("L1", first, "case_study", 1),
        sequence_step_key("L1", first, "case_study", 2),
        sequence_step_key("L1", second, "case_study", 1),
    }
    assert len(keys) == 3
    assert sequence_step_key("L1", first, "case_study", 1) == "L1/seq-evaluation-v1-e1/case_study/1"
