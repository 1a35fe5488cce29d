"""Nurture sequences, one module each; importing this package registers them all.

Authoring guide: ``workflows/README.md``.
"""

from workflows.sequences.base import (
    REGISTRY,
    Sequence,
    SequenceExit,
    days,
    hours,
    latest,
    minutes,
    sequence,
)

# Shipped sequences register themselves on import.
from workflows.sequences import discovery, evaluation  # noqa: F401  isort: skip

__all__ = [
    "REGISTRY",
    "Sequence",
    "SequenceExit",
    "days",
    "hours",
    "latest",
    "minutes",
    "sequence",
]
