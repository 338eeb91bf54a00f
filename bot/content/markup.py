"""Read the bank's Markdown subset into a Document (paragraphs, bullets, bold, code, fences)."""

from __future__ import annotations

import re

from bot.document import Block, BulletList, CodeBlock, Document, Paragraph, Span, bold, code

_INLINE = re.compile(r"`([^`\n]+)`|\*\*(.+?)\*\*")
_FENCE = re.compile(r"^\s*```(\w+)?\s*$")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")


def spans(text: str) -> list[Span]:
    """Return the spans of one line: `code`, **bold** (code inside bold stays code), plain."""
    out: list[Span] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            out.append(Span(text[pos : match.start()]))
        if match.group(1) is not None:
            out.append(code(match.group(1)))
        else:
            out.extend(s if s.style == "code" else bold(s.text) for s in spans(match.group(2)))
        pos = match.end()
    if pos < len(text):
        out.append(Span(text[pos:]))
    return out


def to_document(markdown: str) -> Document:
    """Return paragraphs (lines kept), `- ` bullet lists and fenced code blocks as a Document."""
    blocks: list[Block] = []
    text: list[list[Span]] = []  # the lines of the paragraph being read
    bullets: list[Paragraph] = []

    def flush() -> None:
        if text:
            joined = [s for i, line in enumerate(text) for s in ([Span("\n")] if i else []) + line]
            blocks.append(Paragraph(tuple(joined)))
            text.clear()
        if bullets:
            blocks.append(BulletList(tuple(bullets)))
            bullets.clear()

    lines = markdown.strip("\n").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        bullet = _BULLET.match(line)
        if fence:
            flush()
            body: list[str] = []
            i += 1
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            blocks.append(CodeBlock("\n".join(body), fence.group(1) or ""))
        elif bullet:
            if text:
                flush()
            bullets.append(Paragraph(tuple(spans(bullet.group(1)))))
        elif not line.strip():
            flush()
        else:
            if bullets:
                flush()
            text.append(spans(line))
        i += 1
    flush()
    return Document(tuple(blocks))
