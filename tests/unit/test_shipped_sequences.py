"""The shipped sequences and enrolment rules fit together."""

from __future__ import annotations


def test_shipped_rules_name_registered_sequences() -> None:
    """Every ``[[enrolment]]`` of the shipped config names a sequence; a typo is reported."""
    from nurture.config.files import load_project_config
    from tests.conftest import PROJECT_FILE
    from workflows.sequences import unknown_sequences

    rules = load_project_config(PROJECT_FILE).enrolment
    assert {r.sequence for r in rules} >= {"decision", "reengagement", "onboarding", "upsell"}
    assert unknown_sequences(r.sequence for r in rules) == []
    assert unknown_sequences(["evaluation", "evalution"]) == ["evalution"]
