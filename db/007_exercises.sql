-- Coding exercises: each user's progress per exercise and the exercise they are working on.
-- A first solve is also one attempts row (source 'exercise', question_id 'exercise:<id>'),
-- written in the same transaction that sets solved_at, so it counts for the streak, the
-- activity of /stats and the leaderboards exactly once.
CREATE TABLE exercise_progress (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exercise_id TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,   -- graded submissions
    hints_used  INTEGER NOT NULL DEFAULT 0,
    first_shown TEXT NOT NULL,                -- UTC
    solved_at   TEXT,                         -- UTC, the first solve
    gave_up_at  TEXT,                         -- UTC, the first /giveup
    PRIMARY KEY (user_id, exercise_id)
) WITHOUT ROWID;

CREATE TABLE exercise_current (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    exercise_id TEXT NOT NULL,
    shown_at    TEXT NOT NULL,                -- UTC: when it was last shown
    -- The highest prompt id when it was shown: a question shown in the chat after it has a
    -- higher id, and then /hint is about that question (clock-independent).
    prompt_mark INTEGER NOT NULL DEFAULT 0
);
