-- All-time leaderboard totals per chat and member (sources quiz and daily), kept by
-- AttemptRepo.add in the answer's own transaction: the all-time board of a busy group reads ten
-- rows and counts one index range instead of summing every answer (250,000 in the busiest
-- generated group). on_boards is copied from users (BoardRepo.set_on_boards keeps it) so that
-- the ranking needs no join.
CREATE TABLE board_totals (
    chat_id   INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    on_boards INTEGER NOT NULL,
    correct   INTEGER NOT NULL,
    answered  INTEGER NOT NULL,
    first_id  INTEGER NOT NULL,              -- the member's first counted attempt: last tie-break
    PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;

INSERT INTO board_totals (chat_id, user_id, on_boards, correct, answered, first_id)
SELECT a.chat_id, a.user_id, u.on_boards, SUM(a.correct), COUNT(*), MIN(a.id)
FROM attempts AS a JOIN users AS u ON u.id = a.user_id
WHERE a.source IN ('quiz', 'daily')
GROUP BY a.chat_id, a.user_id;

-- The board's order, so the top ten is an index walk and a member's rank an index count.
CREATE INDEX board_totals_rank
    ON board_totals (chat_id, on_boards, correct DESC, answered, first_id);
CREATE INDEX board_totals_user ON board_totals (user_id);
