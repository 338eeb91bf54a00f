"""The deployment files, checked without Docker: hadolint, the Compose schema, and their rules."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor/compose-spec.json"


def _tool(name: str) -> Any:
    """Import a script of tools/ (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Reset:
    """Compose's !reset tag: the key is removed from what the base file set."""


class ComposeLoader(yaml.SafeLoader):
    """A YAML loader that knows Compose's !reset and !override tags."""


ComposeLoader.add_constructor("!reset", lambda loader, node: _Reset())
ComposeLoader.add_constructor(
    "!override",
    lambda loader, node: loader.construct_object(node, deep=True),
)


def load(name: str) -> dict[str, Any]:
    """Load a compose file as Compose reads it."""
    data = yaml.load((ROOT / name).read_text(encoding="utf-8"), Loader=ComposeLoader)  # noqa: S506 - a SafeLoader
    assert isinstance(data, dict)
    return data


def merge(base: Any, override: Any) -> Any:
    """Merge an override file into a base as `docker compose -f A -f B` does (maps deep)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if isinstance(value, _Reset):
                merged.pop(key, None)
            else:
                merged[key] = merge(base.get(key), value) if key in base else value
        return merged
    return override


def strip_resets(data: Any) -> Any:
    """Drop !reset keys (a file on its own: nothing to reset)."""
    if isinstance(data, dict):
        return {k: strip_resets(v) for k, v in data.items() if not isinstance(v, _Reset)}
    return data


def validate(data: dict[str, Any]) -> None:
    """Validate against the Compose specification's JSON schema."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)


def test_dockerfile_passes_hadolint_without_a_warning() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    proc = subprocess.run(
        [str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_dockerfile_builds_a_pinned_wheel_and_runs_the_bot_unprivileged() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2  # build stage, runtime stage
    assert "pip wheel" in text and "pip install -e" not in text
    assert "-c constraints-image.txt" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", text, re.MULTILINE)


def test_image_constraints_pin_every_runtime_dependency_and_the_cpu_torch_version() -> None:
    # Names, not versions: this environment may be newer than the image's pins.
    needed = set(_tool("image_constraints").closure("studybot"))
    pinned = dict(
        line.split("==")
        for line in (ROOT / "constraints-image.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    assert needed <= set(pinned), "run tools/image_constraints.py"
    cpu = (ROOT / "constraints-cpu.txt").read_text(encoding="utf-8")
    (version,) = re.findall(r"^torch==(\S+)\+cpu$", cpu, re.MULTILINE)
    assert pinned["torch"] == version


@pytest.mark.parametrize("path", [".venv/bin/python", "data/studybot.db", ".env", ".git/HEAD"])
def test_build_context_leaves_out_secrets_data_and_history(path: str) -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"  # everything is out unless named
    kept = [r[1:].rstrip("/") for r in rules if r.startswith("!")]
    assert not any(path == k or path.startswith(k + "/") for k in kept)


def test_compose_files_follow_the_compose_specification() -> None:
    base, cpu = load("compose.yaml"), load("compose.cpu.yaml")
    validate(base)
    validate(strip_resets(cpu))
    validate(merge(base, cpu))


def test_compose_gives_the_gpu_to_the_runner_and_nothing_to_the_bot() -> None:
    services = load("compose.yaml")["services"]
    bot, runner = services["bot"], services["runner"]
    devices = runner["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "deploy" not in bot
    # The bot: non-root, no capabilities, its .env, a named volume for the database.
    assert bot["user"] == "10001:10001" and bot["cap_drop"] == ["ALL"]
    assert "cap_add" not in bot and "no-new-privileges:true" in bot["security_opt"]
    assert bot["env_file"] == ".env"
    assert "studybot-data:/app/data" in bot["volumes"]
    assert "studybot-data" in load("compose.yaml")["volumes"]
    # The runner: its own settings (no .env, no bot token), only SYS_ADMIN added, a token.
    assert "env_file" not in runner
    assert not [k for k in runner["environment"] if k.startswith("TELEGRAM_")]
    assert runner["cap_add"] == ["SYS_ADMIN"]
    assert runner["environment"]["STUDYBOT_RUNNER_TOKEN"].startswith("${STUDYBOT_RUNNER_TOKEN:?")
    assert bot["environment"]["STUDYBOT_RUNNER_URL"] == "tcp://runner:8765"
    for service in (bot, runner):
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "bot.metrics.probe"]


def test_cpu_override_removes_only_the_gpu_reservation() -> None:
    base, merged = load("compose.yaml"), merge(load("compose.yaml"), load("compose.cpu.yaml"))
    assert "devices" not in merged["services"]["runner"]["deploy"]["resources"]["reservations"]
    base["services"]["runner"]["deploy"]["resources"]["reservations"].pop("devices")
    assert merged == base


def test_nightly_backup_is_a_one_shot_service_on_the_data_volume() -> None:
    backup = load("compose.yaml")["services"]["backup"]
    assert backup["profiles"] == ["backup"] and backup["restart"] == "no"
    assert "studybot-data:/app/data" in backup["volumes"]
    assert "studybot db backup" in backup["command"][0]
    assert "studybot db check" in backup["command"][0]


def test_systemd_unit_delegates_a_cgroup_and_survives_a_jobs_oom_kill() -> None:
    # Tested for real in a cgroup v2 VM (README, "A runner under systemd"); here its rules.
    unit = (ROOT / "deploy/systemd/studybot-runner.service").read_text()
    service = unit.split("[Service]", 1)[1].split("[Install]", 1)[0]
    settings: dict[str, list[str]] = {}
    for line in service.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            settings.setdefault(key, []).append(value)
    assert settings["Delegate"] == ["yes"]
    assert settings["OOMPolicy"] == ["continue"]
    assert "STUDYBOT_SANDBOX_MIN_LEVEL=strong" in settings["Environment"]
    assert settings["ExecStart"] == ["/opt/studybot/.venv/bin/studybot runner"]
    # What would keep the runner from building its jail: a read-only cgroupfs, systemd's own
    # system call filter or namespace ban, a capability set without CAP_SYS_ADMIN.
    for forbidden in ("ProtectControlGroups", "SystemCallFilter", "RestrictNamespaces"):
        assert forbidden not in settings, forbidden
    caps = settings["CapabilityBoundingSet"][0].split()
    assert {"CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"} <= set(caps)
    assert "EnvironmentFile" in settings  # the token, kept out of the unit


def test_swarm_stack_follows_the_compose_specification_and_spreads_runs_over_runners() -> None:
    stack = load("deploy/swarm/stack.yaml")
    validate(stack)
    services = stack["services"]
    bot, runner, gpu = services["bot"], services["runner"], services["runner-gpu"]
    compose = load("compose.yaml")["services"]
    assert (
        bot["deploy"]["replicas"] == 1 and bot["deploy"]["update_config"]["order"] == "stop-first"
    )
    assert "studybot-data:/app/data" in bot["volumes"]
    assert bot["environment"]["STUDYBOT_RUNNER_URL"] == "tcp://tasks.runner:8765"
    assert bot["user"] == "10001:10001" and bot["cap_drop"] == ["ALL"] and bot["read_only"]
    assert runner["deploy"]["replicas"] == 3 and runner["deploy"]["endpoint_mode"] == "dnsrr"
    # The runners' settings as compose's, but the token: a Docker secret for every service.
    expected = dict(compose["runner"]["environment"])
    expected.pop("STUDYBOT_RUNNER_TOKEN")
    for service in (runner, gpu):
        assert service["environment"] == expected
        assert service["cap_add"] == ["SYS_ADMIN"]
        assert [s["source"] for s in service["secrets"]] == ["STUDYBOT_RUNNER_TOKEN"]
        assert service["entrypoint"][-1] == "/usr/local/bin/secret-env"
    assert {s["source"] for s in bot["secrets"]} == {"TELEGRAM_BOT_TOKEN", "STUDYBOT_RUNNER_TOKEN"}
    assert all(s["external"] for s in stack["secrets"].values())
    assert stack["configs"]["secret-env"]["file"] == "./secret-env.sh"
    # GPU runners: on gpu=true nodes only, one GPU each, answering as tasks.runner too.
    assert gpu["deploy"]["placement"]["constraints"] == ["node.labels.gpu == true"]
    (gpu_resource,) = gpu["deploy"]["resources"]["reservations"]["generic_resources"]
    assert gpu_resource["discrete_resource_spec"] == {"kind": "NVIDIA-GPU", "value": 1}
    assert gpu["networks"]["studybot"]["aliases"] == ["runner"]


def test_swarm_secret_wrapper_exports_each_secret_under_its_name(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "STUDYBOT_RUNNER_TOKEN").write_text("a b$c")
    (secrets / "not-a-name").write_text("x")
    script = (ROOT / "deploy/swarm/secret-env.sh").read_text()
    script = script.replace("/run/secrets/", f"{secrets}/")
    proc = subprocess.run(
        ["/bin/sh", "-c", script, "secret-env", "sh", "-c", 'printf %s "$STUDYBOT_RUNNER_TOKEN"'],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "a b$c", "")
