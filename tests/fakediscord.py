"""A small fake Discord API (REST + gateway) that the real discord.py client can talk to.

It serves the REST routes the bot uses under `base_url` (what DISCORD_API_BASE_URL points at)
and a gateway websocket speaking plain JSON text frames: HELLO, IDENTIFY → READY (with
resume_gateway_url) and GUILD_CREATE, heartbeats and their ACKs, RESUME. Tests dispatch
INTERACTION_CREATE for slash commands, buttons, modals, context menus and autocomplete, and
read what the bot sent from the recorded requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

from aiohttp import WSMsgType, web

JSONDict = dict[str, Any]

DEFAULT_TOKEN: Final = "MTAwMDAwMDAwMDAwMDAwMDAx.fake.discord-test-token"  # noqa: S105
APP_ID: Final = 100000000000000001
BOT_ID: Final = APP_ID
GUILD_ID: Final = 200000000000000001
CHANNEL_ID: Final = 300000000000000001
OTHER_CHANNEL_ID: Final = 300000000000000002
ATTACHMENT_LIMIT: Final = 10 * 1024 * 1024
EPHEMERAL: Final = 64
# Permission bits.
MANAGE_GUILD: Final = 0x20
ADMINISTRATOR: Final = 0x8
MEMBER_PERMISSIONS: Final = 0x0000_0000_0004_0C40  # view, send, read history, use commands
BOT_PERMISSIONS: Final = MEMBER_PERMISSIONS | 0x4000 | 0x8000  # + embed links, attach files


@dataclass
class Recorded:
    """One REST request the bot made."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Sent:
    """A message as the fake keeps it (channel posts, interaction responses, followups)."""

    payload: JSONDict
    ephemeral: bool = False
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def content(self) -> str:
        """Return the message text."""
        return str(self.payload.get("content") or "")

    @property
    def embeds(self) -> list[JSONDict]:
        """Return the message's embeds."""
        return list(self.payload.get("embeds") or [])

    @property
    def text(self) -> str:
        """Return the content and every embed's title, description and fields, joined."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for f in embed.get("fields") or []:
                parts += [f.get("name", ""), f.get("value", "")]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    @property
    def buttons(self) -> list[JSONDict]:
        """Return every button of the message, row by row."""
        return [
            c
            for row in self.payload.get("components") or []
            for c in row.get("components", [])
            if c.get("type") == 2
        ]

    @property
    def id(self) -> int:
        """Return the message id."""
        return int(self.payload["id"])


@dataclass
class Interaction:
    """An interaction the fake dispatched, and what the bot answered to it."""

    id: int
    token: str
    payload: JSONDict
    callbacks: list[JSONDict] = field(default_factory=list)
    sent_at: float = field(default_factory=time.monotonic)  # when it went to the bot
    original: Sent | None = None
    followups: list[Sent] = field(default_factory=list)

    @property
    def replies(self) -> list[Sent]:
        """Return the original response (if any) and then the followups."""
        return ([self.original] if self.original else []) + self.followups


def user(user_id: int, name: str, *, bot: bool = False) -> JSONDict:
    """Return a user payload."""
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


class FakeDiscord:
    """The fake Discord API; `async with FakeDiscord() as api:` serves it on 127.0.0.1."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.interactions: dict[str, Interaction] = {}
        self.channel_messages: dict[int, list[Sent]] = {}
        self.commands: list[JSONDict] = []
        self.gone_channels: set[int] = set()  # 404 Unknown Channel
        self.forbidden_channels: set[int] = set()  # 403 Missing Permissions
        self.fail_callbacks = 0  # the next N interaction callbacks answer 400
        self.identified = asyncio.Event()  # every shard identified
        self.identify: JSONDict | None = None  # the last IDENTIFY
        self.identifies: list[JSONDict] = []
        self.shards = 1  # the shard count GET /gateway/bot recommends
        self.max_concurrency = 1
        self.heartbeats = 0
        self._ids = itertools.count(900000000000000001)
        self._changed = asyncio.Condition()
        self._wss: dict[int, web.WebSocketResponse] = {}  # by shard id
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.gateway_connects = 0
        self.names: dict[int, str] = {}  # display names of users, by id (default: user<id>)
        self.bots: set[int] = {BOT_ID}  # users that are bots (a user option resolves them so)

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for ws in list(self._wss.values()):
            if not ws.closed:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """Return the REST base, as DISCORD_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Return the gateway's URL, as GET /gateway/bot gives it."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> int:
        """Return a fresh snowflake."""
        return next(self._ids)

    # -- waiting --------------------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, check: Callable[[], Any], wait_s: float = 10.0) -> Any:
        """Wait until `check()` returns something truthy (re-checked after every request)."""

        async def wait() -> Any:
            async with self._changed:
                while not (found := check()):
                    await self._changed.wait()
                return found

        return await asyncio.wait_for(wait(), wait_s)

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        """Return the recorded requests whose method matches and path matches `pattern`."""
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    # -- REST -----------------------------------------------------------------------------
    def _json(self, data: Any, status: int = 200) -> web.Response:
        return web.Response(
            body=json.dumps(data).encode(),
            status=status,
            headers={"Content-Type": "application/json"},
        )

    def _error(self, status: int, message: str, code: int) -> web.Response:
        return self._json({"message": message, "code": code}, status)

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        body: Any = None
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                name = getattr(part, "name", None) or ""
                data = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    body = json.loads(data)
                else:
                    files[name] = (getattr(part, "filename", None) or "", bytes(data))
        recorded = Recorded(request.method, path, dict(request.query), body, files)
        self.requests.append(recorded)
        try:
            return await self._route(request, recorded)
        finally:
            await self._notify()

    async def _route(self, request: web.Request, r: Recorded) -> web.Response:
        webhook = re.match(r"/(?:webhooks|interactions)/", r.path) is not None
        if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, "401: Unauthorized", 0)
        m, p = r.method, r.path
        if m == "GET" and p == "/users/@me":
            return self._json(user(BOT_ID, "studybot", bot=True))
        if m == "GET" and p == "/oauth2/applications/@me":
            return self._json(
                {
                    "id": str(APP_ID),
                    "name": "studybot",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user(1, "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "summary": "",
                }
            )
        if m == "GET" and p == "/gateway/bot":
            return self._json(
                {
                    "url": self.gateway_url,
                    "shards": self.shards,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 0,
                        "max_concurrency": self.max_concurrency,
                    },
                }
            )
        if m == "PUT" and p == f"/applications/{APP_ID}/commands":
            self.commands = [
                {
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    **c,
                    "id": str(self.next_id()),
                    "application_id": str(APP_ID),
                    "version": "1",
                }
                for c in r.json
            ]
            return self._json(self.commands)
        if m == "GET" and p == f"/applications/{APP_ID}/commands":
            return self._json(self.commands)
        if m == "POST" and p == "/users/@me/channels":
            recipient = int(r.json["recipient_id"])
            return self._json(
                {
                    "id": str(dm_channel(recipient)),
                    "type": 1,
                    "recipients": [user(recipient, f"user{recipient}")],
                    "last_message_id": None,
                }
            )
        if found := path_match(r"/interactions/(\d+)/([^/]+)/callback", p):
            return self._callback(found[1], r)
        if found := path_match(rf"/webhooks/{APP_ID}/([^/]+)/messages/@original", p):
            return self._original(found[0], r)
        if found := path_match(rf"/webhooks/{APP_ID}/([^/]+)", p):
            return self._followup(found[0], r)
        if found := path_match(r"/channels/(\d+)/messages", p):
            return self._channel_post(int(found[0]), r)
        if found := path_match(r"/channels/(\d+)/messages/(\d+)", p):
            return self._channel_edit(int(found[0]), int(found[1]), r)
        return self._error(404, f"404: Not Found ({m} {p})", 0)

    def _message(
        self, channel_id: int, body: JSONDict, files: dict[str, tuple[str, bytes]], mid: int = 0
    ) -> JSONDict:
        attachments = [
            {
                "id": str(self.next_id()),
                "filename": filename,
                "size": len(data),
                "url": f"http://127.0.0.1:{self.port}/files/{filename}",
                "proxy_url": f"http://127.0.0.1:{self.port}/files/{filename}",
            }
            for filename, data in files.values()
        ]
        return {
            "id": str(mid or self.next_id()),
            "channel_id": str(channel_id),
            "author": user(BOT_ID, "studybot", bot=True),
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": attachments,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
        }

    def _channel_post(self, channel_id: int, r: Recorded) -> web.Response:
        if channel_id in self.gone_channels:
            return self._error(404, "Unknown Channel", 10003)
        if channel_id in self.forbidden_channels:
            return self._error(403, "Missing Permissions", 50013)
        message = self._message(channel_id, r.json or {}, r.files)
        self.channel_messages.setdefault(channel_id, []).append(Sent(message, files=r.files))
        return self._json(message)

    def _channel_edit(self, channel_id: int, message_id: int, r: Recorded) -> web.Response:
        for sent in self.channel_messages.get(channel_id, []):
            if sent.id == message_id:
                if r.method == "PATCH":
                    sent.payload.update({k: v for k, v in (r.json or {}).items() if v is not None})
                return self._json(sent.payload)
        return self._error(404, "Unknown Message", 10008)

    def _callback(self, token: str, r: Recorded) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None:
            return self._error(404, "Unknown interaction", 10062)
        if interaction.callbacks:
            return self._error(400, "Interaction has already been acknowledged.", 40060)
        if self.fail_callbacks:
            self.fail_callbacks -= 1
            return self._error(400, "Invalid Form Body", 50035)
        body = r.json or {}
        interaction.callbacks.append(body)
        kind = int(body["type"])
        data = body.get("data") or {}
        flags = int(data.get("flags") or 0)
        result: JSONDict = {"id": str(interaction.id), "type": interaction.payload["type"]}
        channel = int(interaction.payload["channel_id"])
        if kind in (4, 5):  # a message, or "thinking…" edited later
            message = self._message(channel, data, r.files)
            interaction.original = Sent(message, bool(flags & EPHEMERAL), dict(r.files))
            result |= {
                "response_message_id": message["id"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & EPHEMERAL),
            }
        elif kind == 6:  # a component's message, to be edited through @original later
            interaction.original = Sent(dict(interaction.payload.get("message") or {}))
        elif kind == 7:  # a component's message updated in place
            source = interaction.payload.get("message") or {}
            message = {**source, **{k: v for k, v in data.items() if k != "flags"}}
            interaction.original = Sent(message, False, dict(r.files))
        return self._json({"interaction": result, "resource": {"type": kind}})

    def _original(self, token: str, r: Recorded) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.original is None:
            return self._error(404, "Unknown Message", 10008)
        if r.method == "PATCH":
            body = r.json or {}
            payload = interaction.original.payload
            payload.update({k: v for k, v in body.items() if k != "attachments"})
            kept = {a.get("id") for a in body.get("attachments") or [] if "id" in a}
            new = self._message(0, {}, r.files)["attachments"]
            old = [a for a in payload.get("attachments") or [] if a["id"] in kept]
            payload["attachments"] = old + new
            interaction.original.files |= r.files
        if r.method == "DELETE":
            interaction.original = None
            return web.Response(status=204)
        return self._json(interaction.original.payload)

    def _followup(self, token: str, r: Recorded) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or r.method != "POST":
            return self._error(404, "Unknown Webhook", 10015)
        body = r.json or {}
        channel = int(interaction.payload["channel_id"])
        message = self._message(channel, body, r.files)
        sent = Sent(message, bool(int(body.get("flags") or 0) & EPHEMERAL), dict(r.files))
        interaction.followups.append(sent)
        return self._json(message)

    # -- gateway --------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_connects += 1
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            op = data.get("op")
            if op == 1:
                self.heartbeats += 1
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                if data["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                await self._identified(ws, data["d"])
            elif op == 6:
                await self._send(ws, "RESUMED", {})
        return ws

    async def _identified(self, ws: web.WebSocketResponse, identify: JSONDict) -> None:
        shard = int((identify.get("shard") or [0, 1])[0])
        self.identify = identify
        self.identifies.append(identify)
        self._wss[shard] = ws
        owner = shard == self.shard_of(GUILD_ID)
        await self._send(ws, "READY", self._ready(shard, with_guild=owner))
        if owner:
            await self._send(ws, "GUILD_CREATE", self.guild())
        if len(self._wss) >= self.shards:
            self.identified.set()
        await self._notify()

    def shard_of(self, guild_id: int | None) -> int:
        """Return the shard that receives a guild's events (DMs go to shard 0)."""
        return 0 if guild_id is None else (guild_id >> 22) % self.shards

    async def _send(self, ws: web.WebSocketResponse, event: str, data: JSONDict) -> None:
        frame = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        await ws.send_str(json.dumps(frame))

    async def _dispatch(self, event: str, data: JSONDict, shard: int = 0) -> None:
        ws = self._wss.get(shard)
        assert ws is not None, f"shard {shard} of the bot is not connected to the gateway"
        await self._send(ws, event, data)

    def _ready(self, shard: int, *, with_guild: bool) -> JSONDict:
        return {
            "v": 10,
            "user": user(BOT_ID, "studybot", bot=True),
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}] if with_guild else [],
            "session_id": f"fake-session-{shard}",
            "resume_gateway_url": self.gateway_url,
            "shard": [shard, self.shards],
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    def guild(self) -> JSONDict:
        """Return the one guild's payload: two text channels and the @everyone role."""
        channels = [
            {
                "id": str(c),
                "type": 0,
                "name": f"study-{i}",
                "position": i,
                "guild_id": str(GUILD_ID),
            }
            for i, c in enumerate((CHANNEL_ID, OTHER_CHANNEL_ID))
        ]
        return {
            "id": str(GUILD_ID),
            "name": "Study server",
            "icon": None,
            "owner_id": "1",
            "region": "",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [
                {
                    "id": str(GUILD_ID),
                    "name": "@everyone",
                    "permissions": str(MEMBER_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                }
            ],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "member_count": 3,
            "members": [],
            "channels": channels,
            "threads": [],
            "preferred_locale": "en-US",
            "large": False,
            "unavailable": False,
        }

    # -- interactions ---------------------------------------------------------------------
    async def interact(
        self,
        kind: int,
        data: JSONDict,
        *,
        user_id: int,
        name: str = "",
        guild: bool = False,
        channel_id: int | None = None,
        permissions: int = MEMBER_PERMISSIONS,
        locale: str = "en-US",
        message: JSONDict | None = None,
    ) -> Interaction:
        """Dispatch INTERACTION_CREATE from a user in the server's channel or in their DM."""
        interaction_id = self.next_id()
        token = f"itoken-{interaction_id}"
        who = user(user_id, name or self.names.get(user_id, f"user{user_id}"))
        payload: JSONDict = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": str(BOT_PERMISSIONS),
            "attachment_size_limit": ATTACHMENT_LIMIT,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)}
            if guild
            else {"1": str(user_id)},
        }
        if guild:
            channel = channel_id or CHANNEL_ID
            payload |= {
                "guild_id": str(GUILD_ID),
                "guild_locale": "en-US",
                "channel_id": str(channel),
                "channel": {"id": str(channel), "type": 0, "guild_id": str(GUILD_ID), "name": "s"},
                "member": {
                    "user": who,
                    "roles": [],
                    "permissions": str(permissions),
                    "joined_at": _now(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                },
                "context": 0,
            }
        else:
            channel = channel_id or dm_channel(user_id)
            payload |= {
                "channel_id": str(channel),
                "channel": {"id": str(channel), "type": 1, "recipients": [who]},
                "user": who,
                "context": 1,
            }
        if message is not None:
            payload["message"] = message
        interaction = Interaction(interaction_id, token, payload)
        self.interactions[token] = interaction
        interaction.sent_at = time.monotonic()
        await self._dispatch(
            "INTERACTION_CREATE", payload, self.shard_of(GUILD_ID if guild else None)
        )
        return interaction

    def command_data(self, name: str, kind: int, **options: Any) -> JSONDict:
        """Return the data of a registered application command with its option values."""
        registered = next(
            (c for c in self.commands if c["name"] == name and c.get("type", 1) == kind), None
        )
        assert registered is not None, f"no registered command {name!r}"
        data: JSONDict = {"id": registered["id"], "name": name, "type": kind}
        typed = {o["name"]: o["type"] for o in registered.get("options") or []}
        given = [{"name": k, "type": typed[k], "value": v} for k, v in options.items()]
        if given:
            data["options"] = given
        # A user option (type 6) carries the id; the user comes in "resolved", as Discord sends.
        users = {str(o["value"]): int(o["value"]) for o in given if o["type"] == 6}
        if users:
            for o in given:
                if o["type"] == 6:
                    o["value"] = str(o["value"])
            data["resolved"] = {
                "users": {
                    key: user(uid, self.names.get(uid, f"user{uid}"), bot=uid in self.bots)
                    for key, uid in users.items()
                }
            }
        return data

    async def slash(self, name: str, *, user_id: int, **kwargs: Any) -> Interaction:
        """Invoke a slash command; keyword arguments that are command options become options."""
        keys = {"name", "guild", "channel_id", "permissions", "locale"}
        options = {k: v for k, v in kwargs.items() if k not in keys}
        rest = {k: v for k, v in kwargs.items() if k in keys}
        data = self.command_data(name, 1, **options)
        return await self.interact(2, data, user_id=user_id, **rest)

    async def autocomplete(
        self, name: str, option: str, value: str, *, user_id: int, **kwargs: Any
    ) -> Interaction:
        """Type into an option with autocomplete."""
        data = self.command_data(name, 1, **{option: value})
        data["options"][0]["focused"] = True
        return await self.interact(4, data, user_id=user_id, **kwargs)

    async def click(
        self, message: Sent, custom_id: str, *, user_id: int, **kwargs: Any
    ) -> Interaction:
        """Press a button of a message."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self.interact(
            3, data, user_id=user_id, message=dict(message.payload), **kwargs
        )

    async def submit(
        self, custom_id: str, values: dict[str, str], *, user_id: int, **kwargs: Any
    ) -> Interaction:
        """Submit a modal with text input values by custom id."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return await self.interact(5, data, user_id=user_id, **kwargs)

    async def message_command(
        self, name: str, target: JSONDict, *, user_id: int, **kwargs: Any
    ) -> Interaction:
        """Invoke a message context-menu command on `target` (a message payload)."""
        data = self.command_data(name, 3)
        data["target_id"] = target["id"]
        data["resolved"] = {"messages": {target["id"]: target}}
        return await self.interact(2, data, user_id=user_id, **kwargs)

    def user_message(self, text: str, *, user_id: int, channel_id: int = CHANNEL_ID) -> JSONDict:
        """Return a message payload written by a user (a context menu's target)."""
        message = self._message(channel_id, {"content": text}, {})
        message["author"] = user(user_id, f"user{user_id}")
        return message

    def acknowledged_after(self, interaction: Interaction) -> float:
        """Return the seconds from dispatching an interaction to the bot's first callback."""
        path = f"/interactions/{interaction.id}/{interaction.token}/callback"
        first = min(r.at for r in self.requests if r.path == path)
        return first - interaction.sent_at

    async def answered(self, interaction: Interaction, wait_s: float = 10.0) -> Interaction:
        """Wait until the bot acknowledged an interaction."""
        await self.wait_for(lambda: interaction.callbacks, wait_s)
        return interaction

    async def reply(self, interaction: Interaction, wait_s: float = 10.0) -> Sent:
        """Wait for the final visible reply: a message, or a deferral edited afterwards."""

        def done() -> Sent | None:
            if not interaction.callbacks:
                return None
            kind = interaction.callbacks[0]["type"]
            if kind == 5:  # thinking: the answer is the edit (or a followup)
                edited = [
                    r for r in self.requests if r.method == "PATCH" and interaction.token in r.path
                ]
                if interaction.followups:
                    return interaction.followups[-1]
                return interaction.original if edited else None
            if kind == 6:  # silent: the answer is a followup, or the edited message
                if interaction.followups:
                    return interaction.followups[-1]
                edited = [
                    r for r in self.requests if r.method == "PATCH" and interaction.token in r.path
                ]
                return interaction.original if edited else None
            return interaction.original

        found: Sent = await self.wait_for(done, wait_s)
        return found


def dm_channel(user_id: int) -> int:
    """Return the id of the DM channel between the bot and a user."""
    return 500000000000000000 + user_id % 100000000000000


def path_match(pattern: str, path: str) -> tuple[str, ...] | None:
    """Return the groups of a full match of `pattern`, or None."""
    found = re.fullmatch(pattern, path)
    return found.groups() if found else None
