-- The ledger as nurture created it before its schema was versioned, the statements of
-- that code word for word. A database made then (no nurture_schema_version) is recognised as
-- version 1 and still runs them: older code made nurture_sends alone, and the tables it
-- did not make are created (IF NOT EXISTS leaves the others as they are).

CREATE TABLE IF NOT EXISTS nurture_sends (
    key TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    template TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS nurture_suppressions (
    address_hash TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS nurture_soft_bounces (
    report_id TEXT PRIMARY KEY,
    address_hash TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
