"""Typed messages between the bot and the runner, and their JSON wire form.

The wire is newline-delimited JSON over a stream: the client sends one request per connection
and reads messages until the final one. This module must stay import-light: the bot process
loads it and must never import torch.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

Device = Literal["auto", "cpu", "gpu"]
Status = Literal["ok", "error", "timeout", "memory", "killed", "rejected", "crashed"]

DEVICES: tuple[str, ...] = get_args(Device)
STATUSES: tuple[str, ...] = get_args(Status)

# Results carry files as base64, so a line can be large; both ends use this as the stream limit.
MAX_LINE_BYTES = 64 * 1024 * 1024
# Input files a request hands to its job (grading inputs): at most this many, this large in all.
MAX_INPUT_FILES = 4
MAX_INPUT_BYTES = 8 * 1024 * 1024
# An input file's name: plain, in the job's own directory, never hidden.
INPUT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


# The runner's address, as both ends spell it; TCP beyond these needs a token this long.
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
MIN_RUNNER_TOKEN = 16


def parse_runner_address(url: str) -> tuple[str, str, int]:
    """Split "unix:/path" (or a bare path) or "tcp://HOST:PORT" into (kind, where, port).

    TCP beyond loopback needs STUDYBOT_RUNNER_TOKEN (checked by the settings).
    """
    if url.startswith("tcp://"):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ValueError("expected tcp://HOST:PORT with a port number")
        return "tcp", parts.hostname, port
    if "://" in url:
        raise ValueError("expected unix:/path or tcp://HOST:PORT")
    path = url.removeprefix("unix:")
    if not path:
        raise ValueError("expected unix:/path or tcp://HOST:PORT")
    return "unix", path, 0


def beyond_loopback(url: str | None) -> bool:
    """Tell whether a runner address is TCP on an address other than loopback."""
    if not url:
        return False
    kind, host, _ = parse_runner_address(url)
    return kind == "tcp" and host not in LOOPBACK_HOSTS


class ProtocolError(ValueError):
    """A message on the wire is not what the protocol allows."""


@dataclass(frozen=True)
class RunFile:
    """A file the snippet left in its working directory (or, in a request, finds there)."""

    name: str
    data: bytes
    is_image: bool = False


@dataclass(frozen=True)
class RunRequest:
    """Run `code` for the user identified by `user_key` on `device`.

    `files` are put in the job's directory before the code starts (grading inputs).
    """

    code: str
    user_key: str
    device: Device = "auto"
    files: tuple[RunFile, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """What happened to one run request."""

    status: Status
    exit_code: int | None
    signal: int | None
    device: str
    duration_ms: float
    stdout: str
    stderr: str
    output_truncated: bool
    files: tuple[RunFile, ...] = ()
    reason: str = ""
    retry_after_s: float | None = None

    @classmethod
    def rejected(cls, reason: str, retry_after_s: float | None = None) -> RunResult:
        """Build a result for a request that never ran."""
        return cls("rejected", None, None, "", 0.0, "", "", False, (), reason, retry_after_s)

    @classmethod
    def crashed(cls, reason: str) -> RunResult:
        """Build a result for a request whose runner went away."""
        return cls("crashed", None, None, "", 0.0, "", "", False, (), reason)


@dataclass(frozen=True)
class RunnerInfo:
    """The runner's isolation level, its devices and the status of each protection."""

    level: str
    devices: tuple[str, ...]
    protections: dict[str, bool] = field(default_factory=dict)
    draining: bool = False  # stopping: refuses new jobs, finishes those it took
    running: int = 0  # jobs taken and not yet answered (queued ones included)


# -- encoding -------------------------------------------------------------------------------


def dump_line(message: dict[str, Any]) -> bytes:
    """Encode one message as a JSON line."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def load_line(line: bytes) -> dict[str, Any]:
    """Decode one JSON line into a message dict."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"not a JSON line: {e}") from e
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a message must be an object with a string 'type'")
    return message


def request_to_wire(request: RunRequest) -> dict[str, Any]:
    """Encode a run request."""
    message: dict[str, Any] = {
        "type": "run",
        "code": request.code,
        "user_key": request.user_key,
        "device": request.device,
    }
    if request.files:
        message["files"] = [
            {"name": f.name, "data": base64.b64encode(f.data).decode()} for f in request.files
        ]
    return message


def request_from_wire(message: dict[str, Any]) -> RunRequest:
    """Decode and validate a run request."""
    code, user_key, device = message.get("code"), message.get("user_key"), message.get("device")
    if not isinstance(code, str) or not isinstance(user_key, str) or not user_key:
        raise ProtocolError("a run request needs string 'code' and non-empty 'user_key'")
    if device not in DEVICES:
        raise ProtocolError(f"'device' must be one of {', '.join(DEVICES)}")
    return RunRequest(
        code=code,
        user_key=user_key,
        device=cast(Device, device),
        files=_input_files(message.get("files", [])),
    )


def _input_files(entries: object) -> tuple[RunFile, ...]:
    """Decode a request's input files: few, small, with plain and distinct names."""
    if not isinstance(entries, list) or len(entries) > MAX_INPUT_FILES:
        raise ProtocolError(f"'files' must be a list of at most {MAX_INPUT_FILES} files")
    files: list[RunFile] = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        data = entry.get("data") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not INPUT_NAME.match(name) or not isinstance(data, str):
            raise ProtocolError("an input file needs a plain 'name' and base64 'data'")
        try:
            files.append(RunFile(name, base64.b64decode(data, validate=True)))
        except ValueError as e:
            raise ProtocolError(f"input file {name!r} is not base64") from e
    if len({f.name for f in files}) != len(files):
        raise ProtocolError("input files need distinct names")
    if sum(len(f.data) for f in files) > MAX_INPUT_BYTES:
        raise ProtocolError(f"input files over {MAX_INPUT_BYTES // (1024 * 1024)} MiB in all")
    return tuple(files)


def result_to_wire(result: RunResult) -> dict[str, Any]:
    """Encode a run result."""
    return {
        "type": "result",
        "status": result.status,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "device": result.device,
        "duration_ms": result.duration_ms,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "output_truncated": result.output_truncated,
        "files": [
            {"name": f.name, "data": base64.b64encode(f.data).decode(), "is_image": f.is_image}
            for f in result.files
        ],
        "reason": result.reason,
        "retry_after_s": result.retry_after_s,
    }


def result_from_wire(message: dict[str, Any]) -> RunResult:
    """Decode a run result, raising ProtocolError on a malformed one."""
    try:
        status = message["status"]
        if status not in STATUSES:
            raise ProtocolError(f"unknown status {status!r}")
        files = tuple(
            RunFile(str(f["name"]), base64.b64decode(f["data"], validate=True), bool(f["is_image"]))
            for f in message.get("files", [])
        )
        retry = message.get("retry_after_s")
        return RunResult(
            status=cast(Status, status),
            exit_code=_opt_int(message.get("exit_code")),
            signal=_opt_int(message.get("signal")),
            device=str(message["device"]),
            duration_ms=float(message["duration_ms"]),
            stdout=str(message["stdout"]),
            stderr=str(message["stderr"]),
            output_truncated=bool(message["output_truncated"]),
            files=files,
            reason=str(message.get("reason", "")),
            retry_after_s=None if retry is None else float(retry),
        )
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, ProtocolError):
            raise
        raise ProtocolError(f"malformed result: {e}") from e


def info_to_wire(info: RunnerInfo) -> dict[str, Any]:
    """Encode the runner's description."""
    return {
        "type": "info",
        "level": info.level,
        "devices": list(info.devices),
        "protections": dict(info.protections),
        "draining": info.draining,
        "running": info.running,
    }


def info_from_wire(message: dict[str, Any]) -> RunnerInfo:
    """Decode the runner's description."""
    try:
        protections = message["protections"]
        if not isinstance(protections, dict):
            raise ProtocolError("'protections' must be an object")
        return RunnerInfo(
            level=str(message["level"]),
            devices=tuple(str(d) for d in message["devices"]),
            protections={str(k): bool(v) for k, v in protections.items()},
            # Absent from a runner older than draining: it never drains, and says nothing.
            draining=bool(message.get("draining", False)),
            running=_opt_int(message.get("running", 0)) or 0,
        )
    except (KeyError, TypeError) as e:
        raise ProtocolError(f"malformed info: {e}") from e


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"expected an integer or null, got {value!r}")
    return value
