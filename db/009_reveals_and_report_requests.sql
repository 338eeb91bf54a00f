-- A group's reference answer is posted once: when, so that a restart does not post it again.
ALTER TABLE prompts ADD COLUMN revealed_at TEXT;   -- UTC, NULL until posted in the chat

-- "What is wrong?" messages waiting for their reply, so that a restart loses none.
CREATE TABLE report_requests (
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_ref TEXT NOT NULL,                     -- the platform's id of the asking message
    prompt_id   INTEGER REFERENCES prompts (id) ON DELETE CASCADE,
    item        TEXT NOT NULL,                     -- a question id or 'exercise:<id>'
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,                     -- UTC
    PRIMARY KEY (chat_id, message_ref)
) WITHOUT ROWID;
CREATE INDEX report_requests_age ON report_requests (created_at);
