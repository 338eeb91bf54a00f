-- This week's and this month's leaderboard totals per group and member, counted in the group's
-- local week and month: the month board of a busy group reads ten rows and counts one index
-- range instead of summing every answer since the 1st (26,000 to 75,000 in the busiest
-- generated group).
--
-- board_periods says, per chat, the zone the totals are counted in and the week and month
-- they hold; the rows of board_period_totals then count every answer (sources quiz and daily)
-- given since those starts. AttemptRepo.add keeps both in the answer's own transaction while
-- the chat's zone is the one recorded; an answer in another zone deletes the chat's
-- board_periods row, and the next board read recounts the current week and month from the
-- answers (as it does for a chat that has none yet: nothing is backfilled here, because local
-- weeks need the zone rules that SQL lacks).
CREATE TABLE board_periods (
    chat_id     INTEGER PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
    zone        TEXT NOT NULL,                -- IANA name the starts below are local to
    week_start  TEXT NOT NULL,                -- UTC ISO instant of local Monday 00:00
    month_start TEXT NOT NULL                 -- UTC ISO instant of the local 1st, 00:00
);

CREATE TABLE board_period_totals (
    chat_id   INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('week', 'month')),
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    on_boards INTEGER NOT NULL,              -- copied from users, kept by set_on_boards
    correct   INTEGER NOT NULL,
    answered  INTEGER NOT NULL,
    first_id  INTEGER NOT NULL,              -- the member's first attempt of the period
    PRIMARY KEY (chat_id, kind, user_id)
) WITHOUT ROWID;

-- The board's order, so the top ten is an index walk and a member's rank an index count.
CREATE INDEX board_period_totals_rank
    ON board_period_totals (chat_id, kind, on_boards, correct DESC, answered, first_id);
CREATE INDEX board_period_totals_user ON board_period_totals (user_id);
