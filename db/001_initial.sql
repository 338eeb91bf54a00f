-- Users, chats, questions shown, attempts, daily deliveries and streaks.
-- Times are UTC ISO-8601 strings; local dates are YYYY-MM-DD in the user's or chat's zone,
-- stored when the event happens and never recomputed.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,               -- 'telegram', 'console', later 'discord'
    external_id TEXT NOT NULL,               -- the platform's own user id
    name        TEXT NOT NULL DEFAULT '',
    language    TEXT CHECK (language IN ('zh', 'en')),   -- NULL: not chosen yet
    timezone    TEXT,                        -- IANA name; NULL: the chat's or the default
    created_at  TEXT NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE chats (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    platform     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    type         TEXT NOT NULL,              -- 'private', 'group', 'supergroup', 'channel', 'console'
    title        TEXT NOT NULL DEFAULT '',
    language     TEXT CHECK (language IN ('zh', 'en')),
    timezone     TEXT,
    daily_time   TEXT NOT NULL,              -- HH:MM local
    subscribed   INTEGER NOT NULL DEFAULT 0 CHECK (subscribed IN (0, 1)),
    topic_filter TEXT,                       -- a topic id, or NULL for all topics
    run_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (run_enabled IN (0, 1)),
    created_at   TEXT NOT NULL,
    UNIQUE (platform, external_id)
);

-- Every question shown in a chat; buttons carry the prompt id, so answers find their question.
CREATE TABLE prompts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    kind        TEXT NOT NULL,               -- 'daily', 'question', 'review', 'quiz'
    language    TEXT NOT NULL CHECK (language IN ('zh', 'en')),
    message_ref TEXT,                        -- the platform's message id, once sent
    created_at  TEXT NOT NULL
);
CREATE INDEX prompts_chat ON prompts (chat_id, question_id);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    prompt_id   INTEGER REFERENCES prompts (id) ON DELETE SET NULL,
    question_id TEXT NOT NULL,
    source      TEXT NOT NULL,               -- 'daily', 'question', 'review', 'quiz'
    chosen      INTEGER NOT NULL,
    correct     INTEGER NOT NULL CHECK (correct IN (0, 1)),
    answered_at TEXT NOT NULL,               -- UTC
    local_date  TEXT NOT NULL,               -- the user's local date when answering
    UNIQUE (prompt_id, user_id)
);
CREATE INDEX attempts_user ON attempts (user_id, local_date);

CREATE TABLE daily_deliveries (
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,               -- the chat's local date of the delivery
    question_id TEXT NOT NULL,
    prompt_id   INTEGER REFERENCES prompts (id) ON DELETE SET NULL,
    -- sending: claimed, being sent (a crash here never resends: at most one a day);
    -- retry: the send surely failed, the next attempt may claim it again;
    -- sent, failed: done for the day.
    status      TEXT NOT NULL CHECK (status IN ('sending', 'retry', 'sent', 'failed')),
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT,
    PRIMARY KEY (chat_id, local_date)
);

CREATE TABLE streaks (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    current    INTEGER NOT NULL DEFAULT 0,
    longest    INTEGER NOT NULL DEFAULT 0,
    last_date  TEXT,                         -- last local date that counted
    freezes    INTEGER NOT NULL DEFAULT 0 CHECK (freezes BETWEEN 0 AND 2),
    freezes_used INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
