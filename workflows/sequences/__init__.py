"""Nurture sequences, one module each; importing this package registers them all.

Authoring guide: ``workflows/README.md``.
"""

from workflows.sequences.base import (
    REGISTRY,
    Sequence,
    SequenceExit,
    any_event_except,
    days,
    hours,
    latest,
    minutes,
    sequence,
    unknown_sequences,
)

# Shipped sequences register themselves on import.
from workflows.sequences import (  # noqa: F401  isort: skip
    customers,
    decision,
    discovery,
    evaluation,
    recycle,
    reengagement,
    welcome,
)

__all__ = [
    "REGISTRY",
    "Sequence",
    "SequenceExit",
    "any_event_except",
    "days",
    "hours",
    "latest",
    "minutes",
    "sequence",
    "unknown_sequences",
]
