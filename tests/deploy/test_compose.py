"""deploy/docker-compose.yml: valid for the Compose Specification, running the real commands in the
right order, with networks, secrets and images as the deployment needs them."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import pytest

from infra.metrics import worker_metrics_address
from tests.deploy.support import (
    CADDYFILE,
    DEPLOY,
    ENV_REF,
    caddy_sites,
    check_jiuzhu_command,
    compose,
    compose_script,
    default_of,
    deployed_env,
    env_example,
    interpolated,
    services,
    web_port,
)


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
        # plaintext to Temporal only by the explicit private-network opt-out (production refuses otherwise)
        assert env["JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK"] == "1"
    assert "JIUZHU_SECRET_KEY" in svcs["web"]["environment"]
    assert "JIUZHU_SECRET_KEY" not in svcs["worker"]["environment"]
    backup = svcs["backup"]
    assert compose_script(backup) and "/scripts/backup.sh" in compose_script(backup)
    assert "./postgres/backup.sh:/scripts/backup.sh:ro" in backup["volumes"]
    assert backup["environment"]["PGHOST"] == "postgresql"
    # every dump encrypted to a public key: the recipient required, the key file mounted where it is read
    assert "BACKUP_ALLOW_PLAINTEXT" not in backup["environment"]
    assert ENV_REF.fullmatch(backup["environment"]["BACKUP_GPG_RECIPIENT"])[2] == "?"
    key_file = backup["environment"]["BACKUP_GPG_PUBLIC_KEY_FILE"]
    assert any(v.split(":")[1] == key_file for v in backup["volumes"])


def test_compose_secrets_come_from_the_env_file_only() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    example = env_example()
    for var, kind, _ in ENV_REF.findall(text):
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
        for var, kind, default in ENV_REF.findall(svc["image"]):
            assert kind == "-" and example[var] == default, f"{var}: .env.example and compose disagree"
        for volume in svc.get("volumes", []):
            source = default_of(volume.split(":")[0])
            if source.startswith("."):
                made = Path(source).name in runtime or Path(source).parts[0] in runtime  # e.g. secrets/x
                assert (DEPLOY / source).exists() or made, f"{name} mounts missing {source}"
