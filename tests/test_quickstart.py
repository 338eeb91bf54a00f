"""The README's quick start, end to end: the console session it describes, in both languages.

`studybot console` runs as a newcomer runs it: from a fresh folder, with no configuration (the
database goes to data/studybot.db there) and the shipped question bank, typing the commands the
README lists. Every reply of the transcript is checked. /run answers through a real local
runner, as root and as an ordinary user (uid 1000, in a user namespace when the suite runs as
root: the runner then builds its jail in user namespaces of its own). Where that cannot be (not
root, user namespaces off), everything else works the same and /run says in one sentence what
is missing and what an administrator runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import clean_env, ordinary_user_prefix, user_namespaces_allowed

NEEDS_ROOT = {
    "en": "/run cannot build its sandbox here without root: ",
    "zh": "/run 在这台机器上无法以非 root 身份建立沙箱：",
}

# The commands the README's quick start lists, in its order; a bare /run reads the lines after
# it up to ".".
SESSION = [
    "/daily",
    "B",
    "/answer",
    "/streak",
    "/stats",
    "/topics",
    "/question autograd",
    "2",
    "/timezone Asia/Shanghai",
    "/run print(torch.ones(2))",
    "/run\nx = torch.arange(4)\nprint(x.sum())\n.",
]


@dataclass(frozen=True)
class Expected:
    """What each reply must contain (regular expressions), in one language."""

    replies: dict[str, list[str]]
    ok: str
    took: str
    paste: str
    switch: str  # the /lang command that ends the session, and its reply
    switched: str


VERDICT_EN = r"(✅ Correct! The answer is B\.|❌ Not quite: you chose B, the answer is [A-D]\.)"
VERDICT_ZH = r"(✅ 答对了！答案是 B。|❌ 不对哦：你选了 B，正确答案是 [A-D]。)"
EXPECTED = {
    "en": Expected(
        replies={
            "welcome": ["Hi ", "/daily — Today's question", "Type a command, an option letter"],
            "/daily": ["📅 Daily question", r"Answer with a letter \(A–D\)"],
            "B": [VERDICT_EN, "🔥 Streak: 1 day"],
            "/answer": ["Quiz answer: "],
            "/streak": [r"🔥 Streak: [12] days?", "Longest: ", "Streak freezes: 0 of 2"],
            "/stats": ["Your statistics picture: ", r"Accuracy: (0|100)% \([01]/1\)"],
            "/topics": ["Topics", "autograd — Autograd", "Ask for one with /question autograd"],
            "/question autograd": ["❓ Question · Autograd", r"Answer with a letter \(A–D\)"],
            "2": [VERDICT_EN],
            "/timezone Asia/Shanghai": ["Time zone set to Asia/Shanghai."],
        },
        ok="✅ OK",
        took=r"cpu · \d+ ms",
        paste="Paste the code; end it with a line holding only a dot",
        switch="/lang zh",
        switched="好的，之后我会用中文和你交流。",
    ),
    "zh": Expected(
        replies={
            "welcome": ["你好", "/daily — 今日一题", "输入命令，或输入选项字母作答；/quit 退出。"],
            "/daily": ["📅 每日一题", "输入字母（A–D）"],
            "B": [VERDICT_ZH, "🔥 已连续打卡 1 天"],
            "/answer": ["选择题答案："],
            "/streak": [r"🔥 已连续打卡 [12] 天", "最长纪录：", "补签卡：0/2"],
            "/stats": ["你的统计图：", r"正确率：(0|100)%（[01]/1）"],
            "/topics": ["主题", "autograd — 自动求导", "/question autograd"],
            "/question autograd": ["❓ 练习题 · 自动求导", "输入字母（A–D）"],
            "2": [VERDICT_ZH],
            "/timezone Asia/Shanghai": ["时区已设为 Asia/Shanghai。"],
        },
        ok="✅ 运行成功",
        took=r"cpu · \d+ 毫秒",
        paste="请粘贴代码，最后单独一行输入一个英文句点",
        switch="/lang en",
        switched="I will speak English from now on.",
    ),
}


def transcript(folder: Path, lines: list[str], prefix: list[str]) -> list[str]:
    """Run the console on `lines` and return its replies: the welcome, then one per command."""
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "bot", "console"],
        input="\n".join(lines) + "\n",
        env=clean_env(),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return re.split(r"(?m)^> ", proc.stdout)


def check(reply: str, patterns: list[str], what: str) -> None:
    for pattern in patterns:
        assert re.search(pattern, reply), f"{what}: no {pattern!r} in\n{reply}"


@pytest.mark.parametrize("who", ["as-is", "ordinary-user"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_readme_quick_start_session(tmp_path: Path, lang: str, who: str) -> None:
    expected = EXPECTED[lang]
    prefix = ordinary_user_prefix() if who == "ordinary-user" else []
    runs = os.geteuid() == 0 or user_namespaces_allowed()
    if lang == "zh":  # a newcomer who switched with /lang zh, then came back
        transcript(tmp_path, ["/lang zh", "/quit"], prefix)
    replies = transcript(tmp_path, [*SESSION, expected.switch, "/quit"], prefix)
    welcome, *answers = replies
    check(welcome, expected.replies["welcome"], "welcome")
    for command, reply in zip(SESSION[:9], answers, strict=False):
        check(reply, expected.replies[command], command)
    one, block = answers[9], answers[10]
    if runs:
        ok = re.escape(expected.ok)
        check(one, [ok, expected.took, r"tensor\(\[1\., 1\.\]\)"], "/run")
        check(block, [re.escape(expected.paste), ok, r"tensor\(6\)"], "/run block")
    else:
        assert one.strip().splitlines()[-1].startswith(NEEDS_ROOT[lang])
        # Known by then, it is said at once, without asking for a block that would not run:
        # the lines meant for it are read as answers and each gets a hint.
        assert block.strip().startswith(NEEDS_ROOT[lang])
        hints, answers = answers[11:14], answers[:11] + answers[14:]
        assert all(re.search(expected.replies["/daily"][1], hint) for hint in hints), hints
    assert len(answers) == len(SESSION) + 2  # each command, the /lang switch and /quit
    assert answers[11].strip() == expected.switched
    assert answers[12] == ""  # /quit: nothing more
    assert (tmp_path / "data" / "studybot.db").exists()  # where the README says it goes
