"""Start the console: the core, a local runner for /run, and the read–eval–print loop."""

from __future__ import annotations

from bot.adapters.console import Console
from bot.app import open_core, open_runs
from bot.config import Settings

# Runs per minute for the console's own local runner: one person at a terminal is not a crowd
# to share a runner fairly among (a separate runner at STUDYBOT_RUNNER_URL keeps its limit).
CONSOLE_RUNS_PER_MINUTE = 1_000_000


async def console_main(settings: Settings) -> int:
    """Run the console until /quit or end of input; the runner warms up meanwhile."""
    # The terminal is the conversation: the local runner logs only warnings there.
    local = settings.model_copy(
        update={"log_level": "WARNING", "run_rate_per_minute": CONSOLE_RUNS_PER_MINUTE}
    )
    async with open_core(settings) as core, open_runs(local, wait=False) as runs:
        await Console(core, runs=runs).run()
    return 0
