"""Documents at the three edges: Telegram HTML, Discord Markdown, terminal text."""

from __future__ import annotations

from bot.adapters.discord.markdown import document_markdown
from bot.adapters.telegram.markup import html_of, mention, to_html
from bot.adapters.terminal import to_terminal
from bot.content.markup import to_document
from bot.document import (
    BulletList,
    CodeBlock,
    Document,
    bold,
    code,
    doc,
    italic,
    lines,
    link,
    para,
    restyle,
)

# Every block and span kind, with text each platform would read as its own markup.
EVERYTHING = doc(
    lines(["Plain <b> & *star* _under_ ", bold("bold"), " ", italic("it")], [code("x < `y`")]),
    para(link("docs", "https://e.org/?a=1&b=2"), " ", mention("Ann <&>", "42")),
    BulletList((para("one"), para(bold("two")))),
    CodeBlock("if a < b and c & d:\n    print('```')", "python"),
    CodeBlock("raw <out>"),
)


def test_telegram_html_escapes_text_and_writes_each_kind() -> None:
    assert to_html(EVERYTHING) == (
        "Plain &lt;b&gt; &amp; *star* _under_ <b>bold</b> <i>it</i>\n"
        "<code>x &lt; `y`</code>\n\n"
        '<a href="https://e.org/?a=1&amp;b=2">docs</a> '
        '<a href="tg://user?id=42">Ann &lt;&amp;&gt;</a>\n\n'
        "• one\n• <b>two</b>\n\n"
        '<pre><code class="language-python">if a &lt; b and c &amp; d:\n'
        "    print('```')</code></pre>\n\n"
        "<pre>raw &lt;out&gt;</pre>"
    )


def test_telegram_takes_plain_words_escaped() -> None:
    assert html_of("1 < 2 & <b>") == "1 &lt; 2 &amp; &lt;b&gt;"
    assert html_of(doc(bold("x"))) == "<b>x</b>"


def test_discord_markdown_escapes_text_and_writes_each_kind() -> None:
    assert document_markdown(EVERYTHING) == (
        r"Plain <b\> & \*star\* \_under\_ **bold** *it*"  # a quote's ">" too
        "\n`x < ˋyˋ`\n\n"  # a backtick cannot close the code span early
        r"[docs](https://e.org/?a=1&b=2) [Ann <&\>](tg://user?id=42)"
        "\n\n"
        "- one\n- **two**\n\n"
        "```python\nif a < b and c & d:\n    print('`\u200b``')\n```\n\n"
        "```\nraw <out>\n```"
    )


def test_terminal_prints_words_and_colours_only_when_asked() -> None:
    assert to_terminal(EVERYTHING, color=False) == (
        "Plain <b> & *star* _under_ bold it\n"
        "x < `y`\n\n"
        "docs (https://e.org/?a=1&b=2) Ann <&>\n\n"  # a tg:// mention is the name alone
        "• one\n• two\n\n"
        "if a < b and c & d:\n    print('```')\n\n"
        "raw <out>"
    )
    coloured = to_terminal(doc(para("a ", bold("b"), " ", code("c"))), color=True)
    assert coloured == "a \033[1mb\033[0m \033[36mc\033[0m"


def test_text_is_the_words_alone() -> None:
    assert EVERYTHING.text.startswith("Plain <b> & *star* _under_ bold it\nx < `y`\n\ndocs Ann <&>")
    assert (doc("a") + doc("b")).blocks == doc("a", "b").blocks
    assert doc(None, "", "x") == Document((para(), para("x")))


def test_the_banks_markdown_becomes_a_document() -> None:
    read = to_document(
        "Use **`x.grad`** and `y`:\nnext line\n\n- one\n- **two**\n\n```python\na = 1 < 2\n```"
    )
    assert to_html(read) == (
        "Use <code>x.grad</code> and <code>y</code>:\nnext line\n\n"
        "• one\n• <b>two</b>\n\n"
        '<pre><code class="language-python">a = 1 &lt; 2</code></pre>'
    )
    assert to_html(restyle(to_document("a `b`"), "bold")) == "<b>a </b><code>b</code>"
