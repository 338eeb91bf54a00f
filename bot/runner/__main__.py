"""`python -m bot.runner`: the runner process (what `studybot runner` runs)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from bot.config import Settings, settings_errors
from bot.runner.cli import runner_main


def main() -> int:
    """Load settings from the environment and serve."""
    try:
        settings = Settings()
    except ValidationError as e:
        for line in settings_errors(e):
            print(f"studybot runner: {line}", file=sys.stderr)
        return 2
    return runner_main(settings)


if __name__ == "__main__":
    raise SystemExit(main())
