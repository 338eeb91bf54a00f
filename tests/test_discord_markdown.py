"""Discord's cuts for its limits (the Markdown of documents is in test_document)."""

from __future__ import annotations

from bot.adapters.discord.markdown import code_block


def test_code_block_is_cut_to_its_limit_and_says_so() -> None:
    block, cut = code_block("x" * 100, 50)
    assert cut and len(block) <= 50 and block.endswith("…\n```")
    whole, cut = code_block("ok", 50)
    assert (whole, cut) == ("```\nok\n```", False)
    fenced, _ = code_block("a```b", 50)
    assert fenced.count("```") == 2  # a fence in the output cannot close the block
