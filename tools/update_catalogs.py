"""Extract the bot's messages and merge them into bot/locales/{zh,en}/LC_MESSAGES/messages.po.

Run after changing user-facing strings: `python tools/update_catalogs.py`; then translate the
new empty entries in the zh catalog (tests fail while any zh entry is untranslated).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POT = ROOT / "bot" / "locales" / "messages.pot"


def main() -> int:
    """Extract messages.pot and update each language's catalog from it."""
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-k",
            "_:2",
            "-k",
            "ngettext:2,3",
            "-k",
            "N_",
            "--no-default-keywords",
            "--no-location",
            "--omit-header",
            "-o",
            str(POT),
            "bot",
        ],
        cwd=ROOT,
        check=True,
    )
    for lang in ("zh", "en"):
        po = ROOT / "bot" / "locales" / lang / "LC_MESSAGES" / "messages.po"
        action = "update" if po.exists() else "init"
        subprocess.run(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                action,
                "-i",
                str(POT),
                "-d",
                str(ROOT / "bot" / "locales"),
                "-l",
                lang,
                "-D",
                "messages",
                *(["--no-fuzzy-matching", "--ignore-obsolete"] if action == "update" else []),
            ],
            cwd=ROOT,
            check=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
