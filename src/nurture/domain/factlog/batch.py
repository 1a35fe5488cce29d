"""What a lead's workflow hands the facts store at once: one batch per write."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from nurture.domain.factlog.model import Fact

__all__ = ["FactBatch"]


class FactBatch(BaseModel):
    """Facts written together by one ``record_facts`` activity, in the order they happened."""

    model_config = ConfigDict(frozen=True)

    facts: tuple[Fact, ...]
