"""Documents as terminal text, bold and code coloured with ANSI when the terminal takes it."""

from __future__ import annotations

from bot.document import BulletList, CodeBlock, Document, Paragraph, Span

_ANSI = {"bold": "\033[1m", "italic": "\033[3m", "code": "\033[36m"}
_RESET = "\033[0m"


def to_terminal(document: Document, color: bool) -> str:
    """Return the document as lines for a terminal."""
    return "\n\n".join(_block(b, color) for b in document.blocks)


def _block(block: Paragraph | CodeBlock | BulletList, color: bool) -> str:
    if isinstance(block, CodeBlock):
        return block.text
    if isinstance(block, BulletList):
        return "\n".join("• " + _paragraph(item, color) for item in block.items)
    return _paragraph(block, color)


def _paragraph(paragraph: Paragraph, color: bool) -> str:
    return "".join(_span(s, color) for s in paragraph.spans)


def _span(s: Span, color: bool) -> str:
    text = s.text if s.url is None or s.url.startswith("tg:") else f"{s.text} ({s.url})"
    if color and s.style in _ANSI:
        return f"{_ANSI[s.style]}{text}{_RESET}"
    return text
