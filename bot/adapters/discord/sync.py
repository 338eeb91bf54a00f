"""Register the application commands only when Discord's copy differs from ours."""

from __future__ import annotations

import logging
from typing import Any

from discord import app_commands
from discord.http import Route

log = logging.getLogger(__name__)


async def local_payload(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    """Return what `tree.sync()` would send for the global commands (translated)."""
    commands = tree.get_commands()
    translator = tree.translator
    if translator is None:
        return [c.to_dict(tree) for c in commands]
    return [await c.get_translated_payload(tree, translator) for c in commands]


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def covers(remote: Any, local: Any) -> bool:
    """Tell whether Discord's copy holds every field we send, with the same value."""
    # Discord answers with fields of its own (id, version, defaults) and leaves out some
    # empty ones: a field we send empty matches one it leaves out or sends empty.
    if isinstance(local, dict):
        return isinstance(remote, dict) and all(
            _empty(remote.get(key)) if _empty(value) else covers(remote.get(key), value)
            for key, value in local.items()
        )
    if isinstance(local, list):
        return (
            isinstance(remote, list)
            and len(remote) == len(local)
            and all(covers(r, v) for r, v in zip(remote, local, strict=True))
        )
    return bool(remote == local)


def unchanged(remote: list[dict[str, Any]], local: list[dict[str, Any]]) -> bool:
    """Tell whether Discord already has exactly these commands."""
    by_key = {(c.get("name"), c.get("type", 1)): c for c in remote}
    if len(by_key) != len(remote) or len(remote) != len(local):
        return False
    return all(covers(by_key.get((c.get("name"), c.get("type", 1))), c) for c in local)


async def sync_commands(tree: app_commands.CommandTree[Any]) -> bool:
    """Overwrite the global commands if they changed; return whether a sync was sent."""
    # A bulk overwrite at every start counts toward Discord's daily command creations.
    application_id = tree.client.application_id
    assert application_id is not None  # noqa: S101 - set by login
    local = await local_payload(tree)
    # Without `with_localizations` Discord leaves out the Chinese texts we send.
    route = Route("GET", "/applications/{application_id}/commands", application_id=application_id)
    remote = await tree.client.http.request(route, params={"with_localizations": "true"})
    if unchanged(list(remote), local):
        log.info("discord: %d application command(s) unchanged", len(local))
        return False
    synced = await tree.sync()
    log.info("discord: %d application command(s) registered", len(synced))
    return True
