"""Friend streaks as documents: invitations, the /buddy list, /streak's part, refusals."""

from __future__ import annotations

from collections.abc import Sequence

from bot.adapters.commands import Platform
from bot.document import Document, Inline, bold, doc, lines
from bot.errors import UserInputError
from bot.i18n import _, ngettext
from bot.services.buddies import INVITE_HOURS, MAX_FRIENDS, FriendStreak, InviteAnswer
from bot.services.model import Invitation, Lang
from bot.services.platform import FriendAtRisk
from bot.text import excerpt

DONE, WAITING = "✅", "⏳"


def invitation(lang: Lang, invite: Invitation) -> Document:
    """Render the invitation posted in the chat, above its Accept and Decline buttons."""
    return doc(
        _(
            lang,
            "🤝 {inviter} invites {invitee} to a friend streak: a day counts when you both "
            "answer a question that day, each in your own time zone.",
            inviter=invite.inviter.name,
            invitee=invite.invitee.name,
        ),
        ngettext(
            lang,
            "{invitee}, accept within {n} hour?",
            "{invitee}, accept within {n} hours?",
            INVITE_HOURS,
            invitee=invite.invitee.name,
        ),
    )


def accept_label(lang: Lang) -> str:
    """Label the invitation's accept button."""
    return _(lang, "✅ Accept")


def decline_label(lang: Lang) -> str:
    """Label the invitation's decline button."""
    return _(lang, "✖ Decline")


def end_label(lang: Lang, name: str) -> str:
    """Label a /buddy list's button that ends one friend streak."""
    return _(lang, "End with {name}", name=excerpt(name, 40))


def answered(lang: Lang, answer: InviteAnswer) -> Document:
    """Render what became of an invitation (it replaces the invitation)."""
    invite = answer.invitation
    if answer.outcome == "accepted":
        return doc(
            _(
                lang,
                "🤝 {invitee} accepted: {inviter} and {invitee} keep a friend streak from "
                "today. /buddy lists your friends, /streak shows the streaks.",
                inviter=invite.inviter.name,
                invitee=invite.invitee.name,
            )
        )
    if answer.outcome == "declined":
        return doc(
            _(
                lang,
                "{invitee} declined the friend streak with {inviter}.",
                inviter=invite.inviter.name,
                invitee=invite.invitee.name,
            )
        )
    return doc(_(lang, "This invitation expired. /buddy sends a new one."))


def friend_line(lang: Lang, f: FriendStreak) -> list[Inline]:
    """Return one friend's line: the pair's days and whether each has answered today."""
    days = ngettext(lang, "{n} day", "{n} days", f.days)
    return [
        bold(f.friend.name),
        ": 🔥 ",
        days,
        " · ",
        _(lang, "you {mark}", mark=DONE if f.mine_done else WAITING),
        " · ",
        _(
            lang,
            "{name} {mark}",
            name=f.friend.name,
            mark=DONE if f.friend_done else WAITING,
        ),
    ]


def friends(lang: Lang, found: Sequence[FriendStreak], platform: Platform) -> Document:
    """Render /buddy alone: each friend streak, or how to start one."""
    if not found:
        return doc(_(lang, "No friend streaks yet."), how_to_invite(lang, platform))
    head: list[Inline] = [
        bold(_(lang, "👥 Friend streaks ({n} of {limit})", n=len(found), limit=MAX_FRIENDS))
    ]
    return doc(
        lines(head, *(friend_line(lang, f) for f in found)),
        _(
            lang,
            "✅ answered today, ⏳ not yet, each in their own time zone. A day counts when "
            "you both answered on it.",
        ),
    )


def streak_part(lang: Lang, found: Sequence[FriendStreak]) -> Document:
    """Render the friend streaks under /streak (nothing without friends)."""
    if not found:
        return Document()
    head: list[Inline] = [bold(_(lang, "👥 Friend streaks"))]
    return doc(lines(head, *(friend_line(lang, f) for f in found)))


def caption_line(lang: Lang, found: Sequence[FriendStreak]) -> str | None:
    """Return the /stats caption's line of friend streaks, or None without friends."""
    if not found:
        return None
    each = ", ".join(f"{f.friend.name} {f.days}" for f in found)
    return _(lang, "👥 Friend streaks: {each}", each=each)


def reminder_lines(lang: Lang, at_risk: Sequence[FriendAtRisk]) -> list[str]:
    """Return the reminder's lines: each friend streak at risk, and whose answer it awaits."""
    out = []
    for f in at_risk:
        if f.needs_me and f.answered:
            line = _(
                lang,
                "🤝 {name} has answered; your {n}-day streak with {name} needs your answer today.",
                name=f.name,
                n=f.days,
            )
        elif f.needs_me and f.needs_friend:
            line = _(
                lang,
                "🤝 Your {n}-day streak with {name} needs both your answers today: neither of "
                "you has answered yet.",
                name=f.name,
                n=f.days,
            )
        elif f.needs_me:
            line = _(
                lang,
                "🤝 Your {n}-day streak with {name} needs your answer today.",
                name=f.name,
                n=f.days,
            )
        else:
            line = _(
                lang,
                "⏳ {name} has not answered yet today: your {n}-day streak together ends "
                "unless {name} does. A nudge in your chat may help.",
                name=f.name,
                n=f.days,
            )
        out.append(line)
    return out


def ended(lang: Lang, name: str) -> Document:
    """Confirm that a friend streak ended."""
    return doc(_(lang, "Your friend streak with {name} has ended.", name=name))


def how_to_invite(lang: Lang, platform: Platform) -> str:
    """Say how to invite someone on this platform."""
    if platform == "discord":
        return _(
            lang,
            "Invite a member of a server channel with /buddy friend:@name; they accept "
            "with a button. /buddy friend:@name action:end ends a friend streak.",
        )
    return _(
        lang,
        "In a group, reply /buddy to a message of the member you invite; they accept with "
        "a button. /buddy end name ends a friend streak.",
    )


def console_refusal(lang: Lang) -> Document:
    """Say that the console offers no friend streaks."""
    return doc(
        _(
            lang,
            "Friend streaks need Telegram or Discord: a chat with other people to invite.",
        )
    )


def problem(lang: Lang, err: UserInputError, platform: Platform) -> Document | None:
    """Render why a /buddy request or press was refused; None for keys that are not ours."""
    name = excerpt(str(err.params.get("name", "")), 60)
    limit = err.params.get("limit", MAX_FRIENDS)
    texts = {
        "usage_buddy": how_to_invite(lang, platform),
        "buddy_needs_group": (
            _(lang, "Friend streaks start in a server channel, not in a DM.")
            if platform == "discord"
            else _(lang, "Friend streaks start in a group: reply /buddy to a member's message.")
        )
        + " "
        + _(lang, "/buddy alone lists your friends anywhere."),
        "buddy_bot": _(lang, "Bots do not answer questions: invite a person."),
        "buddy_self": _(lang, "You cannot invite yourself: invite another member."),
        "buddy_already": _(
            lang, "You and {name} are friends already. /streak shows your streak.", name=name
        ),
        "buddy_pending": _(
            lang,
            "An invitation between you and {name} is already waiting for an answer.",
            name=name,
        ),
        "buddy_limit_you": _(
            lang,
            "At most {limit} friends each: you have {limit}. Ending one makes room.",
            limit=limit,
        ),
        "buddy_limit": _(
            lang, "At most {limit} friends each: {name} has {limit}.", limit=limit, name=name
        ),
        "buddy_invite_gone": _(lang, "This invitation is no longer open."),
        "buddy_not_yours": _(lang, "Only {name} can answer this invitation.", name=name),
        "buddy_not_your_list": _(lang, "Only whoever asked for this list can use its buttons."),
        "buddy_not_friend": _(
            lang, "You have no friend streak with {name}. /buddy lists your friends.", name=name
        ),
    }
    return doc(texts[err.key]) if err.key in texts else None
