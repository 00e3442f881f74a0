"""deploy/: the compose file and the Kubernetes manifests are valid, consistent and documented.

Nothing is started (no container runtime here): the files are checked against the Compose
Specification's JSON schema and the Kubernetes OpenAPI schemas, then for what the schemas cannot
see: references, probes, environment variables, the modules the services run.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
IMAGE = "betrue-chat:dev"
READY = "/_app/ready"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def _documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _documents() if doc["kind"] == kind}


def _betrue_containers() -> list[dict[str, Any]]:
    workloads = [*_of_kind("Deployment").values(), *_of_kind("StatefulSet").values()]
    containers = [c for w in workloads for c in w["spec"]["template"]["spec"]["containers"]]
    return [c for c in containers if c["image"] == IMAGE]


def _betrue_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _compose()["services"].items() if s.get("image") == IMAGE}


def _documented() -> set[str]:
    """Variables of env.md, and those deploy.md lists as planned in other packages."""
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "env.md").read_text()))
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    planned = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| betrue-\w+ \|", deploy_doc, flags=re.MULTILINE))
    assert planned == {"NATS_URL", "DATABASE_URL"}, planned
    return names | planned


def _importable(target: str) -> bool:
    module, _, attribute = target.partition(":")
    try:
        return hasattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError:
        return False


def test_the_compose_file_follows_the_compose_specification() -> None:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(vendored.read_text())
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(_compose())]
    assert errors == []
    broken = _compose()
    broken["services"]["chat"]["helthcheck"] = {"test": ["CMD", "true"]}  # a misspelt key: the check is not blind
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(broken))


def test_the_compose_services_refer_to_what_exists_and_are_checked_for_readiness() -> None:
    compose = _compose()
    services, volumes = compose["services"], set(compose["volumes"])
    for name, service in services.items():
        for needed, condition in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on {needed}, which is not a service"
            assert condition == {"condition": "service_healthy"}
            assert "healthcheck" in services[needed], f"{name} waits for {needed}, which has no health check"
        for mount in service.get("volumes", []):
            assert mount.split(":")[0] in volumes, f"{name} mounts an undeclared volume: {mount}"
    for name, service in _betrue_services().items():
        assert READY in " ".join(service["healthcheck"]["test"]), f"{name}: no health check on {READY}"
    assert "--jetstream" in services["nats"]["command"]
    assert set(services["chat"].get("profiles", [])) == set()  # the monolith starts by default
    cluster = {name for name, s in services.items() if "cluster" in s.get("profiles", [])}
    assert {"nats", "gateway-1", "gateway-2", "chat-service", "worker"} <= cluster
    assert services["chat-service"]["deploy"]["replicas"] == 2


def test_every_kubernetes_manifest_is_valid_for_the_kubernetes_api() -> None:
    version = kubernetes_validate.latest_version()
    documents = _documents()
    assert {doc["kind"] for doc in documents} == {"ConfigMap", "Deployment", "Service", "StatefulSet"}
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)  # raises on any error, names it
    broken = _of_kind("Deployment")["gateway"]
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = READY
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_the_kubernetes_objects_fit_together() -> None:
    deployments, statefulsets, services = _of_kind("Deployment"), _of_kind("StatefulSet"), _of_kind("Service")
    assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == {"gateway": 2, "chat": 2, "worker": 1}
    assert set(statefulsets) == {"nats", "postgres"}
    workloads = {**deployments, **statefulsets}
    for name, workload in workloads.items():
        spec = workload["spec"]
        selector = spec["selector"]["matchLabels"].items()
        assert selector <= spec["template"]["metadata"]["labels"].items(), f"{name}: selector matches no pod"
    for name, service in services.items():
        targets = [
            w
            for w in workloads.values()
            if service["spec"]["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(targets) == 1, f"Service {name} selects {len(targets)} workloads"
        ports = {p["name"] for c in targets[0]["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, f"Service {name} targets no named port"
    nats = statefulsets["nats"]["spec"]["template"]["spec"]["containers"][0]
    assert "--jetstream" in nats["args"]
    configmaps = set(_of_kind("ConfigMap"))
    for container in _betrue_containers():
        probe = container["readinessProbe"]["httpGet"]
        assert (probe["path"], probe["port"]) == (READY, "http"), container["name"]
        assert {ref["configMapRef"]["name"] for ref in container["envFrom"]} <= configmaps
        for variable in container.get("env", []):
            secret = variable.get("valueFrom", {}).get("secretKeyRef")
            if secret is not None:
                assert (secret["name"], secret["key"]) == ("chat-secrets", variable["name"])


def test_every_variable_set_for_a_betrue_process_is_documented() -> None:
    documented = _documented()
    set_by_compose = {name for s in _betrue_services().values() for name in s["environment"]}
    set_by_k8s = {v["name"] for c in _betrue_containers() for v in c.get("env", [])}
    set_by_k8s |= set(_of_kind("ConfigMap")["chat-config"]["data"])
    assert set_by_compose - documented == set()
    assert set_by_k8s - documented == set()
    assert {"JWT_SECRET", "HTTP_HOST", "NATS_URL", "DATABASE_URL"} <= set_by_compose & set_by_k8s


def test_every_service_runs_a_module_that_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("HTTP_PORT", "0")
    runs: dict[str, tuple[str, bool]] = {}
    for name, service in _betrue_services().items():
        planned = service.get("labels", {}).get("org.betrue.status") == "planned"
        runs[f"compose {name}"] = (service["command"][-1], planned)
    for name, deployment in _of_kind("Deployment").items():
        planned = deployment["metadata"].get("annotations", {}).get("betrue.dev/status") == "planned"
        runs[f"k8s {name}"] = (deployment["spec"]["template"]["spec"]["containers"][0]["command"][-1], planned)
    for where, (target, planned) in runs.items():
        assert not planned, f"{where} is still marked planned"
        assert _importable(target), f"{where} runs {target}, which cannot be imported"
    assert runs["compose chat"] == ("examples.chat.app:app", False)
    cluster = {target for where, (target, _) in runs.items() if where != "compose chat"}
    assert cluster == {f"examples.chat.cluster:{app}" for app in ("gateway", "service", "worker")}


def test_the_image_installs_every_package_of_the_workspace_and_runs_unprivileged() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    installed = set(re.findall(r"\./packages/([\w-]+)", dockerfile))
    assert installed == {path.parent.name for path in (ROOT / "packages").glob("*/pyproject.toml")}
    copied = re.findall(r"^COPY (\S+) ", dockerfile, flags=re.MULTILINE)
    assert copied == ["packages/", "examples/"]
    assert all((ROOT / source).is_dir() for source in copied)
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.MULTILINE)
