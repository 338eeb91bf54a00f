"""A small document: what renderers build and each adapter turns into its own markup at the edge.

Blocks are paragraphs, code blocks and lists; a paragraph holds spans (plain, bold, italic,
code, link). Telegram HTML, Discord Markdown and terminal text are three small functions in
the adapters; nothing before them knows any platform's markup or escaping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Style = Literal["plain", "bold", "italic", "code"]


@dataclass(frozen=True)
class Span:
    """A run of text in one style; a link when `url` is set."""

    text: str
    style: Style = "plain"
    url: str | None = None


@dataclass(frozen=True)
class Paragraph:
    """A line (or several, with newlines in its spans) of styled text."""

    spans: tuple[Span, ...]


@dataclass(frozen=True)
class CodeBlock:
    """Preformatted text, such as code or a program's output."""

    text: str
    language: str = ""


@dataclass(frozen=True)
class BulletList:
    """Items, each one paragraph."""

    items: tuple[Paragraph, ...]


Block = Paragraph | CodeBlock | BulletList


@dataclass(frozen=True)
class Document:
    """Blocks, shown one after the other with a blank line between them."""

    blocks: tuple[Block, ...] = ()

    def __add__(self, other: Document) -> Document:
        return Document(self.blocks + other.blocks)

    @property
    def text(self) -> str:
        """Return the words without any markup (for a test, a log, a length check)."""
        return "\n\n".join(_plain(b) for b in self.blocks)


Inline = str | Span


def span(part: Inline) -> Span:
    """Return a span: a plain string becomes plain text."""
    return part if isinstance(part, Span) else Span(part)


def bold(text: str) -> Span:
    """Return bold text."""
    return Span(text, "bold")


def italic(text: str) -> Span:
    """Return italic text."""
    return Span(text, "italic")


def code(text: str) -> Span:
    """Return inline code."""
    return Span(text, "code")


def link(text: str, url: str) -> Span:
    """Return a link."""
    return Span(text, url=url)


def para(*parts: Inline) -> Paragraph:
    """Return a paragraph of the parts, in order."""
    return Paragraph(tuple(span(p) for p in parts if p != ""))


def doc(*blocks: Block | Inline | None) -> Document:
    """Return a document; a bare string or span is a paragraph of its own, None is skipped."""
    out: list[Block] = []
    for block in blocks:
        if block is None:
            continue
        out.append(para(block) if isinstance(block, str | Span) else block)
    return Document(tuple(out))


def lines(*parts: Iterable[Inline]) -> Paragraph:
    """Return one paragraph holding each iterable of parts on a line of its own."""
    spans: list[Span] = []
    for i, line in enumerate(parts):
        if i:
            spans.append(Span("\n"))
        spans.extend(span(p) for p in line)
    return Paragraph(tuple(spans))


def restyle(document: Document, style: Style) -> Document:
    """Return the document with its plain paragraph text in `style` (code stays code)."""

    def paragraph(p: Paragraph) -> Paragraph:
        return Paragraph(
            tuple(Span(s.text, style, s.url) if s.style == "plain" else s for s in p.spans)
        )

    blocks: list[Block] = []
    for block in document.blocks:
        if isinstance(block, Paragraph):
            blocks.append(paragraph(block))
        elif isinstance(block, BulletList):
            blocks.append(BulletList(tuple(paragraph(item) for item in block.items)))
        else:
            blocks.append(block)
    return Document(tuple(blocks))


def _plain(block: Block) -> str:
    if isinstance(block, CodeBlock):
        return block.text
    if isinstance(block, BulletList):
        return "\n".join("• " + _plain(item) for item in block.items)
    return "".join(s.text for s in block.spans)
