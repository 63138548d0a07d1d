"""Static checks of deploy/: the compose stack, the Kubernetes manifests and the Dockerfile agree with
the code they deploy. No Docker or cluster is needed; every expectation comes from the code itself:
the search attributes of schemas/search.py, the commands of cli/main.py, the app of webapp/app.py."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from typer.main import get_command

from cli.main import app as cli_app
from infra.temporal import search_attribute_args
from schemas import search

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
HELM_VALUES = K8S / "helm" / "temporal-values.yaml"

_REF = re.compile(r"(?<!\$)\$\{(\w+)(?::?([-?])([^}]*))?\}")  # ${VAR}, ${VAR:-default}, ${VAR:?error}
_SA_PAIR = re.compile(r"--name\s+(\w+)\s+--type\s+(\w+)")


# ---- what the code says ------------------------------------------------------------------------


def expected_search_attributes() -> dict[str, str]:
    """Name -> type of every key in schemas.search.ALL, spelled as the temporal CLI takes them."""
    pairs = dict(arg.split("=", 1) for arg in search_attribute_args()[1::2])
    assert len(pairs) == len(search.ALL)
    return pairs


def cli_commands() -> set[str]:
    return set(get_command(cli_app).commands)


def check_jiuzhu_command(argv: list[str]) -> str:
    """`jiuzhu <cmd>` with a command cli/main.py has, or uvicorn on a FastAPI app that exists; returns the role."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["jiuzhu"] == "cli.main:app"
    if argv[0] == "jiuzhu":
        assert len(argv) == 2 and argv[1] in cli_commands(), argv
        return argv[1]
    assert argv[:2] == ["uvicorn", "webapp.app:app"], argv
    module, _, attr = argv[1].partition(":")
    app = getattr(importlib.import_module(module), attr)
    assert isinstance(app, FastAPI)
    assert "/healthz" in {getattr(route, "path", None) for route in app.routes}
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    return "web"


def web_port(argv: list[str]) -> str:
    return argv[argv.index("--port") + 1]


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


# ---- the files ---------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def compose_script(service: dict[str, Any]) -> str | None:
    """The shell script of a one-shot (`entrypoint: [/bin/sh, -c]`), with compose's `$$` unescaped."""
    if service.get("entrypoint") != ["/bin/sh", "-c"]:
        return None
    (script,) = service["command"]
    return script.replace("$$", "$")


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


def k8s_objects() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert all("kind" in doc and "apiVersion" in doc for doc in docs)
    return docs


def k8s(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in k8s_objects() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


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


# ---- search attributes -------------------------------------------------------------------------


def test_compose_registers_exactly_the_search_attributes_of_the_code() -> None:
    registering = {
        name: compose_script(svc)
        for name, svc in services().items()
        if svc["image"].startswith("temporalio/admin-tools:") and "search-attribute create" in str(svc["command"])
    }
    assert len(registering) == 1
    (script,) = registering.values()
    assert registered_attributes(script) == expected_search_attributes()


def test_kubernetes_registers_and_helm_notes_name_every_search_attribute() -> None:
    job = k8s("Job", "temporal-search-attributes")
    (container,) = containers(job)
    assert container["image"].startswith("temporalio/admin-tools:")
    assert registered_attributes(container["args"][0]) == expected_search_attributes()
    notes = HELM_VALUES.read_text()
    for name, type_ in expected_search_attributes().items():
        assert f"{name}={type_}" in notes, f"{name} missing from the Helm notes"
        assert f"--name {name} --type {type_}" in notes
        assert name in (DEPLOY / "README.md").read_text()


def test_the_one_shot_scripts_are_valid_shell() -> None:
    scripts = [s for s in map(compose_script, services().values()) if s]
    assert len(scripts) >= 2
    scripts.append(containers(k8s("Job", "temporal-search-attributes"))[0]["args"][0])
    for script in scripts:
        check_shell(script)
    check_shell((DEPLOY / "postgres" / "init-databases.sh").read_text(), "bash")


def test_namespace_is_the_same_everywhere() -> None:
    compose_ns = default_of(services()["worker"]["environment"]["TEMPORAL_NAMESPACE"])
    k8s_ns = k8s("ConfigMap", "jiuzhu-config")["data"]["TEMPORAL_NAMESPACE"]
    helm = yaml.safe_load(HELM_VALUES.read_text())
    helm_ns = [ns["name"] for ns in helm["server"]["config"]["namespaces"]["namespace"]]
    assert compose_ns == k8s_ns == env_example()["TEMPORAL_NAMESPACE"]
    assert helm["server"]["config"]["namespaces"]["create"] and k8s_ns in helm_ns


# ---- compose -----------------------------------------------------------------------------------


def test_compose_runs_the_real_commands() -> None:
    svcs = services()
    roles = {name: check_jiuzhu_command(svcs[name]["command"]) for name in ("migrate", "worker", "web")}
    assert roles == {"migrate": "migrate", "worker": "worker", "web": "web"}
    assert svcs["worker"]["deploy"]["replicas"] == 3
    images = {svcs[name]["image"] for name in roles}
    assert len(images) == 1, "migrate, worker and web run one image"
    build = svcs["worker"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert (context / "pyproject.toml").is_file() and (context / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    port = web_port(svcs["web"]["command"])
    assert any(p.endswith(f":{port}") for p in svcs["web"]["ports"])
    assert f"127.0.0.1:{port}/healthz" in " ".join(svcs["web"]["healthcheck"]["test"])


def test_compose_start_order() -> None:
    svcs = services()
    registrar = next(n for n, s in svcs.items() if "search-attribute create" in str(s.get("command")))
    server = next(n for n, s in svcs.items() if s["image"].startswith("temporalio/server:"))
    postgres = next(n for n, s in svcs.items() if s["image"].startswith("postgres:"))

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
    for name in ("worker", "web"):
        assert needs(name) == {"migrate": "service_completed_successfully", registrar: "service_completed_successfully"}
    schema_job = next(iter(needs(server)))
    assert needs(server)[schema_job] == "service_completed_successfully"
    assert "temporal-sql-tool" in str(svcs[schema_job]["command"])
    assert needs(schema_job) == {postgres: "service_healthy"}


def test_compose_wires_jiuzhu_to_its_servers() -> None:
    svcs = services()
    server = next(n for n, s in svcs.items() if s["image"].startswith("temporalio/server:"))
    postgres = next(n for n, s in svcs.items() if s["image"].startswith("postgres:"))
    for name in ("migrate", "worker", "web"):
        env = svcs[name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == f"{server}:7233"
        assert re.fullmatch(rf"postgresql://jiuzhu:\$\{{\w+:\?[^}}]+\}}@{postgres}:5432/jiuzhu", env["DATABASE_URL"])
        assert env["JIUZHU_LOG_JSON"] == "1"
    webapp_source = "".join(p.read_text() for p in (ROOT / "webapp").glob("*.py"))
    assert "JIUZHU_SECRET_KEY" in webapp_source, "the web app no longer reads JIUZHU_SECRET_KEY: update deploy/"
    assert "JIUZHU_SECRET_KEY" in svcs["web"]["environment"]
    assert "JIUZHU_SECRET_KEY" not in svcs["worker"]["environment"]


def test_compose_secrets_come_from_the_env_file_only() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    example = env_example()
    for var, kind, _ in _REF.findall(text):
        assert var in example, f"${{{var}}} is not documented in deploy/.env.example"
        if kind == "?":
            assert example[var] == "", f"{var} is required and secret: no value in .env.example"
    secret_keys = re.compile(r"PASSWORD|PWD|SECRET")
    for name, svc in services().items():
        env = svc.get("environment", {})
        assert isinstance(env, dict), f"{name}: environment as a mapping, please"
        for key, value in env.items():
            if secret_keys.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}.{key} must come from deploy/.env"
    assert ".env" in (DEPLOY / ".gitignore").read_text().split()
    assert "deploy/.env" in (DEPLOY / "Dockerfile.dockerignore").read_text().split()


def test_compose_images_are_pinned_and_mounts_exist() -> None:
    example = env_example()
    for name, svc in services().items():
        image = default_of(svc["image"])
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), f"{name}: {image}"
        for var, kind, default in _REF.findall(svc["image"]):
            assert kind == "-" and example[var] == default, f"{var}: .env.example and compose disagree"
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    admin_tools = {default_of(s["image"]) for s in services().values() if "admin-tools" in s["image"]}
    assert admin_tools == {containers(k8s("Job", "temporal-search-attributes"))[0]["image"]}


# ---- Kubernetes --------------------------------------------------------------------------------


def test_kubernetes_workloads_run_the_real_commands() -> None:
    worker = k8s("Deployment", "jiuzhu-worker")
    web = k8s("Deployment", "jiuzhu-web")
    migrate = k8s("Job", "jiuzhu-migrate")
    assert worker["spec"]["replicas"] == 3
    roles = {}
    for obj in (worker, web, migrate):
        (container,) = containers(obj)
        roles[obj["metadata"]["name"]] = check_jiuzhu_command(container["command"])
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert str(pod["securityContext"]["runAsUser"]) == image_uid()
    assert roles == {"jiuzhu-worker": "worker", "jiuzhu-web": "web", "jiuzhu-migrate": "migrate"}
    assert migrate["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    assert len({containers(o)[0]["image"] for o in (worker, web, migrate)}) == 1


def test_kubernetes_web_service_reaches_the_web_pods() -> None:
    web = k8s("Deployment", "jiuzhu-web")
    service = k8s("Service", "jiuzhu-web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert web["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = containers(web)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    (service_port,) = service["spec"]["ports"]
    assert str(ports[service_port["targetPort"]]) == web_port(container["command"])
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"


def test_kubernetes_references_resolve() -> None:
    objects = k8s_objects()
    data = {
        (o["kind"], o["metadata"]["name"]): {**o.get("data", {}), **o.get("stringData", {})}
        for o in objects
        if o["kind"] in {"ConfigMap", "Secret"}
    }
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"jiuzhu"}
    for obj in objects:
        if obj["kind"] not in {"Deployment", "Job"}:
            continue
        for container in containers(obj):
            for source in container.get("envFrom", []):
                for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if ref in source:
                        assert (kind, source[ref]["name"]) in data
            for var in container.get("env", []):
                for kind, ref in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    if ref in var.get("valueFrom", {}):
                        key = var["valueFrom"][ref]
                        assert key["key"] in data[(kind, key["name"])], f"{kind} {key['name']} has no {key['key']}"
    assert all("CHANGE_ME" in v for v in data[("Secret", "jiuzhu-secrets")].values()), "a real secret in git?"
    config = data[("ConfigMap", "jiuzhu-config")]
    assert config["TEMPORAL_ADDRESS"].endswith(":7233") and config["JIUZHU_LOG_JSON"] == "1"


# ---- Dockerfile --------------------------------------------------------------------------------


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
