-- Friend streaks (/buddy): the local dates each user answered on, invitations and friendships.

-- Every local date a user answered on, in their zone when answering (the date each answer
-- keeps): a friend streak is the run of dates both friends have here. Written with each answer;
-- the answers given before this migration are copied in once.
CREATE TABLE answer_days (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    local_date TEXT NOT NULL,                       -- YYYY-MM-DD in the user's zone
    PRIMARY KEY (user_id, local_date)
) WITHOUT ROWID;
INSERT OR IGNORE INTO answer_days (user_id, local_date)
    SELECT DISTINCT user_id, local_date FROM attempts;

-- An invitation to a friend streak, posted in a chat both people are in; only the invitee's
-- press answers it, and a pending one lapses at expires_at.
CREATE TABLE buddy_invites (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    inviter_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invitee_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_ref TEXT,                               -- the platform's id of the invitation
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'declined', 'expired')),
    created_at  TEXT NOT NULL,                      -- UTC
    expires_at  TEXT NOT NULL,                      -- UTC
    CHECK (inviter_id <> invitee_id)
);
CREATE INDEX buddy_invites_inviter ON buddy_invites (inviter_id, status);
CREATE INDEX buddy_invites_invitee ON buddy_invites (invitee_id, status);

-- Two friends, the smaller user id first; `since` is the first local date that can count.
CREATE TABLE buddies (
    user_a     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_b     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    since      TEXT NOT NULL,                       -- YYYY-MM-DD: the earlier of their dates
    created_at TEXT NOT NULL,                       -- UTC
    PRIMARY KEY (user_a, user_b),
    CHECK (user_a < user_b)
) WITHOUT ROWID;
CREATE INDEX buddies_b ON buddies (user_b);
