"""Render the bank's Markdown subset to Telegram HTML."""

from __future__ import annotations

import html
import re

_INLINE = re.compile(r"`([^`\n]+)`|\*\*(.+?)\*\*")


def _inline(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[pos : match.start()], quote=False))
        if match.group(1) is not None:
            out.append(f"<code>{html.escape(match.group(1), quote=False)}</code>")
        else:
            out.append(f"<b>{_inline(match.group(2))}</b>")
        pos = match.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def to_html(markdown: str) -> str:
    """Convert paragraphs, `- ` bullets, **bold**, `code` and fenced blocks to Telegram HTML."""
    lines = markdown.strip("\n").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^\s*```(\w+)?\s*$", line)
        if fence:
            body: list[str] = []
            i += 1
            while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            code = html.escape("\n".join(body), quote=False)
            lang = fence.group(1)
            if lang:
                out.append(f'<pre><code class="language-{lang}">{code}</code></pre>')
            else:
                out.append(f"<pre>{code}</pre>")
            i += 1
            continue
        bullet = re.match(r"^\s*[-*]\s+(.*)$", line)
        if bullet:
            out.append("• " + _inline(bullet.group(1)))
        else:
            out.append(_inline(line))
        i += 1
    return "\n".join(out)
