"""`python -m bot.runner`: the runner process (what `studybot runner` runs)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from bot.config import RunnerSettings, settings_errors
from bot.runner.cli import runner_main


def main() -> int:
    """Load the runner's settings from its environment (never .env) and serve."""
    try:
        settings = RunnerSettings()
    except ValidationError as e:
        for line in settings_errors(e):
            print(f"studybot runner: {line}", file=sys.stderr)
        return 2
    return runner_main(settings)


if __name__ == "__main__":
    raise SystemExit(main())
