"""Lists of leads for people: which leads to list, and what one row says about a lead.

A row carries only what the lead's search attributes hold (never an email address), so a
list is one visibility query, not one workflow query per lead. The filters are validated
here, values and all: each is a known stage or grade, a number, a moment, or an id of a
safe shape, so a query built from them cannot be turned into another query.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from nurture.domain.lifecycle import Stage
from nurture.domain.scoring import Grade

__all__ = ["MAX_PAGE_SIZE", "LeadFilters", "LeadPage", "LeadRow", "OwnerId", "SequenceName"]

MAX_PAGE_SIZE = 100
"""The most rows one page holds: enough for a screen, small for the visibility store."""


_OWNER = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
_SEQUENCE = r"^[a-z][a-z0-9_-]{0,63}$"


def _shaped(pattern: str, refusal: str) -> AfterValidator:
    """Refuse a string not of ``pattern`` in words a person reads (pydantic's own message
    quotes the pattern); the pattern itself stays in the schema for clients."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("shape", refusal)
        return value

    return AfterValidator(check)


OwnerId = Annotated[
    str,
    Field(json_schema_extra={"pattern": _OWNER}),
    _shaped(_OWNER, "not a rep id (lowercase letters, digits, '.', '_' and '-', e.g. ana.lopez)"),
]
"""A rep's id, of the shape ``config/sales.toml`` accepts."""
SequenceName = Annotated[
    str,
    Field(json_schema_extra={"pattern": _SEQUENCE}),
    _shaped(_SEQUENCE, "not a sequence name (lowercase letters, digits, '_' and '-')"),
]
"""A sequence's name, of the shape ``@sequence`` accepts."""


class LeadFilters(BaseModel):
    """Which open leads to list; every filter given must hold (none: every open lead)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    stage: Stage | None = None
    min_score: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | None = None
    """Leads whose score is at least this."""
    grade: Grade | None = None
    owner: OwnerId | None = None
    """The id of the rep who owns the lead now (``config/sales.toml``)."""
    sequence: SequenceName | None = None
    """The sequence the lead is in now."""
    next_touch_before: AwareDatetime | None = None
    """Leads that nurture acts on next (an email, a step, an SLA deadline) before this."""
    unowned: bool | None = None
    """``true``: leads no rep owns now (with ``stage=sql``, the pool reps take leads from);
    ``false``: leads a rep owns."""


class LeadRow(BaseModel):
    """One lead as a list shows it: its search attributes, never its address. Values are
    as visibility holds them (``None``: not set on the lead yet)."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    lead_id: str
    stage: str | None = None
    score: int | None = None
    grade: str | None = None
    temperature: str | None = None
    owner: str | None = None
    sequence: str | None = None
    next_touch_at: AwareDatetime | None = None
    last_activity_at: AwareDatetime | None = None
    accept_by: AwareDatetime | None = None
    """When its owner must have accepted it (the hand-off's deadline; unset once accepted)."""


class LeadPage(BaseModel):
    """One page of a list; ``next_page_token`` (opaque) asks for the next one."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    leads: tuple[LeadRow, ...]
    next_page_token: str | None = None
    """Pass it back as ``page_token`` for the next page; ``None``: this was the last."""
