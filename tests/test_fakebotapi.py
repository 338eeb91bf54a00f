"""Tests proving that FakeBotAPI works with the real python-telegram-bot 22.8 over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    PollHandler,
    filters,
)

from tests.fakebotapi import BOT_USERNAME, FakeBotAPI

App = Application[Any, Any, Any, Any, Any, Any]
Ctx = ContextTypes.DEFAULT_TYPE
USER = 501
GROUP = -1001234567890
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A running fake Bot API server."""
    async with FakeBotAPI() as server:
        yield server


def build_app(fake: FakeBotAPI, *, rate_limiter: AIORateLimiter | None = None) -> App:
    """An Application that talks to the fake."""
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app: App = builder.build()
    return app


@contextlib.asynccontextmanager
async def running(app: App) -> AsyncIterator[App]:
    """Run the app the way tests must (run_polling owns the loop)."""
    assert app.updater is not None
    async with app:
        await app.updater.start_polling(timeout=1, poll_interval=0)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


@contextlib.asynccontextmanager
async def direct_bot(fake: FakeBotAPI, token: str | None = None) -> AsyncIterator[Bot]:
    """A bare Bot (no Application) talking to the fake."""
    async with Bot(
        token or fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url
    ) as bot:
        yield bot


async def start(update: Update, context: Ctx) -> None:
    """Reply to /start with the user's name and a keyboard."""
    assert update.effective_message is not None
    assert update.effective_user is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="ans:yes")],
            [InlineKeyboardButton("No", callback_data="ans:no")],
        ]
    )
    await update.effective_message.reply_text(
        f"Hello {update.effective_user.first_name}!", reply_markup=keyboard
    )


async def test_start_command_reply(fake: FakeBotAPI) -> None:
    """/start reaches CommandHandler and the reply is recorded with its keyboard."""
    app = build_app(fake)
    app.add_handler(CommandHandler("start", start))
    async with running(app):
        fake.send_message(USER, USER, "/start", first_name="Bob")
        call = await fake.wait_for_call("sendMessage")
        await fake.wait_for_updates_consumed()
    assert call.ok
    assert call.params["chat_id"] == USER
    assert call.params["text"] == "Hello Bob!"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ans:yes"
    sent = fake.last_message(USER)
    assert sent.text == "Hello Bob!"
    assert sent.callback_data == ["ans:yes", "ans:no"]
    assert sent.message_id == 2  # the user's /start was message 1 of this chat
    assert fake.stats()["getMe"] == 1
    assert fake.calls("deleteWebhook")
    assert fake.pending_updates() == []


async def test_group_command_addressed_to_bot(fake: FakeBotAPI) -> None:
    """/cmd@bot in a supergroup matches; a command for another bot does not."""
    app = build_app(fake)
    app.add_handler(CommandHandler("start", start))
    async with running(app):
        fake.send_message(GROUP, USER, "/start@other_bot", chat_title="Study group")
        fake.send_message(GROUP, USER, f"/start@{BOT_USERNAME} now")
        call = await fake.wait_for_call("sendMessage", chat_id=GROUP)
        await fake.wait_for_updates_consumed()
    assert len(fake.calls("sendMessage")) == 1
    assert call.result["chat"] == {"id": GROUP, "type": "supergroup", "title": "Study group"}
    assert call.result["reply_to_message"]["text"] == f"/start@{BOT_USERNAME} now"


async def test_button_press_and_answer(fake: FakeBotAPI) -> None:
    """A pressed button reaches CallbackQueryHandler; answer and edit are recorded."""
    seen: asyncio.Queue[Any] = asyncio.Queue()

    async def on_button(update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query is not None
        await seen.put(query.message)
        await query.answer("Noted")
        if query.message is not None and query.message.is_accessible:
            await query.edit_message_text(f"You chose {query.data}")

    app = build_app(fake)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^ans:"))
    async with running(app):
        fake.send_message(USER, USER, "/start")
        sent = await fake.wait_for_call("sendMessage")
        message_id = sent.result["message_id"]
        query_id = fake.press_button(USER, USER, message_id, text="No")
        answer = await fake.wait_for_callback_answer(query_id)
        edit = await fake.wait_for_call("editMessageText")
        forged = fake.press_button_raw(USER, USER, 999, "ans:forged")
        await fake.wait_for_callback_answer(forged)
    assert answer.params["text"] == "Noted"
    assert fake.callback_answer(query_id) is answer
    assert edit.ok
    current = fake.message(USER, message_id)
    assert current.text == "You chose ans:no"
    assert current.edited
    assert current.reply_markup is None  # editMessageText without reply_markup drops it
    first, second = seen.get_nowait(), seen.get_nowait()
    assert isinstance(first, Message)
    assert first.text == "Hello Ann!"
    assert not second.is_accessible
    assert second.message_id == 999


async def test_retry_after_with_rate_limiter(fake: FakeBotAPI) -> None:
    """A 429 with retry_after is retried by AIORateLimiter(max_retries=3) and delivered."""
    fake.fail_next("sendMessage", error_code=429, retry_after=1)
    app = build_app(fake, rate_limiter=AIORateLimiter(max_retries=3))
    app.add_handler(CommandHandler("start", start))
    async with running(app):
        fake.send_message(USER, USER, "/start")
        first, second = await fake.wait_for_calls("sendMessage", 2, timeout=6)
    assert first.error_code == 429
    assert first.response is not None
    assert first.response["parameters"] == {"retry_after": 1}
    assert second.ok
    assert second.time - first.time >= 1.0
    assert [m.text for m in fake.messages(USER)] == ["Hello Ann!"]


async def test_retry_after_raises_without_retries(fake: FakeBotAPI) -> None:
    """Without a rate limiter PTB raises RetryAfter with the server's retry_after."""
    fake.fail_next("sendMessage", error_code=429, retry_after=7)
    async with direct_bot(fake) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "hi")
        assert caught.value.retry_after.total_seconds() == 7  # type: ignore[union-attr]
        assert (await bot.send_message(USER, "hi")).text == "hi"


async def test_quiz_poll_round_trip(fake: FakeBotAPI) -> None:
    """The bot sends a quiz; the user's answer and the closing reach the handlers."""
    answers: asyncio.Queue[tuple[int, tuple[int, ...], str]] = asyncio.Queue()
    closed: asyncio.Queue[str] = asyncio.Queue()
    sent_polls: list[str] = []

    async def quiz(update: Update, context: Ctx) -> None:
        assert update.effective_chat is not None
        message = await context.bot.send_poll(
            update.effective_chat.id,
            "Which op fuses?",
            ["add", "torch.compile", "print"],
            type="quiz",
            is_anonymous=False,
            correct_option_ids=[1],
            explanation="It compiles graphs",
        )
        assert message.poll is not None
        sent_polls.append(message.poll.id)

    async def on_answer(update: Update, context: Ctx) -> None:
        answer = update.poll_answer
        assert answer is not None
        assert answer.user is not None
        await answers.put((answer.user.id, answer.option_ids, answer.option_persistent_ids[0]))

    async def on_poll(update: Update, context: Ctx) -> None:
        assert update.poll is not None
        if update.poll.is_closed:
            await closed.put(update.poll.id)

    app = build_app(fake)
    app.add_handler(CommandHandler("quiz", quiz))
    app.add_handler(PollAnswerHandler(on_answer))
    app.add_handler(PollHandler(on_poll))
    async with running(app):
        fake.send_message(USER, USER, "/quiz")
        call = await fake.wait_for_call("sendPoll")
        poll_id = call.result["poll"]["id"]
        fake.answer_poll(poll_id, USER, [1])
        user_id, option_ids, persistent = await asyncio.wait_for(answers.get(), 5)
        fake.close_poll(poll_id)
        closed_id = await asyncio.wait_for(closed.get(), 5)
    assert call.params["options"] == [
        {"text": "add"},
        {"text": "torch.compile"},
        {"text": "print"},
    ]
    assert call.params["is_anonymous"] is False
    assert call.params["correct_option_ids"] == [1]
    assert sent_polls == [poll_id]
    assert (user_id, option_ids, persistent) == (USER, (1,), "1")
    assert closed_id == poll_id
    state = fake.poll(poll_id)
    assert state["total_voter_count"] == 1
    assert state["options"][1]["voter_count"] == 1
    assert fake.last_message(USER).poll == state
    with pytest.raises(ValueError, match="closed"):
        fake.answer_poll(poll_id, USER + 1, [0])


async def test_send_document_multipart_and_download(fake: FakeBotAPI) -> None:
    """Multipart uploads record bytes; getFile plus the file route give them back."""
    payload = b"# Notes\n\nattention is all you need\n"
    async with direct_bot(fake) as bot:
        message = await bot.send_document(
            USER,
            InputFile(payload, filename="notes.md"),
            caption="<b>Your</b> notes",
            parse_mode=ParseMode.HTML,
        )
        assert message.document is not None
        downloaded = await (await bot.get_file(message.document.file_id)).download_as_bytearray()
    call = fake.calls("sendDocument")[0]
    upload = call.files["document"]
    assert (upload.filename, upload.data) == ("notes.md", payload)
    assert call.params["caption"] == "<b>Your</b> notes"
    assert message.caption == "Your notes"
    assert message.caption_entities[0].type == "bold"
    assert message.document.file_name == "notes.md"
    assert bytes(downloaded) == payload
    assert fake.stats()["downloadFile"] == 1


async def test_user_document_reaches_handler(fake: FakeBotAPI) -> None:
    """A document injected by the test can be downloaded by a MessageHandler."""
    got: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_document(update: Update, context: Ctx) -> None:
        assert update.message is not None
        assert update.message.document is not None
        file = await update.message.document.get_file()
        await got.put(bytes(await file.download_as_bytearray()))

    app = build_app(fake)
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    async with running(app):
        fake.send_document(USER, USER, b"print(1)\n", file_name="run.py", caption="check")
        assert await asyncio.wait_for(got.get(), 5) == b"print(1)\n"


async def test_forbidden_reaches_error_handler(fake: FakeBotAPI) -> None:
    """A 403 on sendMessage surfaces as telegram.error.Forbidden inside the bot."""
    errors: asyncio.Queue[object] = asyncio.Queue()
    blocked: asyncio.Queue[str] = asyncio.Queue()

    async def on_error(update: object, context: Ctx) -> None:
        await errors.put(context.error)

    async def on_member(update: Update, context: Ctx) -> None:
        assert update.my_chat_member is not None
        await blocked.put(update.my_chat_member.new_chat_member.status)

    app = build_app(fake)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(ChatMemberHandler(on_member))
    app.add_error_handler(on_error)
    fake.fail_next("sendMessage", error_code=403, chat_id=USER)
    async with running(app):
        fake.send_message(USER, USER, "/start")
        error = await asyncio.wait_for(errors.get(), 5)
        fake.block_bot(USER)
        status = await asyncio.wait_for(blocked.get(), 5)
        async with direct_bot(fake) as bot:
            with pytest.raises(Forbidden, match="blocked"):
                await bot.send_message(USER, "still there?")
    assert isinstance(error, Forbidden)
    assert "bot was blocked by the user" in str(error)
    assert status == "kicked"


async def test_get_updates_long_poll_offset_and_filters(fake: FakeBotAPI) -> None:
    """Long polling wakes on injection; offsets confirm; allowed_updates filters."""
    async with direct_bot(fake) as bot:
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await fake.wait_for_call("getMe")
        started = time.monotonic()
        fake.send_message(USER, USER, "hello")
        updates = await waiting
        assert time.monotonic() - started < 2
        assert [u.message.text for u in updates if u.message] == ["hello"]
        fake.send_message(USER, USER, "again")
        assert len(await bot.get_updates(timeout=0)) == 2  # nothing confirmed yet
        last = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
        assert [u.message.text for u in last if u.message] == ["again"]
        assert await bot.get_updates(offset=last[-1].update_id + 1, timeout=0) == ()
        fake.send_message(USER, USER, "ignored")
        query_id = fake.press_button_raw(USER, USER, 1, "x")
        only = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
        assert [u.callback_query.id for u in only if u.callback_query] == [query_id]
        started = time.monotonic()
        assert await bot.get_updates(offset=only[-1].update_id + 1, timeout=1) == ()
        assert time.monotonic() - started >= 0.9


async def test_errors_the_real_api_gives(fake: FakeBotAPI) -> None:
    """Bad markup, not-modified edits, long texts, bad callback data, unknown methods, token."""
    async with direct_bot(fake) as bot:
        message = await bot.send_message(USER, "*bold* 1\\.5", parse_mode=ParseMode.MARKDOWN_V2)
        assert message.text == "bold 1.5"
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, "version 2.0", parse_mode=ParseMode.MARKDOWN_V2)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, "if a < b", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(USER, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(
                USER,
                "hi",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("b", callback_data="é" * 33)]]
                ),
            )
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text(
                "*bold* 1\\.5", USER, message.message_id, parse_mode=ParseMode.MARKDOWN_V2
            )
        edited = await bot.edit_message_text("bold 1.5", USER, message.message_id)
        assert isinstance(edited, Message)
        assert edited.entities == ()
        with pytest.raises(BadRequest, match="not found"):
            await bot.delete_message(USER, 4242)
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")
        fake.delay_next("sendChatAction", 0.3)
        started = time.monotonic()
        assert await bot.send_chat_action(USER, "typing")
        assert time.monotonic() - started >= 0.3
        fake.fail_next("sendMessage", error_code=502)
        with pytest.raises(Exception, match="Bad Gateway"):
            await bot.send_message(USER, "hi")
    with pytest.raises(InvalidToken):
        async with direct_bot(fake, token="123:WRONG"):  # noqa: S106
            pass


async def test_commands_members_chat_photos(fake: FakeBotAPI) -> None:
    """setMyCommands per language, getChatMember statuses, getChat and media groups."""
    fake.send_message(GROUP, USER, "hi", chat_type="supergroup", chat_title="Torch club")
    fake.set_chat_member_status(GROUP, USER, "administrator")
    async with direct_bot(fake) as bot:
        await bot.set_my_commands([("today", "今日题目")], language_code="zh")
        await bot.set_my_commands([("today", "Today's question")])
        assert [c.description for c in await bot.get_my_commands(language_code="zh")] == [
            "今日题目"
        ]
        admin = await bot.get_chat_member(GROUP, USER)
        member = await bot.get_chat_member(GROUP, USER + 1)
        chat = await bot.get_chat(GROUP)
        album = await bot.send_media_group(
            GROUP,
            [
                InputMediaPhoto(PNG, filename="a.png"),
                InputMediaPhoto(PNG, filename="b.png", caption="two"),
            ],
        )
    assert fake.commands(language_code="zh") == [{"command": "today", "description": "今日题目"}]
    assert isinstance(admin, ChatMemberAdministrator)
    assert isinstance(member, ChatMemberMember)
    assert isinstance(chat, ChatFullInfo)
    assert chat.title == "Torch club"
    assert len({m.media_group_id for m in album}) == 1
    assert album[0].photo[-1].width == 2
    assert len(fake.calls("sendMediaGroup")[0].files) == 2
    assert [m.caption for m in fake.messages(GROUP)] == [None, "two"]


async def test_json_and_form_bodies(fake: FakeBotAPI) -> None:
    """Raw JSON and form bodies are decoded into typed params."""
    url = f"{fake.base_url}{fake.token}/sendMessage"
    markup = '{"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]}'
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"chat_id": USER, "text": "42"}) as response:
            assert (await response.json())["result"]["text"] == "42"
        form = {"chat_id": str(USER), "text": "7", "reply_markup": markup}
        async with session.post(url, data=form) as response:
            body = await response.json()
        async with session.get(f"{fake.base_url}{fake.token}/getMe") as response:
            me = await response.json()
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "1"
    first, second = fake.calls("sendMessage")
    assert first.params == {"chat_id": USER, "text": "42"}
    assert second.params["text"] == "7"
    assert second.params["chat_id"] == USER
    assert me["result"]["username"] == BOT_USERNAME


async def test_edited_message_and_reply(fake: FakeBotAPI) -> None:
    """edit_message yields an edited_message update; replies embed the original message."""
    edits: asyncio.Queue[tuple[str | None, bool]] = asyncio.Queue()

    async def on_edit(update: Update, context: Ctx) -> None:
        assert update.edited_message is not None
        await edits.put((update.edited_message.text, update.edited_message.edit_date is not None))

    async def on_text(update: Update, context: Ctx) -> None:
        assert update.message is not None
        replied = update.message.reply_to_message
        await update.message.reply_text(f"re: {replied.text if replied else None}")

    app = build_app(fake)
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit))
    app.add_handler(MessageHandler(filters.TEXT & filters.UpdateType.MESSAGE, on_text))
    async with running(app):
        first = fake.send_message(USER, USER, "first")
        await fake.wait_for_call("sendMessage")
        since = fake.mark()
        fake.send_message(USER, USER, "second", reply_to_message=first)
        reply = await fake.wait_for_call("sendMessage", since=since)
        fake.edit_message(USER, first, "first, fixed")
        edited = await asyncio.wait_for(edits.get(), 5)
    assert reply.params["text"] == "re: first"
    assert edited == ("first, fixed", True)
