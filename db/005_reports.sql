-- Problems users report about a question ("⚠ Report a problem"); operators read them in
-- /admin stats and `studybot content reports`. Times are UTC ISO-8601 strings.

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id TEXT NOT NULL,               -- a bank id; kept if the question is removed
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL,               -- UTC
    closed_at   TEXT                         -- UTC; NULL while the report is open
);
CREATE INDEX reports_open ON reports (closed_at, id);
