"""Turn the shared renderers' Telegram HTML into Discord Markdown, at the edge."""

from __future__ import annotations

import html
import re

from bot.document import BulletList, CodeBlock, Document, Paragraph

_TAG = re.compile(r"<(/?)(b|strong|i|em|u|s|code|pre|a|blockquote|tg-spoiler)(?:\s[^>]*)?>")
_HREF = re.compile(r'href="([^"]*)"')
_MARKS = {"b": "**", "strong": "**", "i": "*", "em": "*", "u": "__", "s": "~~", "tg-spoiler": "||"}
# Characters Markdown would read as formatting in plain text.
_SPECIAL = re.compile(r"([\\*_~`|>#\[\]-])")


def escape(text: str) -> str:
    """Escape plain text so that Discord shows it as written."""
    return _SPECIAL.sub(r"\\\1", text)


def to_markdown(text: str) -> str:
    """Convert our HTML subset (b, i, code, pre, a, blockquote) into Discord Markdown."""
    out: list[str] = []
    pos = 0
    in_pre = False
    link: list[str] = []
    for match in _TAG.finditer(text):
        chunk = html.unescape(text[pos : match.start()])
        out.append(chunk if in_pre or _inside_code(out) else escape(chunk))
        pos = match.end()
        closing, name = match.group(1) == "/", match.group(2)
        if name == "pre":
            in_pre = not closing
            out.append("```\n" if not closing else "\n```")
        elif name == "code":
            if not in_pre:
                out.append("`")
        elif name == "a":
            if closing:
                out.append(f"]({link.pop() if link else ''})")
            else:
                href = _HREF.search(match.group(0))
                link.append(href.group(1) if href else "")
                out.append("[")
        elif name == "blockquote":
            out.append("" if closing else "> ")
        elif not in_pre:
            out.append(_MARKS[name])
    rest = html.unescape(text[pos:])
    out.append(rest if in_pre else escape(rest))
    return "".join(out)


def _inside_code(out: list[str]) -> bool:
    """Tell whether an inline code span is open (its text must not be escaped)."""
    return sum(1 for part in out if part == "`") % 2 == 1


def code_block(text: str, limit: int) -> tuple[str, bool]:
    """Put `text` in a code block of at most `limit` characters; say whether it was cut."""
    body = text.replace("```", "`\u200b``")
    fence = 8  # "```\n" and "\n```"
    if len(body) + fence <= limit:
        return f"```\n{body}\n```", False
    cut = body[: max(0, limit - fence - 2)]
    return f"```\n{cut}\n…\n```", True


def cut(text: str, limit: int) -> str:
    """Shorten text to `limit` characters, ending with … when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MARKDOWN_MARKS = {"bold": "**", "italic": "*"}


def document_markdown(document: Document) -> str:
    """Return a document as Discord Markdown: the Discord edge of rendering."""
    return "\n\n".join(_md_block(b) for b in document.blocks)


def _md_block(block: Paragraph | CodeBlock | BulletList) -> str:
    if isinstance(block, CodeBlock):
        body = block.text.replace("```", "`\u200b``")
        return f"```{block.language}\n{body}\n```"
    if isinstance(block, BulletList):
        return "\n".join("- " + _md_paragraph(item) for item in block.items)
    return _md_paragraph(block)


def _md_paragraph(paragraph: Paragraph) -> str:
    out = []
    for s in paragraph.spans:
        if s.style == "code":
            text = f"`{s.text.replace('`', 'ˋ')}`"
        else:
            mark = _MARKDOWN_MARKS.get(s.style, "")
            text = f"{mark}{escape(s.text)}{mark}" if s.text.strip() else s.text
        out.append(f"[{text}]({s.url})" if s.url is not None else text)
    return "".join(out)
