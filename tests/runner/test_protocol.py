"""Wire format of the runner API: round trips and rejection of malformed messages."""

from __future__ import annotations

import pytest

from bot.runner.protocol import (
    ProtocolError,
    RunFile,
    RunnerInfo,
    RunRequest,
    RunResult,
    dump_line,
    info_from_wire,
    info_to_wire,
    load_line,
    request_from_wire,
    request_to_wire,
    result_from_wire,
    result_to_wire,
)


def test_request_round_trip() -> None:
    request = RunRequest(code="print('é')\n", user_key="tg:12345", device="gpu")
    assert request_from_wire(load_line(dump_line(request_to_wire(request)))) == request


def test_result_round_trip_with_binary_files() -> None:
    result = RunResult(
        status="ok",
        exit_code=0,
        signal=None,
        device="cpu",
        duration_ms=12.5,
        stdout="tensor(1.)\n",
        stderr="\ufffd",
        output_truncated=True,
        files=(
            RunFile("plot.png", b"\x89PNG\r\n\x1a\n\x00\xff", True),
            RunFile("a.txt", b"", False),
        ),
        reason="",
        retry_after_s=None,
    )
    line = dump_line(result_to_wire(result))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert result_from_wire(load_line(line)) == result


def test_rejected_result_round_trip() -> None:
    result = RunResult.rejected("rate_limited", retry_after_s=12.0)
    assert result_from_wire(load_line(dump_line(result_to_wire(result)))) == result


def test_info_round_trip() -> None:
    info = RunnerInfo("strong", ("cpu", "cuda:0"), {"seccomp": True, "landlock": False})
    assert info_from_wire(load_line(dump_line(info_to_wire(info)))) == info


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b'{"no_type": 1}\n', b"\xff\n"])
def test_malformed_lines_rejected(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        load_line(line)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "run", "code": 1, "user_key": "u", "device": "cpu"},
        {"type": "run", "code": "x", "user_key": "", "device": "cpu"},
        {"type": "run", "code": "x", "user_key": "u", "device": "tpu"},
    ],
)
def test_invalid_requests_rejected(message: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        request_from_wire(message)


def test_invalid_results_rejected() -> None:
    wire = result_to_wire(RunResult.crashed("x"))
    with pytest.raises(ProtocolError):
        result_from_wire({**wire, "status": "exploded"})
    with pytest.raises(ProtocolError):
        result_from_wire({**wire, "exit_code": "0"})
    with pytest.raises(ProtocolError):
        result_from_wire({k: v for k, v in wire.items() if k != "stdout"})


def test_protocol_and_client_import_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bot.runclient, bot.runner.protocol; "
        "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'pyseccomp')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
