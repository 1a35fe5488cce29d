"""The ledger's rows and statements as both SQL backends write them (SQLite and Postgres);
its tables are made by the migrations (``nurture.adapters.ledger.schema``)."""

from __future__ import annotations

from datetime import UTC, datetime

from nurture.adapters.ledger.base import LedgerEntry, Suppression

__all__ = [
    "RELEASE",
    "SEND_COLUMNS",
    "SETTLE",
    "SQLITE_RELEASE",
    "SQLITE_SETTLE",
    "SUPPRESSION_COLUMNS",
    "WIDEN_SUPPRESSION",
    "entry_from_row",
    "entry_values",
    "insert_suppressions",
    "suppression_from_row",
    "suppression_values",
    "utc_text",
]

SEND_COLUMNS = "key, lead_id, template, message_id, status, recorded_at"
SUPPRESSION_COLUMNS = "address_hash, scope, reason, recorded_at"
SETTLE = "UPDATE nurture_sends SET status = %s WHERE key = %s AND status = 'sending'"
RELEASE = "DELETE FROM nurture_sends WHERE key = %s AND status = 'sending'"
SQLITE_SETTLE = SETTLE.replace("%s", "?")
SQLITE_RELEASE = RELEASE.replace("%s", "?")

# A wider scope replaces a narrower one; otherwise the first suppression stays.
WIDEN_SUPPRESSION = (
    "ON CONFLICT (address_hash) DO UPDATE SET scope = excluded.scope, "
    "reason = excluded.reason, recorded_at = excluded.recorded_at "
    "WHERE nurture_suppressions.scope = 'marketing' AND excluded.scope = 'all'"
)


def insert_suppressions(count: int, mark: str) -> str:
    """One statement adding or widening ``count`` suppressions (``mark``: the backend's
    placeholder), returning the address hashes it changed."""
    row = f"({', '.join([mark] * 4)})"
    return (
        f"INSERT INTO nurture_suppressions ({SUPPRESSION_COLUMNS}) VALUES "
        f"{', '.join([row] * count)} {WIDEN_SUPPRESSION} RETURNING address_hash"
    )


def suppression_from_row(row: tuple[str, ...] | None) -> Suppression | None:
    """A row of ``SUPPRESSION_COLUMNS`` read back, if there was one."""
    if row is None:
        return None
    address_hash, _scope, reason, recorded_at = row
    return Suppression.model_validate(
        {"address_hash": address_hash, "reason": reason, "recorded_at": recorded_at}
    )


def suppression_values(entry: Suppression) -> tuple[str, ...]:
    """``entry`` as the values of ``SUPPRESSION_COLUMNS``."""
    return (entry.address_hash, entry.scope, entry.reason, entry.recorded_at.isoformat())


def entry_from_row(row: tuple[str, ...] | None) -> LedgerEntry | None:
    """A row of ``SEND_COLUMNS`` read back, if there was one."""
    if row is None:
        return None
    key, lead_id, template, message_id, status, recorded_at = row
    return LedgerEntry(
        key=key,
        lead_id=lead_id,
        template=template,
        message_id=message_id,
        status=status,
        recorded_at=datetime.fromisoformat(recorded_at),
    )


def entry_values(entry: LedgerEntry) -> tuple[str, ...]:
    """``entry`` as the values of ``SEND_COLUMNS``."""
    return (
        entry.key,
        entry.lead_id,
        entry.template,
        entry.message_id,
        entry.status,
        entry.recorded_at.isoformat(),
    )


def utc_text(moment: datetime) -> str:
    """ISO text in UTC, so that text order is time order."""
    return moment.astimezone(UTC).isoformat()
