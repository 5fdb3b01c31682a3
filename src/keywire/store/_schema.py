"""The store's schema, as a list of migrations: migration N takes a store from version N-1 to N.

The version is SQLite's ``user_version``; ``application_id`` marks the file as a keywire store, so
another program's database is never mistaken for an empty store. A migration runs in one
transaction with the version bump: a store is at one version or the next, never in between.
Migrations only ever add (tables, columns, indexes) or copy; a released one is never edited.
"""

from __future__ import annotations

#: ``PRAGMA application_id`` of a keywire store: "KWST" as a big-endian 32-bit integer.
APPLICATION_ID = 0x4B575354

_V1 = """
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    tool_version TEXT NOT NULL,
    source TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    first_seen TEXT NOT NULL
);
CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES scans(id),
    target_id INTEGER NOT NULL REFERENCES targets(id),
    scanned_at TEXT NOT NULL,
    answered INTEGER NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    score INTEGER,
    grade TEXT,
    UNIQUE (scan_id, target_id)
);
CREATE INDEX results_by_target ON results(target_id, id);
CREATE TABLE findings (
    result_id INTEGER NOT NULL REFERENCES results(id),
    fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    confidence TEXT NOT NULL,
    message TEXT NOT NULL,
    location TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '[]',
    suppressed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (result_id, fingerprint)
) WITHOUT ROWID;
CREATE INDEX findings_by_fingerprint ON findings(fingerprint);
CREATE TABLE checks (
    result_id INTEGER NOT NULL REFERENCES results(id),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (result_id, name)
) WITHOUT ROWID;
CREATE TABLE certificates (
    result_id INTEGER NOT NULL REFERENCES results(id),
    chain INTEGER NOT NULL,
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    PRIMARY KEY (result_id, chain, position)
) WITHOUT ROWID;
CREATE INDEX certificates_by_sha256 ON certificates(sha256);
CREATE TABLE alert_state (
    target_id INTEGER PRIMARY KEY REFERENCES targets(id),
    state TEXT NOT NULL
);
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    type TEXT NOT NULL,
    target_id INTEGER REFERENCES targets(id),
    result_id INTEGER REFERENCES results(id),
    payload TEXT NOT NULL,
    deliver INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    delivered_at TEXT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_outbox ON alerts(next_attempt_at) WHERE deliver = 1 AND delivered_at IS NULL;
"""

#: Every migration, in order: ``MIGRATIONS[n - 1]`` takes a store to version ``n``.
MIGRATIONS: tuple[str, ...] = (_V1,)

#: The version this keywire writes (and the newest it reads).
SCHEMA_VERSION = len(MIGRATIONS)
