"""`python -m bot.runner`: the runner process (what `studybot runner` runs)."""

from __future__ import annotations

from bot.runner.cli import main as cli_main


def main() -> int:
    """Load the runner's settings from its environment (never .env) and serve."""
    return cli_main("runner", prefix="studybot runner")


if __name__ == "__main__":
    raise SystemExit(main())
