"""What the API tests share: the key the app under test accepts, and reading its answers."""

from __future__ import annotations

from nurture.config.settings import Settings
from nurture.domain.identity import lead_id_for

__all__ = ["AUTH", "KEY", "fields", "hashed"]

KEY = "test-api-key"
AUTH = {"X-API-Key": KEY}


def hashed(email: str) -> str:
    """The lead id a person never sees: the keyed hash of their address."""
    return lead_id_for(email, Settings().secret())


def fields(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e["field"]: e["message"] for e in response.json()["detail"]}
