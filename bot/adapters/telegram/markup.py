"""Documents as Telegram HTML (parse_mode HTML): the Telegram edge of rendering."""

from __future__ import annotations

from html import escape

from bot.document import BulletList, CodeBlock, Document, Paragraph, Span, link

_TAGS = {"bold": "b", "italic": "i", "code": "code"}


def to_html(document: Document) -> str:
    """Return the document as the HTML subset the Bot API accepts."""
    return "\n\n".join(_block(b) for b in document.blocks)


def _block(block: Paragraph | CodeBlock | BulletList) -> str:
    if isinstance(block, CodeBlock):
        text = escape(block.text, quote=False)
        if not block.language:
            return f"<pre>{text}</pre>"
        return f'<pre><code class="language-{escape(block.language)}">{text}</code></pre>'
    if isinstance(block, BulletList):
        return "\n".join("• " + _paragraph(item) for item in block.items)
    return _paragraph(block)


def _paragraph(paragraph: Paragraph) -> str:
    return "".join(_span(s) for s in paragraph.spans)


def _span(s: Span) -> str:
    text = escape(s.text, quote=False)
    if s.style != "plain":
        tag = _TAGS[s.style]
        text = f"<{tag}>{text}</{tag}>"
    if s.url is not None:
        text = f'<a href="{escape(s.url)}">{text}</a>'
    return text


def html_of(message: Document | str) -> str:
    """Return a document, or plain words (escaped here), as Telegram HTML."""
    return to_html(
        message if isinstance(message, Document) else Document((Paragraph((Span(message),)),))
    )


def mention(name: str, user_id: str) -> Span:
    """Return a mention of a Telegram user: their name, linked to their tg:// address."""
    return link(name, f"tg://user?id={user_id}")
