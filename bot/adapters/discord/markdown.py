"""Documents as Discord Markdown, and the cuts Discord's limits need: the Discord edge."""

from __future__ import annotations

import re

from bot.document import BulletList, CodeBlock, Document, Paragraph, doc

# Characters Markdown would read as formatting in plain text.
_SPECIAL = re.compile(r"([\\*_~`|>#\[\]-])")


def escape(text: str) -> str:
    """Escape plain text so that Discord shows it as written."""
    return _SPECIAL.sub(r"\\\1", text)


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


def markdown_of(message: Document | str) -> str:
    """Return a document, or plain words (escaped here), as Discord Markdown."""
    return document_markdown(message if isinstance(message, Document) else doc(message))


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
