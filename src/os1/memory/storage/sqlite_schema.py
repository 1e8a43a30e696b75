"""The SQLite schema. Every derived row (fact, summary, vector) links to its source turns,
so forgetting a turn can remove everything that came from it.

Every statement is ``IF NOT EXISTS``: a file with an older ``user_version`` runs the
whole script again and gains what is new (schema 2 added turn_timings, 3 the agenda). A
change that is not a new table or index needs a step of its own in ``SQLiteStore``."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    reflected_at TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    importance REAL NOT NULL DEFAULT 0,
    -- Words indexed beside the text (e.g. an image caption); never shown as said.
    extra TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, id);
CREATE INDEX IF NOT EXISTS turns_created ON turns(created_at);
-- Full-text index of each turn with the turn before it in the same session ("context"):
-- a reply like "Yes, last Saturday!" is found through what it answers.
CREATE VIRTUAL TABLE IF NOT EXISTS turns_fts USING fts5(
    speaker, text, extra, context, tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS turns_ai AFTER INSERT ON turns BEGIN
    INSERT INTO turns_fts(rowid, speaker, text, extra, context)
    VALUES (new.id, new.speaker, new.text, new.extra, coalesce((
        SELECT p.speaker || ': ' || substr(p.text || ' ' || p.extra, 1, 300) FROM turns p
        WHERE p.session_id = new.session_id AND p.id < new.id ORDER BY p.id DESC LIMIT 1
    ), ''));
END;
CREATE TRIGGER IF NOT EXISTS turns_ad AFTER DELETE ON turns BEGIN
    DELETE FROM turns_fts WHERE rowid = old.id;
END;
CREATE TRIGGER IF NOT EXISTS turns_au AFTER UPDATE OF text, extra ON turns BEGIN
    UPDATE turns_fts SET text = new.text, extra = new.extra WHERE rowid = new.id;
END;

CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    predicate TEXT NOT NULL,
    value TEXT NOT NULL,
    importance REAL NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    superseded_by INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_key ON facts(subject, predicate, valid_to);
CREATE TABLE IF NOT EXISTS fact_sources (
    fact_id INTEGER NOT NULL REFERENCES facts(id) ON DELETE CASCADE,
    turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    PRIMARY KEY (fact_id, turn_id)
);
CREATE INDEX IF NOT EXISTS fact_sources_turn ON fact_sources(turn_id);
CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts USING fts5(
    subject, predicate, value, content='facts', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts(rowid, subject, predicate, value)
    VALUES (new.id, new.subject, new.predicate, new.value);
END;
CREATE TRIGGER IF NOT EXISTS facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, subject, predicate, value)
    VALUES ('delete', old.id, old.subject, old.predicate, old.value);
END;
CREATE TRIGGER IF NOT EXISTS facts_au AFTER UPDATE OF subject, predicate, value ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, subject, predicate, value)
    VALUES ('delete', old.id, old.subject, old.predicate, old.value);
    INSERT INTO facts_fts(rowid, subject, predicate, value)
    VALUES (new.id, new.subject, new.predicate, new.value);
END;

CREATE TABLE IF NOT EXISTS summaries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- session | profile | insight
    session_id INTEGER REFERENCES sessions(id),
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS summary_sources (
    summary_id INTEGER NOT NULL REFERENCES summaries(id) ON DELETE CASCADE,
    turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    PRIMARY KEY (summary_id, turn_id)
);
CREATE INDEX IF NOT EXISTS summary_sources_turn ON summary_sources(turn_id);

-- Embeddings of turns, keyed by the embedding model so a model change never mixes spaces.
-- kind 'context' is the turn with the one before it; kind 'unit' is one sentence (idx).
CREATE TABLE IF NOT EXISTS turn_vectors (
    turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    idx INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, kind, turn_id, idx)
);
CREATE INDEX IF NOT EXISTS turn_vectors_turn ON turn_vectors(turn_id);

CREATE TABLE IF NOT EXISTS memory_state (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS profile (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- When each stage of a spoken turn happened, in seconds after the user's speech ended
-- (speech end, final transcript, first token, first audio), for --verbose and benchmarks.
CREATE TABLE IF NOT EXISTS turn_timings (
    turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (turn_id, stage)
);
CREATE TABLE IF NOT EXISTS persona_versions (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    doc TEXT NOT NULL
);

-- The agenda (schema 3): what skills scheduled, what to tell the user, what waits for
-- the user's yes. Times are ISO text in UTC (codec.to_iso), so they compare as text.
CREATE TABLE IF NOT EXISTS scheduled (
    id INTEGER PRIMARY KEY,
    skill TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    due_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',   -- a JSON object
    recurrence TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT 'UTC',
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | fired | cancelled
    fired_at TEXT
);
-- The scheduler's question, every tick: which pending items are due?
CREATE INDEX IF NOT EXISTS scheduled_pending ON scheduled(due_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    due_at TEXT,
    late INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    -- The item it came from. No foreign key: a notice is a record of what was said.
    scheduled_id INTEGER
);
CREATE INDEX IF NOT EXISTS notices_pending ON notices(id) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS confirmations (
    id INTEGER PRIMARY KEY,
    skill TEXT NOT NULL,
    action TEXT NOT NULL,
    args TEXT NOT NULL,                   -- a JSON object
    question TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',   -- waiting | confirmed | declined | expired
    answered_at TEXT,
    result TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS confirmations_waiting ON confirmations(id) WHERE status = 'waiting';
"""
