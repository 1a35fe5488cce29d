-- The ledger as nurture created it before its schema was versioned (the statements are
-- those of that code, word for word): a database made then has these tables already and
-- takes this migration as a no-op, which makes it version 1.

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
