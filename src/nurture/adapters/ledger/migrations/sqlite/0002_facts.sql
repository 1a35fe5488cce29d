-- The facts log: what happened to each lead, appended by the lead workflows.
-- at: ISO-8601 text in UTC, fixed width (microseconds, "+00:00"), so text order is time
-- order; data: the fact's fields as a JSON object.

CREATE TABLE IF NOT EXISTS facts (
    id TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);

-- A read streams facts in this order; a lead's facts are read or erased by it.
CREATE INDEX IF NOT EXISTS facts_lead_at ON facts (lead_id, at, id);

-- A report reads a few kinds over a time range.
CREATE INDEX IF NOT EXISTS facts_kind_at ON facts (kind, at);
