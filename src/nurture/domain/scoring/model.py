"""The scoring model marketing ops tune: a TOML file validated into these models.

The file is read by :func:`nurture.config.files.load_scoring_model`, whose errors name the
line, the path of the field inside it and the rule it broke.
"""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nurture.domain.models import EventType, Lead, PropertyValue

__all__ = [
    "BehaviourRule",
    "BuyingStage",
    "FitRule",
    "Grades",
    "Inactivity",
    "Predicate",
    "ScoringModel",
    "Temperature",
    "Thresholds",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
_DERIVED_ATTRIBUTES = frozenset({"email_domain", "email_type"})
_LEAD_ATTRIBUTES = frozenset(Lead.model_fields) - {"utm", "consent", "custom"}
_CUSTOM = re.compile(r"^custom\.[a-z][a-z0-9_]{0,39}$")
"""A custom field, ``custom.<name>`` (declared in ``[fields]`` of nurture.toml)."""


class Predicate(BaseModel):
    """A test on one lead attribute; every condition given must hold."""

    model_config = _STRICT

    equals: PropertyValue | None = None
    one_of: tuple[PropertyValue, ...] | None = None
    contains_any: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    present: bool | None = None


class FitRule(BaseModel):
    """Points for who the lead is (job, company, industry...); every predicate must hold."""

    model_config = _STRICT

    id: RuleId
    label: str
    points: int
    when: dict[str, Predicate] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_attributes(self) -> Self:
        known = _LEAD_ATTRIBUTES | _DERIVED_ATTRIBUTES
        unknown = sorted(a for a in set(self.when) - known if not _CUSTOM.match(a))
        if unknown:
            raise ValueError(
                f"unknown lead attribute(s) {unknown}; use one of {sorted(known)} or "
                "custom.<field> for a custom field"
            )
        return self


class BehaviourRule(BaseModel):
    """Points for what the lead does; ``match`` narrows by event properties."""

    model_config = _STRICT

    id: RuleId
    label: str
    event: EventType
    points: int
    match: dict[str, PropertyValue] = {}
    cap: Annotated[int, Field(gt=0)] | None = None
    """Most points (in absolute value) this rule may give a lead in total."""


class BuyingStage(BaseModel):
    """A phase of the buying cycle and the points that move a lead to the next one."""

    model_config = _STRICT

    name: RuleId
    advance_at: Annotated[int, Field(gt=0)]


class Thresholds(BaseModel):
    """Lifecycle qualification, agreed between marketing and sales."""

    model_config = _STRICT

    mql: int
    sql: int
    requalify_points: Annotated[int, Field(ge=0)] = 10
    """New behaviour points a lead sales returned (or whose deal was lost) must earn after
    the return before its score may qualify it again: until then it stays recycled."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.sql <= self.mql:
            raise ValueError(f"sql ({self.sql}) must be greater than mql ({self.mql})")
        return self


class Grades(BaseModel):
    """Minimum score for grades A and B; below B is C."""

    model_config = _STRICT

    a: int = Field(alias="A")
    b: int = Field(alias="B")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.a <= self.b:
            raise ValueError(f"A ({self.a}) must be greater than B ({self.b})")
        return self


class Temperature(BaseModel):
    """Engagement now: score bands, and cold whatever the score after a silence."""

    model_config = _STRICT

    warm_at: int
    hot_at: int
    cold_after_days: Annotated[int, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.hot_at <= self.warm_at:
            raise ValueError(f"hot_at ({self.hot_at}) must be greater than warm_at")
        return self


class Inactivity(BaseModel):
    """Negative points for each full period without any activity."""

    model_config = _STRICT

    after_days: Annotated[int, Field(gt=0)]
    points: Annotated[int, Field(lt=0)]
    floor: int = 0
    """The penalty never takes the score below this."""


class ScoringModel(BaseModel):
    """A complete scoring configuration."""

    model_config = _STRICT

    name: str
    thresholds: Thresholds
    grades: Grades
    temperature: Temperature
    inactivity: Inactivity
    buying_stages: tuple[BuyingStage, ...] = Field(min_length=1)
    fit: tuple[FitRule, ...] = ()
    behaviour: tuple[BehaviourRule, ...] = ()
    free_mail_domains: frozenset[str] = frozenset()
    weak_events: frozenset[str] = frozenset({"email_opened"})
    """Events that may add points but never change a lead's stage on their own: an open
    proves little (Apple Mail Privacy Protection opens everything). The stage follows at
    the lead's next event that earns points."""

    def uncapped_positive_rules(self) -> list[str]:
        """Behaviour rules giving points with no ``cap``: each repeat of the event adds
        points again, so a re-posted form or a script can inflate a score without end."""
        return [r.id for r in self.behaviour if r.points > 0 and r.cap is None]

    def warnings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What is allowed but probably a mistake: where (the path of the value, as in a
        validation error) and one sentence."""
        uncapped = set(self.uncapped_positive_rules())
        return [
            (
                ("behaviour", index),
                f"rule {rule.id!r} gives {rule.points} points with no cap: every repeat of "
                "its event adds them again; set cap to the most it may give a lead",
            )
            for index, rule in enumerate(self.behaviour)
            if rule.id in uncapped
        ]

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        for label, ids in (
            ("rule id", [r.id for r in self.fit] + [r.id for r in self.behaviour]),
            ("buying stage", [s.name for s in self.buying_stages]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {label}(s): {dupes}")
        return self

    def stage_named(self, name: str) -> BuyingStage:
        """The buying stage called ``name``."""
        return next(s for s in self.buying_stages if s.name == name)
