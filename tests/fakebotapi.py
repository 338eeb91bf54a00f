"""A small fake Telegram Bot API server (aiohttp) that the real python-telegram-bot can talk to."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import html
import inspect
import itertools
import json
import mimetypes
import re
import socket
import struct
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp
from aiohttp import web

JSONDict = dict[str, Any]
MethodHandler = Callable[[JSONDict, "dict[str, UploadedFile]"], Any]
_T = TypeVar("_T")

BOT_USERNAME: Final = "studybot_test_bot"
DEFAULT_TOKEN: Final = "123:ABC"  # noqa: S105 - a fake token
DOWNLOAD_METHOD: Final = "downloadFile"
"""Pseudo method name under which file downloads are recorded."""

MAX_TEXT: Final = 4096
MAX_CAPTION: Final = 1024
MAX_CALLBACK_DATA: Final = 64
MAX_CALLBACK_ANSWER: Final = 200
MAX_DOCUMENT: Final = 50 * 1024 * 1024
MAX_PHOTO: Final = 10 * 1024 * 1024
MAX_DOWNLOAD: Final = 20 * 1024 * 1024
MAX_POLL_QUESTION: Final = 300
MAX_POLL_OPTIONS: Final = 12
MAX_POLL_OPTION: Final = 100
MAX_EXPLANATION: Final = 200
MAX_POLL_DESCRIPTION: Final = 1024

# Requests that post a message, and so count against Telegram's flood limits.
SENDING_METHODS: Final = frozenset(
    {
        "sendmessage",
        "sendpoll",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
        "forwardmessage",
        "copymessage",
    }
)

DEFAULT_ALLOWED_UPDATES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MEMBER_STATUSES: Final = frozenset(
    {"creator", "administrator", "member", "restricted", "left", "kicked"}
)
# Form fields that are plain strings and must never be JSON-decoded.
STRING_FIELDS: Final = frozenset(
    {
        "text",
        "caption",
        "question",
        "explanation",
        "description",
        "short_description",
        "callback_query_id",
        "inline_message_id",
        "url",
        "file_id",
        "title",
        "parse_mode",
        "explanation_parse_mode",
        "question_parse_mode",
        "description_parse_mode",
        "language_code",
        "action",
        "message_effect_id",
        "business_connection_id",
        "emoji",
        "name",
        "secret_token",
        "ip_address",
        "document",
        "photo",
        "audio",
        "video",
        "animation",
        "voice",
        "video_note",
        "sticker",
        "thumbnail",
    }
)
NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
DEFAULT_DESCRIPTIONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class BotAPIError(Exception):
    """An error answer of the Bot API; raise it from a custom method handler."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        """Return the JSON envelope Telegram sends for this error."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class MarkupError(ValueError):
    """Text could not be parsed with the requested parse_mode."""


@dataclasses.dataclass(frozen=True)
class UploadedFile:
    """One multipart file part of a request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclasses.dataclass
class Call:
    """One request received by the fake, with the answer it got once answered."""

    seq: int
    method: str
    params: JSONDict
    files: dict[str, UploadedFile]
    time: float
    status: int | None = None
    response: JSONDict | None = None

    @property
    def answered(self) -> bool:
        """Whether the fake has produced the answer to this call."""
        return self.response is not None

    @property
    def ok(self) -> bool:
        """Whether the answer was successful."""
        return bool(self.response and self.response.get("ok"))

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (None otherwise)."""
        return self.response.get("result") if self.response else None

    @property
    def error_code(self) -> int | None:
        """The ``error_code`` of a failed answer (None otherwise)."""
        return self.response.get("error_code") if self.response else None

    @property
    def chat_id(self) -> int | str | None:
        """The ``chat_id`` parameter, if any."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None


@dataclasses.dataclass(frozen=True)
class BotMessage:
    """Snapshot of a message the bot sent, with edits applied."""

    chat_id: int
    message_id: int
    date: int
    text: str | None
    entities: list[JSONDict]
    caption: str | None
    reply_markup: JSONDict | None
    edited: bool
    edit_count: int
    deleted: bool
    poll: JSONDict | None
    document: JSONDict | None
    photo: list[JSONDict] | None
    media_group_id: str | None
    raw: JSONDict

    @property
    def buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row, flattened."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of every inline button that has one."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclasses.dataclass
class _Stored:
    data: JSONDict
    from_bot: bool
    deleted: bool = False
    edit_count: int = 0


@dataclasses.dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None
    mime_type: str | None


@dataclasses.dataclass
class _PollState:
    poll: JSONDict
    chat_id: int
    message_id: int
    votes: dict[int, list[int]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    parameters: JSONDict | None
    remaining: int | None
    chat_id: str | None


@dataclasses.dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int | None
    after: bool = False


_R = TypeVar("_R", _Fault, _Delay)


# --------------------------------------------------------------------------- text helpers


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def command_entities(text: str) -> list[JSONDict]:
    """The ``bot_command`` entity Telegram adds for text starting with a command."""
    match = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])", text)
    if not match:
        match = re.match(r"/[A-Za-z0-9_]{1,64}", text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE: Final = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)"
    r"\s*/?>"
)
_ATTR_RE: Final = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_HTML_ENTITY_RE: Final = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|lt|gt|amp|quot);")


def _html_attrs(raw: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR_RE.finditer(raw)
    }


def _html_entity(name: str, attrs: dict[str, str]) -> JSONDict | None:
    entity: JSONDict = {"type": _HTML_TAGS[name]}
    if name == "a":
        href = attrs.get("href", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            return {
                "type": "text_mention",
                "user": {"id": int(user.group(1)), "is_bot": False, "first_name": "User"},
            }
        if not href:
            return None
        entity["url"] = href
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into plain text and entities (strict like the real API)."""
    out: list[str] = []
    pos = 0
    stack: list[tuple[str, int, JSONDict | None]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            match = _TAG_RE.match(source, i)
            offset = _byte_offset(source, i)
            if match is None:
                raise MarkupError(f"Unexpected end of name token at byte offset {offset}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            attrs = _html_attrs(match.group(3))
            i = match.end()
            if closing:
                if not stack:
                    raise MarkupError(f'Unexpected end tag "{name}" at byte offset {offset}')
                if stack[-1][0] != name:
                    raise MarkupError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1][0]}>", '
                        f'found "</{name}>"'
                    )
                _, start, entity = stack.pop()
                if entity is not None and pos > start:
                    entity.update(offset=start, length=pos - start)
                    entities.append(entity)
                continue
            if name not in _HTML_TAGS or (name == "span" and attrs.get("class") != "tg-spoiler"):
                raise MarkupError(f'Unsupported start tag "{name}" at byte offset {offset}')
            if stack and stack[-1][0] in ("code", "pre"):
                parent_name, _, parent_entity = stack[-1]
                if not (parent_name == "pre" and name == "code"):
                    raise MarkupError(
                        f'Unsupported start tag "{name}" at byte offset {offset} inside code'
                    )
                language = attrs.get("class", "")
                if language.startswith("language-") and parent_entity is not None:
                    parent_entity["language"] = language.removeprefix("language-")
                stack.append((name, pos, None))
                continue
            stack.append((name, pos, _html_entity(name, attrs)))
            continue
        if char == "&":
            match = _HTML_ENTITY_RE.match(source, i)
            if match:
                char = html.unescape(match.group(0))
                i = match.end()
            else:
                i += 1
        else:
            i += 1
        out.append(char)
        pos += utf16_len(char)
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MD2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_NAMES: Final = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
    "[": "text_link",
    "![": "custom_emoji",
}


def parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    """Parse MarkdownV2 into plain text and entities; unescaped reserved characters fail."""
    out: list[str] = []
    pos = 0
    stack: list[tuple[str, int, int]] = []  # marker, utf16 start, byte offset
    entities: list[JSONDict] = []
    quote_start: int | None = None
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal pos
        out.append(text)
        pos += utf16_len(text)

    def read_until(i: int, stop: str) -> tuple[str, int]:
        """Read code/pre/url content until ``stop``; only ` ) and \\ may be escaped there."""
        chunk: list[str] = []
        while i < n:
            if source[i] == "\\" and i + 1 < n:
                chunk.append(source[i + 1])
                i += 2
            elif source.startswith(stop, i):
                return "".join(chunk), i + len(stop)
            else:
                chunk.append(source[i])
                i += 1
        raise EOFError

    def toggle(marker: str, offset: int) -> None:
        for k in range(len(stack) - 1, -1, -1):
            if stack[k][0] == marker:
                _, start, _ = stack.pop(k)
                if pos > start:
                    entities.append(
                        {"type": _MD2_NAMES[marker], "offset": start, "length": pos - start}
                    )
                return
        stack.append((marker, pos, offset))

    while i < n:
        char = source[i]
        offset = _byte_offset(source, i)
        if char == "\\":
            if i + 1 < n and 1 <= ord(source[i + 1]) <= 126:
                emit(source[i + 1])
                i += 2
                continue
            raise MarkupError(f"Character '\\' is reserved and must be escaped at byte {offset}")
        if char == "`":
            fence = "```" if source.startswith("```", i) else "`"
            try:
                body, i = read_until(i + len(fence), fence)
            except EOFError:
                kind = "Pre" if fence == "```" else "Code"
                raise MarkupError(
                    f"Can't find end of {kind} entity at byte offset {offset}"
                ) from None
            entity: JSONDict = {"type": "code" if fence == "`" else "pre"}
            if fence == "```":
                first, sep, rest = body.partition("\n")
                if sep and first and not re.search(r"\s", first):
                    entity["language"] = first
                    body = rest
                elif sep and not first:
                    body = rest
            start = pos
            emit(body)
            if pos > start:
                entity.update(offset=start, length=pos - start)
                entities.append(entity)
            continue
        if char == ">" and (i == 0 or source[i - 1] == "\n"):
            if quote_start is None:
                quote_start = pos
            i += 1
            continue
        if char == "\n" and quote_start is not None and not source.startswith(">", i + 1):
            if pos > quote_start:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": pos - quote_start}
                )
            quote_start = None
        if source.startswith("__", i):
            toggle("__", offset)
            i += 2
            continue
        if source.startswith("||", i):
            toggle("||", offset)
            i += 2
            continue
        if char in "*_~":
            toggle(char, offset)
            i += 1
            continue
        if char == "[" or source.startswith("![", i):
            marker = "[" if char == "[" else "!["
            stack.append((marker, pos, offset))
            i += len(marker)
            continue
        if char == "]" and stack and stack[-1][0] in ("[", "![") and source.startswith("](", i):
            marker, start, _ = stack.pop()
            try:
                url, i = read_until(i + 2, ")")
            except EOFError:
                raise MarkupError(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, i)}"
                ) from None
            entity = {"type": _MD2_NAMES[marker], "offset": start, "length": pos - start}
            if marker == "![":
                entity["custom_emoji_id"] = url.rpartition("id=")[2]
            else:
                entity["url"] = url
            if pos > start:
                entities.append(entity)
            continue
        if char in _MD2_RESERVED:
            raise MarkupError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(char)
        i += 1
    if stack:
        marker, _, offset = stack[-1]
        name = _MD2_NAMES[marker].replace("_", " ").title().replace(" ", "")
        raise MarkupError(f"Can't find end of {name} entity at byte offset {offset}")
    if quote_start is not None and pos > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": pos - quote_start})
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(source: str) -> tuple[str, list[JSONDict]]:
    """Parse legacy Markdown (*bold*, _italic_, `code`, ```pre```, [text](url))."""
    out: list[str] = []
    pos = 0
    entities: list[JSONDict] = []
    i = 0
    names = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}
    while i < len(source):
        for marker in ("```", "*", "_", "`", "["):
            if source.startswith(marker, i):
                break
        else:
            out.append(source[i])
            pos += utf16_len(source[i])
            i += 1
            continue
        offset = _byte_offset(source, i)
        if marker == "[":
            match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(source, i)
            if not match:
                raise MarkupError(f"Can't find end of the entity starting at byte offset {offset}")
            body, url = match.group(1), match.group(2)
            entity: JSONDict = {"type": "text_link", "url": url}
        else:
            end = source.find(marker, i + len(marker))
            if end < 0:
                raise MarkupError(f"Can't find end of the entity starting at byte offset {offset}")
            body = source[i + len(marker) : end]
            entity = {"type": names[marker]}
            match = None
        start = pos
        out.append(body)
        pos += utf16_len(body)
        if pos > start:
            entity.update(offset=start, length=pos - start)
            entities.append(entity)
        i = match.end() if match else end + len(marker)
    return "".join(out), entities


def render_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None
) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode`` (or explicit entities) the way Telegram does."""
    if entities is not None:
        return text, entities
    mode = (parse_mode or "").lower()
    try:
        if mode == "html":
            return parse_html(text)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode == "markdown":
            return parse_markdown(text)
    except MarkupError as exc:
        raise BotAPIError(400, f"Bad Request: can't parse entities: {exc}") from None
    if mode:
        raise BotAPIError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
    return text, []


def _decode_form_value(key: str, value: str) -> Any:
    if key in STRING_FIELDS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, dict | list | bool | int | float):
        return decoded
    return value


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


# --------------------------------------------------------------------------- the server


class FakeBotAPI:
    """Fake Bot API over real HTTP: records calls, answers a useful subset, injects updates."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = "StudyBot",
        unknown_method_status: int = 404,
        strict_chats: bool = False,
        clock: Callable[[], float] = time.time,
        flood_control: bool = False,
        group_limit: tuple[int, float] = (20, 60.0),
        overall_limit: tuple[int, float] = (30, 1.0),
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.unknown_method_status = unknown_method_status
        self.strict_chats = strict_chats
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = False

        self._calls: list[Call] = []
        self._next_seq = 1
        self._stats: Counter[str] = Counter()
        self._succeeded: Counter[str] = Counter()
        self._calls_event = asyncio.Event()

        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(100_001)
        self._updates_event = asyncio.Event()
        self._poll_generation = 0
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._store: dict[int, dict[int, _Stored]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, _StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._polls: dict[str, _PollState] = {}
        self._poll_seq = itertools.count(5_000_000_000_000_000_001)
        self._callback_seq = itertools.count(4_000_000_000_000_000_001)
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._media_group_seq = itertools.count(13_000_000_000_000_001)
        self._member_status: dict[tuple[int, int], JSONDict] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._blocked: set[int] = set()
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._custom: dict[str, MethodHandler] = {}
        self.webhook_url = ""
        # With a webhook set, updates are POSTed to it (with this secret) instead of polled.
        self.webhook_secret = ""
        self.webhook_statuses: list[int] = []
        self._pusher: asyncio.Task[None] | None = None
        # Flood control as Telegram documents it: per group and overall, in sliding windows of
        # real time; a request over a limit gets 429 with retry_after, as the real server does.
        self.flood_control = flood_control
        self.group_limit = group_limit
        self.overall_limit = overall_limit
        self.flood_errors = 0
        self._sent_at: dict[int, list[float]] = {}
        self._sent_all: list[float] = []

        self._methods: dict[str, Callable[[JSONDict, dict[str, UploadedFile]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "getwebhookinfo": self._get_webhook_info,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getupdates": self._get_updates,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._true,
            "setmyshortdescription": self._true,
            "setchatmenubutton": self._true,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "sendpoll": self._send_poll,
            "stoppoll": self._stop_poll,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendmediagroup": self._send_media_group,
            "getchatmember": self._get_chat_member,
            "getchat": self._get_chat,
            "getfile": self._get_file,
            "sendchataction": self._send_chat_action,
        }

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeBotAPI:
        """Start the server on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Wake long polls and stop the server."""
        self._closing = True
        self._wake_pollers()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """TCP port the server listens on."""
        return self._port

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``."""
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"http://127.0.0.1:{self._port}/file/bot"

    # ------------------------------------------------------------------ call log

    def calls(self, method: str | None = None, *, chat_id: int | str | None = None) -> list[Call]:
        """Recorded calls in arrival order, optionally filtered by method and chat_id."""
        return [c for c in self._calls if self._matches(c, method, chat_id)]

    def clear_calls(self) -> None:
        """Forget recorded calls (stats are kept)."""
        self._calls.clear()

    def mark(self) -> int:
        """Sequence number the next call will get; pass as ``since=`` to wait_for_call."""
        return self._next_seq

    def stats(self) -> dict[str, int]:
        """Number of requests per method since start (not reset by clear_calls)."""
        return dict(self._stats)

    def succeeded(self, method: str) -> int:
        """Number of requests of ``method`` answered ok since start (not reset by clear_calls)."""
        return self._succeeded[method]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        chat_id: int | str | None = None,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """Wait for the first answered call (seq >= since) matching method/chat/predicate."""

        def find() -> Call | None:
            for call in self._calls:
                if (
                    call.seq >= since
                    and call.answered
                    and self._matches(call, method, chat_id)
                    and (predicate is None or predicate(call))
                ):
                    return call
            return None

        return await self._wait(find, timeout, f"a {method} call")

    async def wait_for_calls(
        self,
        method: str,
        count: int,
        *,
        chat_id: int | str | None = None,
        since: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until ``count`` answered calls of ``method`` were recorded; return them."""

        def find() -> list[Call] | None:
            found = [
                c
                for c in self._calls
                if c.seq >= since and c.answered and self._matches(c, method, chat_id)
            ]
            return found if len(found) >= count else None

        return await self._wait(find, timeout, f"{count} {method} calls")

    async def wait_for_updates_consumed(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot confirmed (by offset) every injected update."""
        await self._wait(lambda: True if not self._updates else None, timeout, "no pending updates")

    async def _wait(self, find: Callable[[], _T | None], seconds: float, what: str) -> _T:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    event = self._calls_event
                    found = find()
                    if found is not None:
                        return found
                    await event.wait()
        except TimeoutError:
            seen = Counter(c.method for c in self._calls)
            raise AssertionError(
                f"timed out after {seconds}s waiting for {what}; calls so far: {dict(seen)}; "
                f"pending updates: {len(self._updates)}"
            ) from None

    # ------------------------------------------------------------------ faults and extensions

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int | None = 1,
        chat_id: int | str | None = None,
        parameters: JSONDict | None = None,
    ) -> None:
        """Make the next ``count`` (None: all) calls of ``method`` fail with this error."""
        params = dict(parameters or {})
        if retry_after is not None:
            params["retry_after"] = retry_after
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        self._faults.append(
            _Fault(
                method=method.lower(),
                error_code=error_code,
                description=description,
                parameters=params or None,
                remaining=count,
                chat_id=None if chat_id is None else str(chat_id),
            )
        )

    def delay_next(
        self, method: str, seconds: float, *, count: int | None = 1, after: bool = False
    ) -> None:
        """Delay the answer to the next ``count`` (None: all) calls of ``method``.

        With ``after``, the call is carried out first and only its answer is late: a client
        that times out has still sent the message, as happens with the real server.
        """
        self._delays.append(_Delay(method.lower(), seconds, count, after))

    def clear_faults(self) -> None:
        """Drop all pending fail_next/delay_next rules."""
        self._faults.clear()
        self._delays.clear()

    def sends_to(self, chat_id: int) -> list[float]:
        """Monotonic times of the message-sending requests a chat accepted (flood control on)."""
        return list(self._sent_at.get(chat_id, []))

    def _flood(self, key: str, params: JSONDict) -> BotAPIError | None:
        if not self.flood_control or key not in SENDING_METHODS:
            return None
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            chat_id = 0
        now = time.monotonic()
        checks = [(self._sent_all, *self.overall_limit)]
        if chat_id < 0:
            checks.append((self._sent_at.setdefault(chat_id, []), *self.group_limit))
        for sent, limit, period in checks:
            recent = [t for t in sent if now - t < period]
            if len(recent) >= limit:
                self.flood_errors += 1
                wait = max(1, int(period - (now - recent[0])) + 1)
                return BotAPIError(
                    429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                )
        self._sent_all.append(now)
        self._sent_at.setdefault(chat_id, []).append(now)
        return None

    def register_method(self, method: str, handler: MethodHandler) -> None:
        """Answer ``method`` with ``handler(params, files)``, sync or async; it may raise."""
        self._custom[method.lower()] = handler

    # ------------------------------------------------------------------ state helpers

    def set_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> JSONDict:
        """Create or update a user (language_code "" removes it); return its JSON."""
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"}
        )
        for key, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
            ("is_premium", is_premium),
        ):
            if value == "":
                user.pop(key, None)
            elif value is not None:
                user[key] = value
        # A private chat's id is its user's id: one lookup, not a scan of every chat.
        chat = self._chats.get(user_id)
        if chat is not None and chat["type"] == "private":
            chat.update(self._private_chat(user))
        return copy.deepcopy(user)

    def set_chat(
        self, chat_id: int, *, chat_type: str | None = None, title: str | None = None
    ) -> JSONDict:
        """Create or update a chat and return its JSON."""
        chat = self._chats.get(chat_id)
        if chat is None:
            kind = chat_type or self._guess_chat_type(chat_id)
            if kind == "private":
                chat = self._private_chat(self._user(chat_id))
            else:
                chat = {"id": chat_id, "type": kind, "title": title or "Test Group"}
            self._chats[chat_id] = chat
        if chat_type and chat_type != chat["type"]:
            chat["type"] = chat_type
        if title and chat["type"] != "private":
            chat["title"] = title
        return copy.deepcopy(chat)

    def set_chat_member_status(
        self, chat_id: int, user_id: int, status: str, **fields: Any
    ) -> None:
        """Set what getChatMember answers for (chat_id, user_id); default is "member"."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {sorted(MEMBER_STATUSES)}")
        self._member_status[(chat_id, user_id)] = {"status": status, **fields}

    def block_bot(self, user_id: int) -> int:
        """User blocks the bot: sends fail with 403 and a my_chat_member update is queued."""
        self._blocked.add(user_id)
        return self._chat_member_update(user_id, "member", "kicked")

    def unblock_bot(self, user_id: int) -> int:
        """User unblocks the bot: sends work again and a my_chat_member update is queued."""
        self._blocked.discard(user_id)
        return self._chat_member_update(user_id, "kicked", "member")

    def add_file(
        self, data: bytes, *, file_name: str | None = None, mime_type: str | None = None
    ) -> str:
        """Store a file the bot can getFile/download; return its file_id."""
        return self._register_file(data, "documents", file_name, mime_type).file_id

    def file_bytes(self, file_id: str) -> bytes:
        """Content stored for a file_id (uploaded by the bot or added by the test)."""
        return self._files[file_id].data

    def commands(self, *, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands set via setMyCommands for this scope and language."""
        return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """Current state of the messages the bot sent to a chat, oldest first."""
        return [
            self._snapshot(chat_id, stored)
            for stored in self._store.get(chat_id, {}).values()
            if stored.from_bot and (include_deleted or not stored.deleted)
        ]

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        """Current state of one message the bot sent."""
        stored = self._store.get(chat_id, {}).get(message_id)
        if stored is None or not stored.from_bot:
            raise KeyError(f"bot sent no message {message_id} in chat {chat_id}")
        return self._snapshot(chat_id, stored)

    def last_message(self, chat_id: int) -> BotMessage:
        """The newest non-deleted message the bot sent to a chat."""
        sent = self.messages(chat_id)
        if not sent:
            raise KeyError(f"bot sent nothing to chat {chat_id}")
        return sent[-1]

    def poll(self, poll_id: str) -> JSONDict:
        """Current state of a poll the bot sent."""
        return copy.deepcopy(self._polls[poll_id].poll)

    def pending_updates(self) -> list[JSONDict]:
        """Injected updates the bot has not confirmed yet."""
        return copy.deepcopy(self._updates)

    # ------------------------------------------------------------------ update injection

    def inject_update(self, payload: JSONDict) -> int:
        """Queue an arbitrary update (update_id is added); return its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **copy.deepcopy(payload)})
        self._wake_pollers()
        return update_id

    def send_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        chat_title: str | None = None,
        language_code: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        reply_to_message: int | None = None,
        document: JSONDict | None = None,
        entities: list[JSONDict] | None = None,
    ) -> int:
        """Queue a ``message`` update from a user; commands get a bot_command entity."""
        user = self.set_user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        chat = self._chat_for(chat_id, user_id, chat_type, chat_title)
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": self._now(),
        }
        if document is not None:
            message["document"] = document
            if text:
                message["caption"] = text
                if ents := (entities if entities is not None else command_entities(text)):
                    message["caption_entities"] = ents
        else:
            if not text:
                raise ValueError("a text message needs text")
            message["text"] = text
            if ents := (entities if entities is not None else command_entities(text)):
                message["entities"] = ents
        if reply_to_message is not None:
            message["reply_to_message"] = self._reply_copy(chat_id, reply_to_message)
        self._store.setdefault(chat_id, {})[message["message_id"]] = _Stored(
            copy.deepcopy(message), from_bot=False
        )
        self.inject_update({"message": message})
        return int(message["message_id"])

    def send_document(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        *,
        file_name: str = "file.txt",
        mime_type: str | None = None,
        caption: str = "",
        **kwargs: Any,
    ) -> int:
        """Queue a ``message`` update carrying a document the bot can download."""
        stored = self._register_file(data, "documents", file_name, mime_type)
        document = self._document_json(stored)
        return self.send_message(chat_id, user_id, caption, document=document, **kwargs)

    def edit_message(
        self, chat_id: int, message_id: int, text: str, *, entities: list[JSONDict] | None = None
    ) -> int:
        """Queue an ``edited_message`` update for a message the test injected."""
        stored = self._store.get(chat_id, {}).get(message_id)
        if stored is None or stored.from_bot:
            raise ValueError(f"no user message {message_id} in chat {chat_id}")
        data = stored.data
        key = "caption" if "caption" in data or "document" in data else "text"
        data[key] = text
        data.pop("entities" if key == "text" else "caption_entities", None)
        if ents := (entities if entities is not None else command_entities(text)):
            data["entities" if key == "text" else "caption_entities"] = ents
        data["edit_date"] = self._now()
        stored.edit_count += 1
        return self.inject_update({"edited_message": copy.deepcopy(data)})

    def press_button(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str | None = None,
        *,
        text: str | None = None,
    ) -> str:
        """Press a bot message's inline button by callback_data or label; return the query id."""
        stored = self._store.get(chat_id, {}).get(message_id)
        if stored is None or not stored.from_bot or stored.deleted:
            raise ValueError(f"bot message {message_id} not in chat {chat_id}")
        buttons = self._snapshot(chat_id, stored).buttons
        for button in buttons:
            if "callback_data" in button and (
                (data is not None and button["callback_data"] == data)
                or (text is not None and button["text"] == text)
            ):
                return self.press_button_raw(chat_id, user_id, message_id, button["callback_data"])
        raise ValueError(
            f"no button data={data!r} text={text!r} on message {message_id}; buttons: {buttons}"
        )

    def press_button_raw(
        self, chat_id: int, user_id: int, message_id: int, data: str, **user_fields: Any
    ) -> str:
        """Queue a callback_query with arbitrary data; unknown messages become inaccessible."""
        user = self.set_user(user_id, **user_fields)
        stored = self._store.get(chat_id, {}).get(message_id)
        message: JSONDict
        if stored is None or stored.deleted:
            chat = self._chats.get(chat_id) or self.set_chat(chat_id)
            message = {"chat": copy.deepcopy(chat), "message_id": message_id, "date": 0}
        else:
            message = copy.deepcopy(stored.data)
        query_id = str(next(self._callback_seq))
        self._callbacks[query_id] = False
        self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": str(-abs(chat_id) * 7919 - 1),
                    "data": data,
                }
            }
        )
        return query_id

    def callback_answer(self, query_id: str) -> Call | None:
        """The successful answerCallbackQuery call for a query id, if any."""
        for call in self.calls("answerCallbackQuery"):
            if call.ok and str(call.params.get("callback_query_id")) == query_id:
                return call
        return None

    async def wait_for_callback_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """Wait for the answerCallbackQuery call of a query id."""
        return await self.wait_for_call(
            "answerCallbackQuery",
            lambda c: str(c.params.get("callback_query_id")) == query_id,
            timeout=timeout,
        )

    def answer_poll(
        self,
        poll_id: str,
        user_id: int,
        option_ids: Iterable[int],
        *,
        state_update: bool = True,
        **user_fields: Any,
    ) -> int | None:
        """User votes: queue poll_answer (non-anonymous) and a poll state update.

        Returns the poll_answer update id (None for anonymous polls).
        """
        state = self._polls.get(poll_id)
        if state is None:
            raise ValueError(f"unknown poll {poll_id}")
        poll = state.poll
        options = list(option_ids)
        if poll["is_closed"]:
            raise ValueError("poll is closed")
        if any(not 0 <= o < len(poll["options"]) for o in options) or len(set(options)) != len(
            options
        ):
            raise ValueError(f"bad option ids {options}")
        if len(options) > 1 and not poll["allows_multiple_answers"]:
            raise ValueError("poll allows one answer only")
        previous = state.votes.get(user_id)
        if previous and not poll["allows_revoting"]:
            raise ValueError("poll does not allow changing the vote")
        if not options and not previous:
            raise ValueError("nothing to retract")
        for o in previous or []:
            poll["options"][o]["voter_count"] -= 1
        for o in options:
            poll["options"][o]["voter_count"] += 1
        if options:
            state.votes[user_id] = options
        else:
            state.votes.pop(user_id, None)
        poll["total_voter_count"] = len(state.votes)
        self._sync_poll_message(state)
        user = self.set_user(user_id, **user_fields)
        answer_id: int | None = None
        if not poll["is_anonymous"]:
            answer_id = self.inject_update(
                {
                    "poll_answer": {
                        "poll_id": poll_id,
                        "user": user,
                        "option_ids": options,
                        "option_persistent_ids": [
                            poll["options"][o]["persistent_id"] for o in options
                        ],
                    }
                }
            )
        if state_update:
            self.inject_update({"poll": copy.deepcopy(poll)})
        return answer_id

    def close_poll(self, poll_id: str) -> int:
        """Close a poll (e.g. open_period ran out) and queue the ``poll`` update."""
        state = self._polls[poll_id]
        state.poll["is_closed"] = True
        self._sync_poll_message(state)
        return self.inject_update({"poll": copy.deepcopy(state.poll)})

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params, files = await self._parse_request(request)
        except ValueError as exc:
            params, files = {}, {}
            parse_error: BotAPIError | None = BotAPIError(400, f"Bad Request: {exc}")
        else:
            parse_error = None
        call = Call(self._new_seq(), method, params, files, time.monotonic())
        self._calls.append(call)
        self._stats[method] += 1
        try:
            status, body = await self._answer(token, method, params, files, parse_error)
        except asyncio.CancelledError:
            call.status, call.response = 499, {"ok": False, "description": "client went away"}
            self._notify_calls()
            raise
        call.status, call.response = status, body
        if call.ok:
            self._succeeded[method] += 1
        self._notify_calls()
        return web.json_response(body, status=status)

    async def _answer(
        self,
        token: str,
        method: str,
        params: JSONDict,
        files: dict[str, UploadedFile],
        parse_error: BotAPIError | None,
    ) -> tuple[int, JSONDict]:
        if token != self.token:
            return 401, BotAPIError(401, "Unauthorized").payload()
        key = method.lower()
        delay = self._take(self._delays, key, params)
        if delay is not None and not delay.after:
            await asyncio.sleep(delay.seconds)
        answer = await self._carry_out(key, params, files, parse_error)
        if delay is not None and delay.after:
            await asyncio.sleep(delay.seconds)
        return answer

    async def _carry_out(
        self,
        key: str,
        params: JSONDict,
        files: dict[str, UploadedFile],
        parse_error: BotAPIError | None,
    ) -> tuple[int, JSONDict]:
        fault = self._take(self._faults, key, params)
        if fault is not None:
            error = BotAPIError(fault.error_code, fault.description, fault.parameters)
            return fault.error_code, error.payload()
        flood = self._flood(key, params)
        if flood is not None:
            return 429, flood.payload()
        try:
            if parse_error is not None:
                raise parse_error
            if key in self._custom:
                result = self._custom[key](params, files)
                if inspect.isawaitable(result):
                    result = await result
            elif key in self._methods:
                result = await self._methods[key](params, files)
            else:
                status = self.unknown_method_status
                raise BotAPIError(status, DEFAULT_DESCRIPTIONS.get(status, "Not Found"))
        except BotAPIError as exc:
            return exc.error_code, exc.payload()
        return 200, {"ok": True, "result": result}

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        call = Call(self._new_seq(), DOWNLOAD_METHOD, {"file_path": path}, {}, time.monotonic())
        self._calls.append(call)
        self._stats[DOWNLOAD_METHOD] += 1
        stored = self._file_paths.get(path)
        if request.match_info["token"] != self.token:
            response = web.json_response(BotAPIError(401, "Unauthorized").payload(), status=401)
        elif stored is None:
            response = web.json_response(BotAPIError(404, "Not Found").payload(), status=404)
        else:
            response = web.Response(
                body=stored.data, content_type=stored.mime_type or "application/octet-stream"
            )
        call.status = response.status
        call.response = {"ok": stored is not None and response.status == 200}
        self._notify_calls()
        return response

    async def _parse_request(
        self, request: web.Request
    ) -> tuple[JSONDict, dict[str, UploadedFile]]:
        params: JSONDict = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(
                        field=key,
                        filename=value.filename,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                elif isinstance(value, bytes | bytearray):
                    params[key] = _decode_form_value(key, bytes(value).decode())
                else:
                    params[key] = _decode_form_value(key, value)
        return params, files

    # ------------------------------------------------------------------ internals

    def _new_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    @staticmethod
    def _matches(call: Call, method: str | None, chat_id: int | str | None) -> bool:
        if method is not None and call.method.lower() != method.lower():
            return False
        return chat_id is None or str(call.params.get("chat_id")) == str(chat_id)

    def _notify_calls(self) -> None:
        self._calls_event.set()
        self._calls_event = asyncio.Event()

    def _wake_pollers(self) -> None:
        self._updates_event.set()
        self._updates_event = asyncio.Event()
        if self.webhook_url and not self._closing and (self._pusher is None or self._pusher.done()):
            self._pusher = asyncio.get_running_loop().create_task(self._push())

    async def post_update(self, update: JSONDict, *, secret: str | None) -> int:
        """POST one update to the webhook as Telegram does (secret None: no header); the status."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, data=json.dumps(update), headers=headers) as response,
        ):
            await response.read()
            return response.status

    async def _push(self) -> None:
        """Deliver pending updates to the webhook in order; retry one that was not taken."""
        while self.webhook_url and self._updates and not self._closing:
            update = self._updates[0]
            try:
                status = await self.post_update(update, secret=self.webhook_secret)
            except aiohttp.ClientError:
                status = 0
            self.webhook_statuses.append(status)
            if status == 200:
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                self._notify_calls()
            else:
                await asyncio.sleep(0.2)  # Telegram, too, tries again later

    def _take(self, rules: list[_R], method: str, params: JSONDict) -> _R | None:
        for rule in rules:
            if rule.method != method:
                continue
            wanted = getattr(rule, "chat_id", None)
            if wanted is not None and str(params.get("chat_id")) != wanted:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    rules.remove(rule)
            return rule
        return None

    def _now(self) -> int:
        return int(self._clock())

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    @staticmethod
    def _guess_chat_type(chat_id: int) -> str:
        if chat_id > 0:
            return "private"
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    @staticmethod
    def _private_chat(user: JSONDict) -> JSONDict:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _user(self, user_id: int) -> JSONDict:
        return self._users.get(user_id) or self.set_user(user_id)

    def _chat_for(
        self, chat_id: int, user_id: int, chat_type: str | None, title: str | None
    ) -> JSONDict:
        kind = chat_type or (self._chats[chat_id]["type"] if chat_id in self._chats else None)
        kind = kind or self._guess_chat_type(chat_id)
        if kind == "private" and chat_id != user_id:
            raise ValueError("a private chat's id is the user's id")
        if kind != "private" and chat_id > 0:
            raise ValueError("group and channel ids are negative")
        return self.set_chat(chat_id, chat_type=kind, title=title)

    def _reply_copy(self, chat_id: int, message_id: int) -> JSONDict:
        stored = self._store.get(chat_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id} to reply to")
        data = copy.deepcopy(stored.data)
        data.pop("reply_to_message", None)
        return data

    def _snapshot(self, chat_id: int, stored: _Stored) -> BotMessage:
        data = copy.deepcopy(stored.data)
        return BotMessage(
            chat_id=chat_id,
            message_id=data["message_id"],
            date=data["date"],
            text=data.get("text"),
            entities=list(data.get("entities") or data.get("caption_entities") or []),
            caption=data.get("caption"),
            reply_markup=data.get("reply_markup"),
            edited=stored.edit_count > 0,
            edit_count=stored.edit_count,
            deleted=stored.deleted,
            poll=data.get("poll"),
            document=data.get("document"),
            photo=data.get("photo"),
            media_group_id=data.get("media_group_id"),
            raw=data,
        )

    def _chat_member_update(self, user_id: int, old: str, new: str) -> int:
        user = self._user(user_id)
        chat = self._chats.get(user_id) or self.set_chat(user_id)
        new_member: JSONDict = {"user": self.bot_user, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: JSONDict = {"user": self.bot_user, "status": old}
        if old == "kicked":
            old_member["until_date"] = 0
        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": user,
                    "date": self._now(),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                }
            }
        )

    def _register_file(
        self, data: bytes, folder: str, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        n = next(self._file_seq)
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        elif mime_type:
            suffix = mimetypes.guess_extension(mime_type) or ""
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAI{n:010d}",
            file_unique_id=f"AgAD{n:06d}",
            data=data,
            file_path=f"{folder}/file_{n}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_json(stored: _StoredFile) -> JSONDict:
        doc: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            doc["file_name"] = stored.file_name
        if stored.mime_type:
            doc["mime_type"] = stored.mime_type
        return doc

    @staticmethod
    def _photo_json(stored: _StoredFile) -> list[JSONDict]:
        width, height = _png_size(stored.data) or (512, 512)
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": width,
                "height": height,
            }
        ]

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return "default"
        return json.dumps(scope, sort_keys=True)

    # ---------------------------------------------------------------- method helpers

    def _chat(self, params: JSONDict, *, sending: bool = True) -> JSONDict:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise BotAPIError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str):
            by_name = [c["id"] for c in self._chats.values() if f"@{c.get('username')}" == raw]
            try:
                raw = by_name[0] if by_name else int(raw)
            except ValueError:
                raise BotAPIError(400, "Bad Request: chat not found") from None
        if not isinstance(raw, int):
            raise BotAPIError(400, "Bad Request: chat not found")
        chat = self._chats.get(raw)
        if chat is None:
            if self.strict_chats:
                raise BotAPIError(400, "Bad Request: chat not found")
            self.set_chat(raw)
            chat = self._chats[raw]
        if sending and raw in self._blocked:
            raise BotAPIError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _stored(self, chat_id: int, params: JSONDict, missing: str) -> _Stored:
        try:
            message_id = int(params.get("message_id", 0))
        except (TypeError, ValueError):
            raise BotAPIError(400, "Bad Request: message identifier is not specified") from None
        stored = self._store.get(chat_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise BotAPIError(400, f"Bad Request: {missing}")
        return stored

    def _check_markup(self, params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise BotAPIError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None  # reply keyboards and removals are not part of the returned Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise BotAPIError(400, "Bad Request: can't parse inline keyboard button")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise BotAPIError(400, "Bad Request: can't parse inline keyboard button")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise BotAPIError(400, "Bad Request: BUTTON_DATA_INVALID")
                if len(button) < 2:
                    raise BotAPIError(
                        400,
                        "Bad Request: can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard",
                    )
        return markup if rows else None

    def _text(
        self, params: JSONDict, key: str, limit: int, *, required: bool
    ) -> tuple[str | None, list[JSONDict]]:
        raw = params.get(key)
        if raw is None or raw == "":
            if required:
                raise BotAPIError(400, f"Bad Request: message {key} is empty")
            return None, []
        mode_key = "parse_mode"
        ents_key = "entities" if key == "text" else f"{key}_entities"
        ents = params.get(ents_key)
        text, entities = render_text(
            str(raw), params.get(mode_key), ents if isinstance(ents, list) else None
        )
        if not text.strip():
            if required:
                raise BotAPIError(400, f"Bad Request: message {key} is empty")
            return None, []
        if utf16_len(text) > limit:
            what = "message is too long" if key == "text" else "message caption is too long"
            raise BotAPIError(400, f"Bad Request: {what}")
        return text, entities

    def _new_message(self, chat: JSONDict, params: JSONDict) -> JSONDict:
        chat_id = int(chat["id"])
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": copy.deepcopy(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": self._now(),
        }
        reply = params.get("reply_parameters") or {}
        if "reply_to_message_id" in params:
            reply = {"message_id": params["reply_to_message_id"]}
        if isinstance(reply, dict) and reply.get("message_id"):
            target = self._store.get(chat_id, {}).get(int(reply["message_id"]))
            if target is not None and not target.deleted:
                data = copy.deepcopy(target.data)
                data.pop("reply_to_message", None)
                message["reply_to_message"] = data
            elif not (
                reply.get("allow_sending_without_reply")
                or params.get("allow_sending_without_reply")
            ):
                raise BotAPIError(400, "Bad Request: message to be replied not found")
        if params.get("protect_content"):
            message["has_protected_content"] = True
        return message

    def _save(self, message: JSONDict, markup: JSONDict | None) -> JSONDict:
        if markup is not None:
            message["reply_markup"] = markup
        chat_id = int(message["chat"]["id"])
        self._store.setdefault(chat_id, {})[message["message_id"]] = _Stored(
            copy.deepcopy(message), from_bot=True
        )
        return message

    def _upload(
        self,
        params: JSONDict,
        files: dict[str, UploadedFile],
        key: str,
        limit: int,
        folder: str,
        *,
        by_field: bool = True,
    ) -> _StoredFile:
        value = params.get(key)
        upload = files.get(key) if by_field else None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise BotAPIError(400, f"Bad Request: file for {value} not found")
        if upload is not None:
            if not upload.data:
                raise BotAPIError(400, "Bad Request: file must be non-empty")
            if len(upload.data) > limit:
                raise BotAPIError(413, "Request Entity Too Large")
            return self._register_file(upload.data, folder, upload.filename, upload.content_type)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and re.match(r"https?://", value):
            name = value.rstrip("/").rsplit("/", 1)[-1] or "file"
            return self._register_file(b"", folder, name, None)
        raise BotAPIError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ---------------------------------------------------------------- methods

    async def _true(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return True

    async def _get_me(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_webhook_info(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        self.webhook_url = str(params.get("url", ""))
        self.webhook_secret = str(params.get("secret_token", ""))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._wake_pollers()
        return True

    async def _delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        self.webhook_url = ""
        self.webhook_secret = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_updates(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        if self.webhook_url:
            raise BotAPIError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset", 0) or 0)
        limit = min(max(int(params.get("limit", 100) or 100), 1), 100)
        timeout = max(float(params.get("timeout", 0) or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._notify_calls()  # confirmations may satisfy wait_for_updates_consumed
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # an older long poll gets 409, like the real server
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._updates_event
            if generation != self._poll_generation:
                raise BotAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            self._updates = [u for u in self._updates if self._allowed(u)]
            remaining = deadline - loop.time()
            if self._updates or remaining <= 0 or self._closing:
                return copy.deepcopy(self._updates[:limit])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _allowed(self, update: JSONDict) -> bool:
        kinds = [k for k in update if k != "update_id"]
        return bool(kinds) and kinds[0] in self._allowed_updates

    async def _set_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise BotAPIError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise BotAPIError(400, "Bad Request: too many commands specified")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command", ""))
            ):
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code", "")))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code", "")))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code", "")))
        self._commands.pop(key, None)
        return True

    async def _send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params)
        text, entities = self._text(params, "text", MAX_TEXT, required=True)
        markup = self._check_markup(params)
        message = self._new_message(chat, params)
        message["text"] = text
        if entities:
            message["entities"] = entities
        return self._save(message, markup)

    async def _edit_message_text(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        if "inline_message_id" in params:
            return True
        chat = self._chat(params, sending=False)
        stored = self._stored(int(chat["id"]), params, "message to edit not found")
        if not stored.from_bot:
            raise BotAPIError(400, "Bad Request: message can't be edited")
        if "text" not in stored.data:
            raise BotAPIError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._text(params, "text", MAX_TEXT, required=True)
        markup = self._check_markup(params)
        return self._apply_edit(stored, {"text": text, "entities": entities}, markup)

    async def _edit_message_caption(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        if "inline_message_id" in params:
            return True
        chat = self._chat(params, sending=False)
        stored = self._stored(int(chat["id"]), params, "message to edit not found")
        if not stored.from_bot:
            raise BotAPIError(400, "Bad Request: message can't be edited")
        if "text" in stored.data or "poll" in stored.data:
            raise BotAPIError(400, "Bad Request: there is no caption in the message to edit")
        caption, entities = self._text(params, "caption", MAX_CAPTION, required=False)
        markup = self._check_markup(params)
        return self._apply_edit(stored, {"caption": caption, "caption_entities": entities}, markup)

    async def _edit_message_reply_markup(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> Any:
        if "inline_message_id" in params:
            return True
        chat = self._chat(params, sending=False)
        stored = self._stored(int(chat["id"]), params, "message to edit not found")
        if not stored.from_bot:
            raise BotAPIError(400, "Bad Request: message can't be edited")
        return self._apply_edit(stored, {}, self._check_markup(params))

    def _apply_edit(self, stored: _Stored, fields: JSONDict, markup: JSONDict | None) -> JSONDict:
        data = stored.data
        before = {k: data.get(k) or None for k in (*fields, "reply_markup")}
        after = {k: v or None for k, v in fields.items()} | {"reply_markup": markup}
        if before == after:
            raise BotAPIError(400, NOT_MODIFIED)
        for key, value in after.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = copy.deepcopy(value)
        data["edit_date"] = self._now()
        stored.edit_count += 1
        return copy.deepcopy(data)

    async def _delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params, sending=False)
        stored = self._stored(int(chat["id"]), params, "message to delete not found")
        stored.deleted = True
        return True

    async def _delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params, sending=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise BotAPIError(400, "Bad Request: message identifiers are not specified")
        for message_id in ids:
            stored = self._store.get(int(chat["id"]), {}).get(int(message_id))
            if stored is not None:
                stored.deleted = True
        return True

    async def _answer_callback_query(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if self._callbacks.get(query_id, True):
            raise BotAPIError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text", ""))) > MAX_CALLBACK_ANSWER:
            raise BotAPIError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callbacks[query_id] = True
        return True

    async def _send_poll(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params)
        question = str(params.get("question", ""))
        if not question.strip():
            raise BotAPIError(400, "Bad Request: poll question must be non-empty")
        if len(question) > MAX_POLL_QUESTION:
            raise BotAPIError(400, "Bad Request: poll question length must not exceed 300")
        raw_options = params.get("options")
        if not isinstance(raw_options, list) or len(raw_options) < 2:
            raise BotAPIError(400, "Bad Request: poll must have at least 2 option")
        if len(raw_options) > MAX_POLL_OPTIONS:
            raise BotAPIError(400, "Bad Request: poll can't have more than 12 options")
        options: list[JSONDict] = []
        for index, raw in enumerate(raw_options):
            text = str(raw.get("text", "") if isinstance(raw, dict) else raw)
            if not text.strip() or len(text) > MAX_POLL_OPTION:
                raise BotAPIError(400, "Bad Request: poll options length must not exceed 100")
            options.append({"text": text, "voter_count": 0, "persistent_id": str(index)})
        kind = str(params.get("type", "regular"))
        if kind not in ("regular", "quiz"):
            raise BotAPIError(400, "Bad Request: wrong poll type specified")
        correct = params.get("correct_option_ids")
        if correct is None and "correct_option_id" in params:
            correct = [params["correct_option_id"]]
        if kind == "quiz":
            if not isinstance(correct, list) or not correct:
                raise BotAPIError(400, "Bad Request: wrong correct option ids specified")
            if any(not isinstance(c, int) or not 0 <= c < len(options) for c in correct):
                raise BotAPIError(400, "Bad Request: wrong correct option ids specified")
        explanation: str | None = None
        explanation_entities: list[JSONDict] = []
        if params.get("explanation"):
            explanation, explanation_entities = render_text(
                str(params["explanation"]),
                params.get("explanation_parse_mode"),
                params.get("explanation_entities"),
            )
            if len(explanation) > MAX_EXPLANATION or explanation.count("\n") > 2:
                raise BotAPIError(400, "Bad Request: explanation is too long")
        open_period = params.get("open_period")
        if open_period is not None and int(open_period) < 5:
            raise BotAPIError(400, "Bad Request: wrong open period specified")
        description = params.get("description")
        if description is not None and len(str(description)) > MAX_POLL_DESCRIPTION:
            raise BotAPIError(400, "Bad Request: poll description is too long")
        poll: JSONDict = {
            "id": str(next(self._poll_seq)),
            "question": question,
            "options": options,
            "total_voter_count": 0,
            "is_closed": bool(params.get("is_closed", False)),
            "is_anonymous": bool(params.get("is_anonymous", True)),
            "type": kind,
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": bool(params.get("allows_revoting", kind == "regular")),
            "members_only": bool(params.get("members_only", False)),
        }
        if kind == "quiz":
            poll["correct_option_ids"] = correct
        if explanation:
            poll["explanation"] = explanation
            if explanation_entities:
                poll["explanation_entities"] = explanation_entities
        if description:
            poll["description"] = str(description)
        if open_period is not None:
            poll["open_period"] = int(open_period)
            poll["close_date"] = self._now() + int(open_period)
        elif params.get("close_date") is not None:
            poll["close_date"] = int(params["close_date"])
        markup = self._check_markup(params)
        message = self._new_message(chat, params)
        message["poll"] = poll
        self._save(message, markup)
        self._polls[poll["id"]] = _PollState(
            poll=copy.deepcopy(poll), chat_id=int(chat["id"]), message_id=message["message_id"]
        )
        return message

    def _sync_poll_message(self, state: _PollState) -> None:
        stored = self._store.get(state.chat_id, {}).get(state.message_id)
        if stored is not None:
            stored.data["poll"] = copy.deepcopy(state.poll)

    async def _stop_poll(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params, sending=False)
        stored = self._stored(int(chat["id"]), params, "message with poll to stop not found")
        if "poll" not in stored.data or not stored.from_bot:
            raise BotAPIError(400, "Bad Request: message with poll to stop not found")
        state = self._polls[stored.data["poll"]["id"]]
        if state.poll["is_closed"]:
            raise BotAPIError(400, "Bad Request: poll has already been closed")
        state.poll["is_closed"] = True
        self._sync_poll_message(state)
        markup = self._check_markup(params)
        if markup is not None:
            stored.data["reply_markup"] = markup
        return copy.deepcopy(state.poll)

    async def _send_document(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params)
        caption, entities = self._text(params, "caption", MAX_CAPTION, required=False)
        stored = self._upload(params, files, "document", MAX_DOCUMENT, "documents")
        markup = self._check_markup(params)
        message = self._new_message(chat, params)
        message["document"] = self._document_json(stored)
        self._add_caption(message, caption, entities)
        return self._save(message, markup)

    async def _send_photo(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params)
        caption, entities = self._text(params, "caption", MAX_CAPTION, required=False)
        stored = self._upload(params, files, "photo", MAX_PHOTO, "photos")
        markup = self._check_markup(params)
        message = self._new_message(chat, params)
        message["photo"] = self._photo_json(stored)
        self._add_caption(message, caption, entities)
        return self._save(message, markup)

    @staticmethod
    def _add_caption(message: JSONDict, caption: str | None, entities: list[JSONDict]) -> None:
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities

    async def _send_media_group(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise BotAPIError(400, "Bad Request: wrong number of media specified (2-10)")
        group_id = str(next(self._media_group_seq))
        prepared: list[tuple[JSONDict, str | None, list[JSONDict]]] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in (
                "photo",
                "document",
                "video",
                "audio",
            ):
                raise BotAPIError(400, "Bad Request: wrong media type specified")
            caption, entities = self._text(item, "caption", MAX_CAPTION, required=False)
            kind = str(item["type"])
            limit = MAX_PHOTO if kind == "photo" else MAX_DOCUMENT
            if not item.get("media"):
                raise BotAPIError(400, "Bad Request: can't parse InputMedia: media not found")
            stored = self._upload(item, files, "media", limit, kind + "s", by_field=False)
            body: JSONDict = (
                {"photo": self._photo_json(stored)}
                if kind == "photo"
                else {kind: self._document_json(stored)}
            )
            prepared.append((body, caption, entities))
        result = []
        for body, caption, entities in prepared:
            message = self._new_message(chat, params)
            message["media_group_id"] = group_id
            message.update(body)
            self._add_caption(message, caption, entities)
            result.append(self._save(message, None))
        return result

    async def _get_chat_member(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._chat(params, sending=False)
        try:
            user_id = int(params.get("user_id", 0))
        except (TypeError, ValueError):
            raise BotAPIError(400, "Bad Request: invalid user_id specified") from None
        if user_id <= 0:
            raise BotAPIError(400, "Bad Request: invalid user_id specified")
        user = self.bot_user if user_id == self.bot_id else self._user(user_id)
        rule = self._member_status.get((int(chat["id"]), user_id), {"status": "member"})
        status = rule["status"]
        extra = {k: v for k, v in rule.items() if k != "status"}
        member: JSONDict = {"user": copy.deepcopy(user), "status": status}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
        elif status == "restricted":
            member.update(
                is_member=True,
                can_change_info=False,
                can_invite_users=False,
                can_pin_messages=False,
                can_send_messages=False,
                can_send_polls=False,
                can_send_other_messages=False,
                can_add_web_page_previews=False,
                can_manage_topics=False,
                until_date=0,
                can_send_audios=False,
                can_send_documents=False,
                can_send_photos=False,
                can_send_videos=False,
                can_send_video_notes=False,
                can_send_voice_notes=False,
                can_edit_tag=False,
                can_react_to_messages=False,
            )
        elif status == "kicked":
            member["until_date"] = 0
        member.update(extra)
        return member

    async def _get_chat(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = copy.deepcopy(self._chat(params, sending=False))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    async def _get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise BotAPIError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise BotAPIError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise BotAPIError(400, "Bad Request: wrong parameter action in request")
        return True
