"""A stored fact's row read back is the very ``Fact`` that was appended, whichever way
the backend hands over its moment and its data, and behaves like any other ``Fact``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from nurture.adapters.factlog.sql import fact_from_row, fact_values
from nurture.domain.factlog import Fact, fact_id

AT = datetime(2026, 3, 2, 9, 30, 15, 250_000, tzinfo=UTC)


def planned() -> Fact:
    data = {"key": "k", "step": 3, "variant": {"subject": "b"}, "detail": None, "due_at": "x"}
    return Fact(
        id=fact_id("L1", "email_planned", 1), lead_id="L1", kind="email_planned", at=AT, data=data
    )


class TestFactFromRow:
    """Rows as SQLite (text) and Postgres (a datetime in its session's zone, data as text
    or decoded) give them."""

    def test_sqlite_row(self) -> None:
        fact = planned()
        read = fact_from_row(fact_values(fact))
        assert read == fact
        assert read.model_dump() == fact.model_dump()
        assert read.model_fields_set == fact.model_fields_set

    @pytest.mark.parametrize("decoded", [False, True])
    def test_postgres_row(self, decoded: bool) -> None:
        """A moment in another zone comes back in UTC; Postgres's text of a jsonb has
        blanks after its separators."""
        fact = planned()
        paris = AT.astimezone(timezone(timedelta(hours=1)))
        text = '{"key": "k", "step": 3, "due_at": "x", "detail": null, "variant": {"subject": "b"}}'
        data = fact.data if decoded else text
        read = fact_from_row((fact.id, fact.lead_id, fact.kind, paris, data))
        assert read == fact
        assert read.at.tzinfo is UTC

    def test_behaves_as_a_fact(self) -> None:
        """Frozen, copied with changes, and its fields set are its own."""
        read = fact_from_row(fact_values(planned()))
        with pytest.raises(ValidationError):
            read.kind = "email_sent"  # type: ignore[misc]
        moved = read.model_copy(update={"at": AT + timedelta(hours=1)})
        assert (moved.at, read.at) == (AT + timedelta(hours=1), AT)
        assert read.get("step") == 3
        assert read.get("absent", "none") == "none"
        assert read.model_fields_set is not fact_from_row(fact_values(planned())).model_fields_set
