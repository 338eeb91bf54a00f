-- Group quiz sessions: a session asks N questions as native quiz polls, one after another.
-- A poll_answer carries no chat, so quiz_polls maps the platform's poll id back to its session.

CREATE TABLE quiz_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id      INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    starter_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic        TEXT,                       -- a topic id, or NULL for every topic
    questions    TEXT NOT NULL,              -- JSON list of question ids, in asking order
    language     TEXT NOT NULL CHECK (language IN ('zh', 'en')),
    open_seconds INTEGER NOT NULL,           -- each poll's open period
    position     INTEGER NOT NULL DEFAULT 0, -- how many polls were claimed so far
    next_at      TEXT,                       -- UTC: when the next poll is due after an early close
    status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped')),
    started_at   TEXT NOT NULL,
    ended_at     TEXT
);
-- One running session per chat, enforced by the database itself.
CREATE UNIQUE INDEX quiz_sessions_running ON quiz_sessions (chat_id) WHERE status = 'running';
CREATE INDEX quiz_sessions_status ON quiz_sessions (status);

CREATE TABLE quiz_polls (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id    INTEGER NOT NULL REFERENCES quiz_sessions (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,          -- 0-based index in the session
    question_id   TEXT NOT NULL,
    prompt_id     INTEGER REFERENCES prompts (id) ON DELETE SET NULL,
    option_order  TEXT NOT NULL,             -- JSON: shown option i is the bank's option order[i]
    correct       INTEGER NOT NULL,          -- the correct option as shown (after shuffling)
    poll_ref      TEXT,                      -- the platform's poll id, once sent
    message_ref   TEXT,                      -- the platform's message id of the poll
    -- sending: claimed, being sent (a crash here never resends: at most one poll per position);
    -- retry: the send surely failed and may be tried again; open; closed; lost: never sent.
    status        TEXT NOT NULL CHECK (status IN ('sending', 'retry', 'open', 'closed', 'lost')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    sent_at       TEXT,                      -- UTC, as the platform reported it
    deadline      TEXT,                      -- UTC: sent_at + open_seconds
    closed_at     TEXT,
    UNIQUE (session_id, position)
);
CREATE UNIQUE INDEX quiz_polls_ref ON quiz_polls (poll_ref) WHERE poll_ref IS NOT NULL;

-- Counted answers only: the first vote of a user on an open poll.
CREATE TABLE quiz_answers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    poll_id     INTEGER NOT NULL REFERENCES quiz_polls (id) ON DELETE CASCADE,
    session_id  INTEGER NOT NULL REFERENCES quiz_sessions (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chosen      INTEGER NOT NULL,            -- as shown
    correct     INTEGER NOT NULL CHECK (correct IN (0, 1)),
    elapsed_ms  INTEGER NOT NULL,            -- from the poll's send time
    answered_at TEXT NOT NULL,
    UNIQUE (poll_id, user_id)
);
CREATE INDEX quiz_answers_session ON quiz_answers (session_id, user_id);

-- Leaderboards count attempts per chat and period.
CREATE INDEX attempts_chat_time ON attempts (chat_id, answered_at, user_id);
CREATE INDEX attempts_user_time ON attempts (user_id, answered_at);

-- 0: the user left the leaderboards (/leaderboard off); their answers still count for them.
ALTER TABLE users ADD COLUMN on_boards INTEGER NOT NULL DEFAULT 1 CHECK (on_boards IN (0, 1));
