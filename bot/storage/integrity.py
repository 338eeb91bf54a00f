"""Damage to the database file: a bounded check at start, and one clear error when met later."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from bot.errors import DatabaseDamaged

log = logging.getLogger(__name__)

# quick_check reads every page once (b-tree structure, freelist, record formats, NOT NULL):
# about one sequential read of the file, milliseconds for this bot's few megabytes and about a
# second per gigabyte on an SSD. It skips one thing, whether each index agrees with its table,
# which is what a byte flipped inside a row breaks, so integrity_check follows in what is left
# of the same time. The time bound is what makes this safe for a large or slow database: the
# check stops there and start-up goes on (saying so), having found nothing; reading costs no
# memory beyond SQLite's page cache, and the file is only read.
QUICK_CHECK_S = 5.0
_PROGRESS_OPS = 10_000  # SQLite VM steps between looks at the clock
_DAMAGE_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
HINT = (
    "run `studybot db check` to see the damage, and `studybot db restore PATH` to put back "
    "a backup (`studybot db --help`)"
)


def is_damage(error: BaseException) -> bool:
    """Tell whether an SQLite error means the file itself is damaged.

    Garbage that is not UTF-8, in a message of SQLite's or in a text column, is damage too:
    the bot writes only valid text.
    """
    if isinstance(error, UnicodeDecodeError):
        return True
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return int(code) & 0xFF in _DAMAGE_CODES
    text = str(error)
    return "malformed" in text or "not a database" in text


def quick_check(path: Path, limit_s: float = QUICK_CHECK_S) -> None:
    """Raise DatabaseDamaged if `PRAGMA quick_check` finds damage within `limit_s` seconds."""
    deadline = time.monotonic() + limit_s
    stopped = False

    def progress() -> int:
        nonlocal stopped
        stopped = time.monotonic() > deadline
        return int(stopped)  # non-zero interrupts the statement

    conn = sqlite3.connect(path)
    conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
    try:
        conn.set_progress_handler(progress, _PROGRESS_OPS)
        problems: list[str] = []
        try:
            for pragma in ("quick_check(5)", "integrity_check(5)"):
                rows = conn.execute(f"PRAGMA {pragma}").fetchall()
                problems = [str(r[0]) for r in rows if r[0] != "ok"]
                if problems:
                    break
        except sqlite3.OperationalError:
            if not stopped:
                raise
            log.warning(
                "the start-up check of %s stopped after %.0f s without finding damage; "
                "`studybot db check` checks all of it",
                path,
                limit_s,
            )
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        if not is_damage(e):
            raise
        raise DatabaseDamaged(f"the database {path.absolute()} is damaged ({e}): {HINT}") from e
    finally:
        conn.close()
    if problems:
        # SQLite may report over several lines ("*** in database main ***\nPage 56: …"): the
        # start-up refusal is one line.
        first = " ".join(problems[0].split())
        raise DatabaseDamaged(f"the database {path.absolute()} is damaged ({first}): {HINT}")
