"""Lead ids: stable per person, keyed, never the address itself."""

from __future__ import annotations

import pytest

from nurture.domain.identity import lead_id_for, workflow_id_for

KEY = b"test-key"


class TestLeadId:
    """One person, one id; nothing about the address leaks."""

    def test_normalised_spellings_share_an_id(self) -> None:
        """Case and surrounding spaces do not create a second lead."""
        assert lead_id_for("  Ada@Globex.Example ", KEY) == lead_id_for("ada@globex.example", KEY)

    def test_different_people_differ(self) -> None:
        """Two addresses give two ids."""
        assert lead_id_for("ada@globex.example", KEY) != lead_id_for("bob@globex.example", KEY)

    def test_keyed(self) -> None:
        """Another deployment key gives another id, so ids cannot be guessed from emails."""
        assert lead_id_for("ada@globex.example", KEY) != lead_id_for("ada@globex.example", b"k2")

    def test_no_address_in_the_id(self) -> None:
        """The id is 32 hex characters, the workflow id adds only a prefix."""
        lead_id = lead_id_for("ada@globex.example", KEY)
        assert len(lead_id) == 32 and int(lead_id, 16) >= 0
        assert workflow_id_for(lead_id) == f"lead-{lead_id}"
        assert "globex" not in workflow_id_for(lead_id)

    def test_crm_id_wins(self) -> None:
        """A CRM id gives a readable id independent of the email."""
        assert lead_id_for("ada@globex.example", KEY, crm_id="0031x00") == "crm-0031x00"

    def test_bad_crm_id_rejected(self) -> None:
        """A CRM id with a slash cannot end up in a workflow id."""
        with pytest.raises(ValueError, match="crm_id"):
            lead_id_for("ada@globex.example", KEY, crm_id="a/b")
