"""The send ledger: which idempotency keys were already delivered, and who must not be mailed.

The send activity looks a key up before sending, claims it (status ``sending``) just before
the relay gets the end of the message, and settles it with the relay's answer: ``sent``,
``bounced``, or ``unconfirmed`` when the answer never came; a definite refusal (4xx)
releases the claim for the retry. Only one attempt can hold a key's claim, so only one ever
completes a message to the relay. Beside it, the suppression list: keyed hashes of
addresses that must get no more marketing mail (unsubscribed, complained) or no mail at all
(hard bounce, erased), checked by the send activity itself, so an email scheduled before
the unsubscribe never goes out. SQLite (a file) is the default; Postgres serves a
docker-compose deployment with several workers. ``nurture.testing.MemoryLedger`` is the
in-memory fake.
"""

from __future__ import annotations

from pathlib import Path

from nurture.adapters.ledger.base import (
    LedgerEntry,
    SendLedger,
    SendStatus,
    Suppression,
    SuppressionReason,
    stronger,
)
from nurture.adapters.ledger.postgres import PostgresLedger
from nurture.adapters.ledger.schema import locate_database
from nurture.adapters.ledger.sqlite import SqliteLedger

__all__ = [
    "LedgerEntry",
    "PostgresLedger",
    "SendLedger",
    "SendStatus",
    "SqliteLedger",
    "Suppression",
    "SuppressionReason",
    "open_ledger",
    "stronger",
]


def open_ledger(url: str, home: Path) -> SendLedger:
    """``sqlite:///relative/or/absolute/path`` or ``postgresql://user:pass@host/db``."""
    where = locate_database(url, home)
    return SqliteLedger(where) if isinstance(where, Path) else PostgresLedger(where)
