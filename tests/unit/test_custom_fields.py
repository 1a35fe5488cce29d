"""Custom fields: each type's rules with errors naming the field, a later post keeping
what it left out, and what templates see."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from nurture.domain.emails import lead_context
from nurture.domain.fields import CustomField, FieldProblem, FieldProblems, custom_values
from tests.helpers import persona_lead

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
