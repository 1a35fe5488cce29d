-- The ledger's tables as nurture created them before its schema was versioned: the
-- statements of src/nurture/adapters/ledger/sql.py at commit c8a8952, copied verbatim.
-- The migration tests build an old database with them.

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
