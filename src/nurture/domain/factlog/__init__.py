"""The facts log: an append-only record of what happened to each lead, written by the
lead workflows (which stay the source of truth) and read by every cross-lead question
(the reports). Not to be confused with ``nurture.domain.lead.facts``, what one lead's
decisions read about it now."""

from nurture.domain.factlog.batch import FactBatch
from nurture.domain.factlog.derive import facts_of_state
from nurture.domain.factlog.inbound import facts_of_message
from nurture.domain.factlog.model import FACT_FIELDS, FACT_KINDS, Fact, FactKind, FactValue, fact_id

__all__ = [
    "FACT_FIELDS",
    "FACT_KINDS",
    "Fact",
    "FactBatch",
    "FactKind",
    "FactValue",
    "fact_id",
    "facts_of_message",
    "facts_of_state",
]
