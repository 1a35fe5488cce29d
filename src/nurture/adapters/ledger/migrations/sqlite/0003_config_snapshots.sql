-- The configuration snapshots the workflows ran with, by digest: a workflow's history
-- keeps only the digest, and a worker loads these when it starts (and fetches one another
-- worker stored since), so a replay finds the version its run started with. A row is
-- never changed or deleted while a run may still replay it. body: the snapshot's
-- canonical JSON, as its digest was computed on (never recomputed); created_at: ISO-8601
-- text in UTC.

CREATE TABLE IF NOT EXISTS nurture_config_snapshots (
    digest TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
