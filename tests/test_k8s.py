"""The Kubernetes manifests, checked without a cluster: each overlay built with `kubectl
kustomize`, every document validated strictly against a pinned Kubernetes version, and the
deployment's rules (deploy/k8s/README.md) checked on what the overlay produces."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy/k8s"
# The oldest Kubernetes these manifests are for (appArmorProfile is a field from 1.30 on), and
# the schemas kubernetes-validate ships for it: nothing is downloaded.
KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ["cpu", "gpu"]
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed: `kubectl kustomize` builds the overlays"
)

_BUILT: dict[str, list[dict[str, Any]]] = {}


def build(overlay: str) -> list[dict[str, Any]]:
    """Return the documents `kubectl kustomize deploy/k8s/overlays/<overlay>` prints."""
    if overlay not in _BUILT:
        assert KUBECTL is not None
        proc = subprocess.run(
            [KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        _BUILT[overlay] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return _BUILT[overlay]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def env(c: dict[str, Any]) -> dict[str, Any]:
    """A container's env as name -> value, or -> valueFrom."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert isinstance(labels, dict)
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # no matchExpressions here
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_builds_and_every_document_is_valid_kubernetes(overlay: str) -> None:
    docs = build(overlay)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        ["Namespace", "PersistentVolumeClaim", "NetworkPolicy", "HorizontalPodAutoscaler"]
        + ["Deployment", "Service"] * 2
    )
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "studybot"


def test_example_secrets_are_valid_and_named_as_the_manifests_use_them() -> None:
    docs = [d for d in yaml.safe_load_all((K8S / "secret.example.yaml").read_text()) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert {d["metadata"]["name"] for d in docs} == {"studybot-bot-env", "studybot-runner-token"}
    # Not part of any kustomization: no token is applied or committed with the manifests.
    for kustomization in K8S.rglob("kustomization.yaml"):
        assert "secret" not in kustomization.read_text().split("resources:", 1)[-1]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_runners_are_two_or_more_behind_a_headless_service(overlay: str) -> None:
    docs = build(overlay)
    runner, service = find(docs, "Deployment", "runner"), find(docs, "Service", "runner")
    assert runner["spec"]["replicas"] >= 2
    assert service["spec"]["clusterIP"] == "None"
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels(runner))
    assert [p["port"] for p in service["spec"]["ports"]] == [8765]
    assert not service["spec"].get("publishNotReadyAddresses")  # a draining pod leaves the name
    bot = container(find(docs, "Deployment", "bot"))
    assert env(bot)["STUDYBOT_RUNNER_URL"] == "tcp://runner:8765"


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_bot_is_one_unprivileged_replica_with_its_database_on_a_claim(overlay: str) -> None:
    docs = build(overlay)
    bot = find(docs, "Deployment", "bot")
    spec = bot["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    c = container(bot)
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["runAsNonRoot"] is True
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert "privileged" not in sc
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    claim = volumes[mounts["/app/data"]]["persistentVolumeClaim"]["claimName"]
    assert find(docs, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert volumes[mounts["/tmp"]]["emptyDir"]["medium"] == "Memory"
    # compose.yaml's environment, and its .env as a Secret.
    assert {k: v for k, v in env(c).items() if isinstance(v, str)} == {
        "STUDYBOT_DATABASE": "/app/data/studybot.db",
        "STUDYBOT_RUNNER_URL": "tcp://runner:8765",
        "STUDYBOT_METRICS_LISTEN": "0.0.0.0:9464",
        "STUDYBOT_WEBHOOK_LISTEN": "0.0.0.0:8080",
    }
    assert c["envFrom"] == [{"secretRef": {"name": "studybot-bot-env"}}]
    assert "resources" not in c or "nvidia.com/gpu" not in c["resources"].get("limits", {})


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tokens_come_from_secrets_and_the_runner_never_sees_the_bots(overlay: str) -> None:
    docs = build(overlay)
    ref = {"secretKeyRef": {"name": "studybot-runner-token", "key": "STUDYBOT_RUNNER_TOKEN"}}
    bot, runner = (container(find(docs, "Deployment", n)) for n in ("bot", "runner"))
    assert env(bot)["STUDYBOT_RUNNER_TOKEN"] == ref
    assert env(runner)["STUDYBOT_RUNNER_TOKEN"] == ref
    assert "envFrom" not in runner
    assert not [k for k in env(runner) if k.startswith(("TELEGRAM_", "DISCORD_"))]
    assert not [d for d in docs if d["kind"] in ("Secret", "ConfigMap")]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_runner_runs_as_compose_runs_it(overlay: str) -> None:
    docs = build(overlay)
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["runner"]
    runner = find(docs, "Deployment", "runner")
    c = container(runner)
    assert env(c) == {
        **compose["environment"],
        "STUDYBOT_RUNNER_TOKEN": env(c)["STUDYBOT_RUNNER_TOKEN"],
    }
    sc = c["securityContext"]
    assert sc["runAsUser"] == 0
    assert sc["capabilities"] == {"add": compose["cap_add"], "drop": compose["cap_drop"]}
    # seccomp, AppArmor and /proc masking lifted (systempaths=unconfined: only privileged does
    # that in the host user namespace, runner.yaml says why).
    assert sc["seccompProfile"] == {"type": "Unconfined"}
    assert sc["appArmorProfile"] == {"type": "Unconfined"}
    assert sc["privileged"] is True
    pod = runner["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 15
    (cgroup,) = [v for v in pod["volumes"] if v["name"] == "cgroup"]
    assert cgroup["hostPath"]["path"] == "/sys/fs/cgroup"
    assert {"name": "cgroup", "mountPath": "/sys/fs/cgroup"} in c["volumeMounts"]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_use_the_healthz_of_each_metrics_port(overlay: str) -> None:
    docs = build(overlay)
    for name, port in (("bot", 9464), ("runner", 9465)):
        c = container(find(docs, "Deployment", name))
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = c[probe]["httpGet"]
            assert get["path"] == "/healthz" and ports[get["port"]] == port, (name, probe)


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_bot_reaches_the_runners_port(overlay: str) -> None:
    docs = build(overlay)
    bot, runner = (pod_labels(find(docs, "Deployment", n)) for n in ("bot", "runner"))
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    (policy,) = [p for p in policies if selects(p["spec"]["podSelector"], runner)]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    to_runner_port = [
        rule
        for rule in policy["spec"]["ingress"]
        if any(p["port"] in (8765, "runner") for p in rule["ports"])
    ]
    (rule,) = to_runner_port
    assert rule["ports"] == [{"protocol": "TCP", "port": 8765}]
    (peer,) = rule["from"]
    assert set(peer) == {"podSelector"} and selects(peer["podSelector"], bot)
    assert not selects(peer["podSelector"], runner)
    # Every other rule opens only the metrics port, and never to every source.
    for other in policy["spec"]["ingress"]:
        if other is not rule:
            assert other["ports"] == [{"protocol": "TCP", "port": 9465}] and other["from"]


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaler_scales_the_runners_on_their_queue_depth(overlay: str) -> None:
    docs = build(overlay)
    hpa = find(docs, "HorizontalPodAutoscaler", "runner")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "runner",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    name = metric["pods"]["metric"]["name"]
    # The gauge the runner exports.
    assert f'"{name}"' in (ROOT / "bot/runner/metrics.py").read_text()
    assert name == "studybot_runner_queue_depth"


@needs_kubectl
def test_only_the_gpu_overlay_gives_the_runners_a_gpu() -> None:
    def limits(overlay: str, name: str) -> dict[str, Any]:
        c = container(find(build(overlay), "Deployment", name))
        result = c.get("resources", {}).get("limits", {})
        assert isinstance(result, dict)
        return result

    assert limits("gpu", "runner")["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in limits("cpu", "runner")
    assert "nvidia.com/gpu" not in limits("gpu", "bot")
