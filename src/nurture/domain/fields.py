"""Custom fields: what a team asks its leads beyond the fixed contact details (a contact
form's message, the BANT answers, revenue...), declared in ``nurture.toml`` with a type
and its limits, and checked wherever a value comes in (a form, an import, the API) with an
error naming the field and the rule. A lead keeps the values it was given, newest first
(a later form's answer replaces an earlier one, a field it did not post is kept)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nurture.domain.text import ShortText, reject_control_characters

__all__ = [
    "CustomField",
    "FieldName",
    "FieldProblem",
    "FieldProblems",
    "FieldValue",
    "custom_values",
    "parse_value",
    "typed_back",
]

FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
"""A custom field's name, as forms post it and templates read it (``lead.custom.budget``)."""
FieldValue = str | int | float | bool | date
"""What a custom field holds once checked."""

_TRUE = frozenset({"true", "yes", "on", "1", "oui"})
_FALSE = frozenset({"false", "no", "off", "0", "non"})


class CustomField(BaseModel):
    """One field in ``[fields.<name>]``: its type, label and limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["text", "number", "choice", "date", "boolean"]
    label: ShortText | None = None
    """How people read it (the lead's page, the CLI); the name when absent."""
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 500
    """text: the most characters kept (longer is refused, not cut)."""
    minimum: float | None = None
    maximum: float | None = None
    """number: the bounds, both included."""
    integer: bool = False
    """number: whole numbers only."""
    choices: tuple[ShortText, ...] = ()
    """choice: the values allowed (matched without regard to case)."""

    @model_validator(mode="after")
    def _coherent(self) -> CustomField:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs its choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"choices belong to choice fields, not to a {self.type} field")
        if None not in (self.minimum, self.maximum) and self.minimum > self.maximum:  # type: ignore[operator]
            raise ValueError("minimum is above maximum")
        return self


class FieldProblem(ValueError):
    """A value a custom field refuses: ``field`` and the rule, in words."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


def parse_value(name: str, spec: CustomField, raw: Any) -> FieldValue:
    """``raw`` (a form's text, or JSON's number or boolean) as field ``name`` holds it, or
    :class:`FieldProblem` saying which rule it breaks."""
    if isinstance(raw, (dict, list)):
        raise FieldProblem(name, "must be a single value")
    parse = {"text": _text, "number": _number, "choice": _choice, "date": _date}
    try:
        return parse.get(spec.type, _boolean)(spec, raw)
    except OverflowError:
        raise FieldProblem(name, "is too large") from None
    except (ValueError, TypeError) as exc:
        raise FieldProblem(name, str(exc)) from None


def typed_back(name: str, text: str, fields: Mapping[str, CustomField]) -> FieldValue | None:
    """A value a log kept as text, as field ``name`` holds it (a number, a date, a flag, a
    choice in its own spelling); ``None`` when ``[fields]`` no longer declares the field or
    the value no longer fits it (the caller says what such a value stands for)."""
    spec = fields.get(name)
    if spec is None:
        return None
    try:
        return parse_value(name, spec, text)
    except FieldProblem:
        return None


def _text(spec: CustomField, raw: Any) -> str:
    text = reject_control_characters(str(raw).strip())
    if len(text) > spec.max_length:
        raise ValueError(f"is too long: {spec.max_length} characters at most")
    return text


def _number(spec: CustomField, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    try:
        value = float(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a number")
    if spec.integer and not value.is_integer():
        raise ValueError("must be a whole number")
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"must be at most {spec.maximum:g}")
    return int(value) if spec.integer or value.is_integer() else value


def _choice(spec: CustomField, raw: Any) -> str:
    given = str(raw).strip().casefold()
    for choice in spec.choices:
        if choice.casefold() == given:
            return choice
    raise ValueError(f"must be one of {', '.join(spec.choices)}")


def _date(spec: CustomField, raw: Any) -> date:
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValueError("must be a date, YYYY-MM-DD") from None


def _boolean(spec: CustomField, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().casefold()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("must be yes or no")


class FieldProblems(ValueError):
    """Every custom field a post got wrong, in declaration order."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def custom_values(
    posted: Mapping[str, Any], fields: Mapping[str, CustomField]
) -> dict[str, FieldValue]:
    """The declared custom fields among ``posted``, checked; every problem at once in
    :class:`FieldProblems`. A field posted blank is absent (an HTML form sends them all)."""
    values: dict[str, FieldValue] = {}
    problems: list[FieldProblem] = []
    for name, spec in fields.items():
        raw = posted.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            values[name] = parse_value(name, spec, raw)
        except FieldProblem as problem:
            problems.append(problem)
    if problems:
        raise FieldProblems(problems)
    return values
