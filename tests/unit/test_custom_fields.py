"""Custom fields: each type's rules with errors naming the field, a later post keeping
what it left out, and what templates see."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from nurture.config.check import check_configuration
from nurture.config.settings import Settings
from nurture.domain.emails import lead_context
from nurture.domain.fields import CustomField, FieldProblem, FieldProblems, custom_values
from nurture.domain.scoring import apply_profile, initial_score
from nurture.domain.scoring.model import FitRule, Predicate
from tests.helpers import ROOT, persona_lead, scoring_model

FIELDS = {
    "budget": CustomField(type="choice", choices=("under 10k", "over 50k")),
    "seats": CustomField(type="number", integer=True, minimum=1, maximum=500),
    "revenue": CustomField(type="number", minimum=0),
    "start": CustomField(type="date"),
    "newsletter": CustomField(type="boolean"),
    "message": CustomField(type="text", max_length=20),
}


class TestValues:
    """Each type takes what people type and refuses the rest, saying which rule."""

    def test_good_values_typed(self) -> None:
        posted = {
            "budget": "UNDER 10K",
            "seats": "12",
            "revenue": "1250,5",
            "start": "2027-01-15",
            "newsletter": "on",
            "message": "  call me  ",
            "other": "ignored here",
        }
        assert custom_values(posted, FIELDS) == {
            "budget": "under 10k",
            "seats": 12,
            "revenue": 1250.5,
            "start": date(2027, 1, 15),
            "newsletter": True,
            "message": "call me",
        }

    def test_blank_is_absent(self) -> None:
        assert custom_values({"budget": "", "seats": "  "}, FIELDS) == {}

    @pytest.mark.parametrize(
        ("field", "raw", "rule"),
        [
            ("budget", "a lot", "must be one of under 10k, over 50k"),
            ("seats", "2.5", "must be a whole number"),
            ("seats", "0", "must be at least 1"),
            ("seats", "9000", "must be at most 500"),
            ("revenue", "nan", "must be a number"),
            ("revenue", True, "must be a number"),
            ("start", "15/01/2027", "must be a date, YYYY-MM-DD"),
            ("newsletter", "maybe", "must be yes or no"),
            ("message", "x" * 21, "is too long: 20 characters at most"),
            ("message", "bell\x07", "control"),
            ("budget", ["under 10k"], "must be a single value"),
        ],
    )
    def test_refused_with_the_rule(self, field: str, raw: object, rule: str) -> None:
        with pytest.raises(FieldProblems) as refused:
            custom_values({field: raw}, FIELDS)
        [problem] = refused.value.problems
        assert isinstance(problem, FieldProblem) and problem.field == field
        assert rule in problem.rule

    def test_every_problem_at_once(self) -> None:
        with pytest.raises(FieldProblems) as refused:
            custom_values({"budget": "?", "seats": "x"}, FIELDS)
        assert [p.field for p in refused.value.problems] == ["budget", "seats"]


class TestDeclaration:
    """A declaration that cannot work is refused when the configuration loads."""

    def test_choice_needs_choices(self) -> None:
        with pytest.raises(ValidationError, match="needs its choices"):
            CustomField(type="choice")

    def test_bounds_in_order(self) -> None:
        with pytest.raises(ValidationError, match="minimum is above maximum"):
            CustomField(type="number", minimum=5, maximum=1)


class TestOnTheLead:
    """A lead keeps its answers; a later post replaces what it answers again, only."""

    def test_merge_keeps_what_the_newer_post_left_out(self) -> None:
        first = persona_lead(custom={"budget": "under 10k", "message": "hello"})
        newer = persona_lead(custom={"budget": "over 50k"})
        assert first.merged_with(newer).custom == {"budget": "over 50k", "message": "hello"}
        assert first.merged_with(persona_lead()).custom == first.custom

    def test_templates_see_them(self) -> None:
        lead = persona_lead(custom={"budget": "over 50k"})
        assert lead_context(lead)["custom"] == {"budget": "over 50k"}
        assert lead_context(None)["custom"] == {}
        assert lead_context({"first_name": "Ada"})["custom"] == {}


class TestFitRules:
    """A fit rule may read a custom field as ``custom.<name>``; the configuration check
    refuses one naming a field nurture.toml does not declare."""

    def test_scores_an_answer(self) -> None:
        base = scoring_model()
        rule = FitRule(
            id="big_budget",
            label="Budget over 50k",
            points=10,
            when={"custom.budget": Predicate(equals="over 50k")},
        )
        model = base.model_copy(update={"fit": (*base.fit, rule)})
        rich = persona_lead(custom={"budget": "over 50k"})
        poor = persona_lead(custom={"budget": "under 10k"})
        assert apply_profile(model, initial_score(model), rich).score.line("big_budget")
        assert apply_profile(model, initial_score(model), poor).score.line("big_budget") is None

    def test_the_attribute_must_be_a_field_name(self) -> None:
        with pytest.raises(ValidationError, match=r"custom\.<field>"):
            FitRule(id="x", label="x", points=1, when={"custom": Predicate(present=True)})

    def test_an_undeclared_field_is_a_config_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = tmp_path / "config"
        shutil.copytree(ROOT / "config", config)
        scoring = config / "scoring.toml"
        scoring.write_text(
            scoring.read_text()
            + '\n[[fit]]\nid = "rich"\nlabel = "Rich"\npoints = 5\n'
            + 'when = { "custom.revenue" = { min = 1000000 } }\n'
        )
        monkeypatch.setenv("NURTURE_HOME", str(tmp_path))
        (tmp_path / "templates").symlink_to(ROOT / "templates")
        report = check_configuration(Settings())
        assert any("no custom field 'revenue'" in line for line in report.lines())


def test_a_number_too_large_for_a_float_is_refused() -> None:
    """JSON carries integers of any size: one past float's range is a 422, never a 500."""
    with pytest.raises(FieldProblems) as refused:
        custom_values({"revenue": 10**400}, FIELDS)
    assert refused.value.problems[0].rule == "is too large"
