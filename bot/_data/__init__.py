"""Data shipped with the package: the migrations (db) and the question bank (content).

In the repository they are the top-level db/ and content/ folders; setup.py maps them to
bot._data.db and bot._data.content, so a wheel carries them and importlib.resources finds them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


def shipped(name: str) -> Path:
    """Return the folder of shipped data `name` ("db" or "content")."""
    try:
        return Path(str(files(f"bot._data.{name}")))
    except ModuleNotFoundError:
        # A checkout run without installing (PYTHONPATH=.): the folders are next to bot/.
        return _CHECKOUT / name
