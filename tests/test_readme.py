"""The README's commands are the ones CI runs, and its install gets the CPU build of torch."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def code_blocks(after: str) -> list[str]:
    """Return the sh code blocks of the README section whose heading starts with `after`."""
    section = README.split(f"\n## {after}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.DOTALL)


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    install = code_blocks("Quick start")[0].splitlines()[0]
    test = code_blocks("Development")[0].strip()
    assert install in ci
    assert test in ci


def test_install_takes_torch_from_the_cpu_index_pinned_to_the_cpu_build() -> None:
    install = code_blocks("Quick start")[0].splitlines()[0]
    torch_step, rest = install.split(" && ")[1:]
    # torch alone comes from the CPU index (so nothing else is looked up there) ...
    assert f"--extra-index-url {CPU_INDEX}" in torch_step and "--no-deps" in torch_step
    assert CPU_INDEX not in rest
    # ... and only a "+cpu" build satisfies the constraint both steps use.
    pins = [
        line
        for line in (ROOT / "constraints-cpu.txt").read_text().splitlines()
        if line.startswith("torch")
    ]
    assert len(pins) == 1 and re.fullmatch(r"torch==\d+\.\d+\.\d+\+cpu", pins[0])
    assert "-c constraints-cpu.txt" in torch_step and "-c constraints-cpu.txt" in rest
    assert f"`{pins[0]}`" in README


def test_running_on_discord_says_how_to_create_invite_and_configure_the_bot() -> None:
    section = README.split("\n## Running on Discord", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "applications.commands",
        "Send Messages",
        "Embed Links",
        "Attach Files",
        "Use Slash Commands",
        "https://discord.com/oauth2/authorize?client_id=",
        "DISCORD_BOT_TOKEN",
        "DISCORD_API_BASE_URL",
    ):
        assert needed in section, needed
    # The invite's permissions integer is exactly the permissions the section names.
    bits = {"View Channels": 1 << 10, "Send Messages": 1 << 11, "Embed Links": 1 << 14}
    bits |= {"Attach Files": 1 << 15, "Use Slash Commands": 1 << 31}
    match = re.search(r"permissions=(\d+)", section)
    assert match is not None and int(match.group(1)) == sum(bits.values())


DISCORD_COMMANDS = [
    "help",
    "daily",
    "question",
    "topics",
    "streak",
    "stats",
    "subscribe",
    "unsubscribe",
    "timezone",
    "lang",
    "run",
    "quiz",
    "stopquiz",
    "leaderboard",
]


def test_commands_table_has_a_discord_column_naming_every_discord_command() -> None:
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| command |"))
    assert lines[start].endswith("| Discord |")
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :]))
    discord_column = " ".join(row.rstrip(" |").rsplit(" | ", 1)[-1] for row in rows)
    for name in DISCORD_COMMANDS:
        assert f"`/{name}" in discord_column, name
    assert '"Run code"' in discord_column


def test_env_example_lists_the_discord_variables() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "\nDISCORD_BOT_TOKEN=\n" in example
    assert "\nDISCORD_API_BASE_URL=https://discord.com/api/v10\n" in example
