"""Lifecycle: the transition table and automatic qualification."""

from __future__ import annotations

import pytest

from nurture.domain.lifecycle import ALLOWED_TRANSITIONS, Stage, check_transition, qualify
from nurture.errors import IllegalTransition


class TestTransitionTable:
    """Only the moves in the table are allowed; others name both stages."""

    def test_every_stage_has_an_entry(self) -> None:
        """No stage is missing from the table."""
        assert set(ALLOWED_TRANSITIONS) == set(Stage)

    @pytest.mark.parametrize(
        ("current", "target"),
        [
            (Stage.NEW, Stage.MQL),
            (Stage.MQL, Stage.SQL),
            (Stage.SQL, Stage.RECYCLED),
            (Stage.OPPORTUNITY, Stage.CUSTOMER),
            (Stage.RECYCLED, Stage.MQL),
        ],
    )
    def test_allowed_moves(self, current: Stage, target: Stage) -> None:
        """Funnel moves from DOMAIN.md go through."""
        assert check_transition(current, target) is target

    @pytest.mark.parametrize(
        ("current", "target"),
        [
            (Stage.NEW, Stage.CUSTOMER),
            (Stage.CUSTOMER, Stage.NEW),
            (Stage.MQL, Stage.NEW),
            (Stage.DISQUALIFIED, Stage.SQL),
            (Stage.NEW, Stage.NEW),
        ],
    )
    def test_illegal_moves_name_both_stages(self, current: Stage, target: Stage) -> None:
        """The error says where the lead is, where it was sent and what is allowed."""
        with pytest.raises(IllegalTransition) as info:
            check_transition(current, target)
        message = str(info.value)
        assert f"'{current}'" in message and f"'{target}'" in message
        assert (info.value.current, info.value.target) == (current.value, target.value)


class TestQualify:
    """Scores promote marketing leads at the thresholds and never demote anyone."""

    @pytest.mark.parametrize(
        ("current", "score", "expected"),
        [
            (Stage.NEW, 19, None),
            (Stage.NEW, 20, Stage.MQL),
            (Stage.NEW, 50, Stage.SQL),
            (Stage.MQL, 49, None),
            (Stage.MQL, 50, Stage.SQL),
            (Stage.RECYCLED, 25, Stage.MQL),
            (Stage.SQL, 0, None),
            (Stage.CUSTOMER, 99, None),
            (Stage.DISQUALIFIED, 99, None),
        ],
    )
    def test_thresholds(self, current: Stage, score: int, expected: Stage | None) -> None:
        """MQL at 20 and SQL at 50, only from new, MQL or recycled."""
        assert qualify(current, score, mql_at=20, sql_at=50) == expected
