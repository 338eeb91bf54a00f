-- Spaced repetition: one FSRS card per (user, question) the user has answered or rated, the
-- log of every rating, each user's retention, and reminders. Times are UTC ISO-8601 strings.

CREATE TABLE cards (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    state       INTEGER NOT NULL CHECK (state IN (1, 2, 3)),  -- fsrs State: learning, review, relearning
    step        INTEGER,                     -- learning or relearning step; NULL in review
    stability   REAL,
    difficulty  REAL,
    due         TEXT NOT NULL,               -- UTC
    last_review TEXT,                        -- UTC
    lapses      INTEGER NOT NULL DEFAULT 0,  -- how many times rated Again
    leech       INTEGER NOT NULL DEFAULT 0 CHECK (leech IN (0, 1)),  -- failed too often: not queued
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, question_id)
);
-- The review queue: a user's cards that are not leeches, most overdue first.
CREATE INDEX cards_due ON cards (user_id, leech, due);

CREATE TABLE review_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    prompt_id   INTEGER REFERENCES prompts (id) ON DELETE SET NULL,
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),  -- fsrs Rating: again .. easy
    source      TEXT NOT NULL,               -- 'daily', 'question', 'review', 'quiz', 'self'
    reviewed_at TEXT NOT NULL,               -- UTC
    due         TEXT NOT NULL                -- UTC: when the card is due after this rating
);
CREATE INDEX review_log_user ON review_log (user_id, reviewed_at);
-- One self-rating per prompt and user: a second press of the buttons changes nothing.
CREATE UNIQUE INDEX review_log_self ON review_log (prompt_id, user_id) WHERE source = 'self';

-- NULL: STUDYBOT_RETENTION.
ALTER TABLE users ADD COLUMN retention REAL CHECK (retention IS NULL OR retention BETWEEN 0.8 AND 0.97);
-- HH:MM in the user's zone; NULL: no reminder.
ALTER TABLE users ADD COLUMN remind_at TEXT;

-- Reminders: at most one per user and local date, claimed before sending (like daily_deliveries).
CREATE TABLE reminders (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    local_date TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'skipped', 'failed')),
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, local_date)
);
