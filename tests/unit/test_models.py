"""Intake models: normalised emails, no control characters, clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nurture.domain.models import Lead, LeadEvent
from tests.helpers import T0, persona_lead


def errors_of(**fields: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        Lead.model_validate(fields)
    return {".".join(map(str, e["loc"])): e["msg"] for e in info.value.errors()}


class TestLead:
    """Every field is validated with a message naming the rule."""

    def test_email_is_normalised(self) -> None:
        """Spaces and capitals go."""
        assert Lead(email="  Ada@Globex.EXAMPLE ").email == "ada@globex.example"

    def test_invalid_email_names_the_field(self) -> None:
        """An address without a domain is refused on ``email``."""
        assert "email" in errors_of(email="ada@")

    @pytest.mark.parametrize("bad", ["Ada\r\nBcc: x@evil.example", "Ada\x00", "Ada\u2028Lovelace"])
    def test_control_characters_rejected(self, bad: str) -> None:
        """CR/LF, NUL and line separators in a name are refused, naming the field."""
        problems = errors_of(email="ada@globex.example", first_name=bad)
        assert "control characters" in problems["first_name"]

    def test_several_bad_fields_are_all_named(self) -> None:
        """Each bad field gets its own error."""
        problems = errors_of(email="nope", country="France", company_size=0)
        assert {"email", "country", "company_size"} <= set(problems)

    def test_merge_keeps_known_fields(self) -> None:
        """A later, sparser submission does not erase what we knew."""
        merged = persona_lead().merged_with(Lead(email="ada@globex.example", country="fr"))
        assert (merged.first_name, merged.country, merged.company) == ("Ada", "FR", "Globex")


class TestLeadEvent:
    """Events need an aware time and clean properties."""

    def test_naive_time_refused(self) -> None:
        """A datetime without a zone is ambiguous and refused."""
        with pytest.raises(ValidationError, match="timezone"):
            LeadEvent(id="e1", type="page_viewed", occurred_at=T0.replace(tzinfo=None))

    def test_property_with_newline_refused(self) -> None:
        """Property values follow the same control-character rule."""
        with pytest.raises(ValidationError, match="control characters"):
            LeadEvent(id="e1", type="page_viewed", occurred_at=T0, properties={"p": "a\nb"})

    def test_type_must_be_a_slug(self) -> None:
        """Event types are lower-case identifiers."""
        with pytest.raises(ValidationError, match="type"):
            LeadEvent(id="e1", type="Page Viewed", occurred_at=T0)
