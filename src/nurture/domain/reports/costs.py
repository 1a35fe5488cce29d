"""What was spent to acquire leads (``[costs]`` in ``nurture.toml``), per source and month.

Optional: without it the cost report shows counts and no costs. For example::

    [costs]
    currency = "EUR"

    [[costs.spend]]
    source = "inbound"
    month = "2026-11"
    amount = 1200
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from nurture.domain.models import AcquisitionSource

__all__ = ["Costs", "Month", "Spend"]

_STRICT = ConfigDict(extra="forbid", frozen=True)
_YEARS = (2000, 9998)
"""The years a spend may be given for: far beyond any real spend, and every month of them
has a next month the calendar knows (``datetime`` ends with 9999)."""


def _sane_year(month: str) -> str:
    year = int(month[:4])
    if not _YEARS[0] <= year <= _YEARS[1]:
        raise ValueError(f"the year must be from {_YEARS[0]} to {_YEARS[1]}, not {year}")
    return month


Month = Annotated[
    str,
    # ASCII digits only: a regular expression's \d takes other scripts' digits too.
    Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-11"]),
    AfterValidator(_sane_year),
]
"""A calendar month, ``YYYY-MM`` (2000 to 9998): the same spelling as a lead's cohort."""


class Spend(BaseModel):
    """What one source cost in one month."""

    model_config = _STRICT

    source: AcquisitionSource
    month: Month
    amount: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class Costs(BaseModel):
    """Spend per source and month, in one currency."""

    model_config = _STRICT

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])] = "EUR"
    """ISO 4217 code, upper case."""
    spend: tuple[Spend, ...] = ()

    @field_validator("spend")
    @classmethod
    def _once_each(cls, spend: tuple[Spend, ...]) -> tuple[Spend, ...]:
        seen: set[tuple[str, str]] = set()
        for entry in spend:
            key = (entry.source.value, entry.month)
            if key in seen:
                raise ValueError(f"the spend of {key[0]} in {key[1]} is given twice")
            seen.add(key)
        return spend

    def amount(self, source: str, month: str) -> Decimal | None:
        """The spend of ``source`` in ``month``, or ``None`` when none is configured."""
        return next(
            (s.amount for s in self.spend if s.source.value == source and s.month == month),
            None,
        )
