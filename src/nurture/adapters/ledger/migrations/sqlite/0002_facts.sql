-- The facts log: what happened to each lead, appended by the lead workflows.
-- at: ISO-8601 text in UTC, fixed width (microseconds, "+00:00"), so text order is time
-- order; data: the fact's fields as a JSON object.

CREATE TABLE IF NOT EXISTS nurture_facts (
    id TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);

-- A read streams facts in this order; a lead's facts are read or erased by it.
CREATE INDEX IF NOT EXISTS nurture_facts_lead_at ON nurture_facts (lead_id, at, id);

-- A report reads a few kinds over a time range.
CREATE INDEX IF NOT EXISTS nurture_facts_kind_at ON nurture_facts (kind, at);

-- The leads erased, and when: an append drops an erased lead's facts stamped at or before
-- its erasure (a write still in flight when it was erased), so nothing of it comes back;
-- a person signing up again later gets new facts. lead_hash: the SHA-256 of the lead id,
-- never the id; erased_at: as ``at``.
CREATE TABLE IF NOT EXISTS nurture_erased_leads (
    lead_hash TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
);
