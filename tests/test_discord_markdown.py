"""The shared renderers' HTML becomes Discord Markdown at the edge."""

from __future__ import annotations

from bot.adapters.discord.markdown import code_block, to_markdown


def test_tags_become_markdown_and_entities_text() -> None:
    html = '<b>Bold</b> &amp; <i>it</i> <code>x[0]</code> <a href="https://e.org">link</a>'
    assert to_markdown(html) == "**Bold** & *it* `x[0]` [link](https://e.org)"


def test_plain_text_that_looks_like_markdown_is_escaped() -> None:
    assert to_markdown("a*b_c ~d~ `e` |f|") == r"a\*b\_c \~d\~ \`e\` \|f\|"


def test_pre_keeps_its_text_verbatim_in_a_fence() -> None:
    html = '<pre><code class="language-python">print(a * b)\n# &lt;tag&gt;</code></pre>'
    assert to_markdown(html) == "```\nprint(a * b)\n# <tag>\n```"


def test_code_block_is_cut_to_its_limit_and_says_so() -> None:
    block, cut = code_block("x" * 100, 50)
    assert cut and len(block) <= 50 and block.endswith("…\n```")
    whole, cut = code_block("ok", 50)
    assert (whole, cut) == ("```\nok\n```", False)
    fenced, _ = code_block("a```b", 50)
    assert fenced.count("```") == 2  # a fence in the output cannot close the block
