"""Start the console: the core, a local runner for /run, and the read–eval–print loop."""

from __future__ import annotations

from bot.adapters.console import Console
from bot.app import open_core, open_runs
from bot.config import Settings


async def console_main(settings: Settings) -> int:
    """Run the console until /quit or end of input."""
    # The terminal is the conversation: the local runner logs only warnings there.
    quiet = settings.model_copy(update={"log_level": "WARNING"})
    async with open_core(settings) as core, open_runs(quiet) as runs:
        await Console(core, runs=runs).run()
    return 0
