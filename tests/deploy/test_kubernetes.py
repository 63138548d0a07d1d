"""The Kubernetes manifests rendered by kubectl kustomize, and the Helm values of the Temporal chart:
valid for the Kubernetes versions we support, and in agreement with the code, compose and each other."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
import yaml

from infra.metrics import worker_metrics_address
from tests.deploy.support import (
    BASE,
    DEPLOY,
    HELM_VALUES,
    K8S,
    OVERLAY,
    ROOT,
    app_routes,
    caddy_sites,
    check_jiuzhu_command,
    config_script,
    containers,
    default_of,
    env_example,
    example_secrets,
    find,
    image_uid,
    pod_labels,
    pod_spec,
    render,
    services,
    web_port,
    workloads,
)

KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")  # oldest and newest the manifests must be valid for


def test_kustomize_renders_base_and_overlay() -> None:
    for root in (BASE, OVERLAY):
        kinds = {o["kind"] for o in render(root)}
        assert {"Deployment", "Job", "CronJob", "Ingress", "NetworkPolicy", "ConfigMap", "Namespace"} <= kinds


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
    # every dump encrypted: the public key from Secret postgres-backup-gpg where backup.sh reads it
    (dump,) = containers(backup)
    key_file = next(e["value"] for e in dump["env"] if e["name"] == "BACKUP_GPG_PUBLIC_KEY_FILE")
    volumes = {v["name"]: v for v in pod_spec(backup)["volumes"]}
    (mount,) = [m for m in dump["volumeMounts"] if key_file.startswith(m["mountPath"] + "/")]
    assert volumes[mount["name"]]["secret"]["secretName"] == "postgres-backup-gpg"
    assert "BACKUP_ALLOW_PLAINTEXT" not in {e["name"] for e in dump["env"]}
    assert "-alpine" not in dump["image"], "gpg is in the Debian postgres images only"


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
    path = ("_FILE", "_PATH")  # where a secret is, a file of a mounted Secret: not the secret
    for obj in workloads(objects):
        secret_volumes = {v["name"] for v in pod_spec(obj).get("volumes", []) if "secret" in v}
        for c in containers(obj):
            mounts = [m["mountPath"] for m in c.get("volumeMounts", []) if m["name"] in secret_volumes]
            for var in c.get("env", []):
                if var["name"].endswith(path) and "value" in var:
                    assert any(var["value"].startswith(m + "/") for m in mounts), f"{var['name']}: not in a Secret"
                elif secret_name.search(var["name"]) and not var["name"].endswith(path):
                    assert "valueFrom" in var and "secretKeyRef" in var["valueFrom"], f"{var['name']} in plain text"
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        secrets = [
            k for k, v in cm["data"].items() if secret_name.search(k) and not (k.endswith(path) and v[:1] == "/")
        ]
        assert not secrets, cm["metadata"]["name"]
    for name, data in example_secrets().items():
        for key, value in data.items():
            if secret_name.search(key) or key in {"DATABASE_URL", "users"}:
                assert "CHANGE_ME" in value, f"{name}.{key}: a real secret in git?"
    config = find(objects, "ConfigMap", "jiuzhu-config")["data"]
    assert config["JIUZHU_ENV"] == "production", "production refuses a missing or short signing key"
    web_env = {e["name"] for e in containers(find(objects, "Deployment", "jiuzhu-web"))[0]["env"]}
    assert {"JIUZHU_SECRET_KEY", "JIUZHU_METRICS_TOKEN", "DATABASE_URL"} <= web_env
    assert "JIUZHU_SECRET_KEY" in (ROOT / "infra" / "config.py").read_text()  # the one Settings reads it


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


def test_namespace_is_the_same_everywhere() -> None:
    compose_ns = default_of(services()["worker"]["environment"]["TEMPORAL_NAMESPACE"])
    k8s_ns = find(render(), "ConfigMap", "jiuzhu-config")["data"]["TEMPORAL_NAMESPACE"]
    helm = yaml.safe_load(HELM_VALUES.read_text())
    helm_ns = [ns["name"] for ns in helm["server"]["config"]["namespaces"]["namespace"]]
    assert compose_ns == k8s_ns == env_example()["TEMPORAL_NAMESPACE"]
    assert helm["server"]["config"]["namespaces"]["create"] and k8s_ns in helm_ns


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


def test_jiuzhu_and_setup_reach_temporal_over_mutual_tls() -> None:
    """Production refuses a plaintext frontend (infra/temporal.py): the manifests turn TLS on, and every pod
    that talks to Temporal mounts the client certificate where the settings point."""
    from infra.config import Settings

    objects = render()
    config = find(objects, "ConfigMap", "jiuzhu-config")["data"]
    settings = Settings(**{k: v for k, v in config.items() if k.startswith(("TEMPORAL_", "JIUZHU_ENV"))})
    assert settings.production and settings.temporal_tls and not settings.temporal_plaintext_private_network
    files = [settings.temporal_tls_ca_file, settings.temporal_tls_cert_file, settings.temporal_tls_key_file]
    assert all(files)
    for kind, name in [
        ("Deployment", "jiuzhu-worker"),
        ("Deployment", "jiuzhu-web"),
        ("Job", "jiuzhu-schedules"),
        ("Job", "temporal-search-attributes"),
    ]:
        obj = find(objects, kind, name)
        volumes = {v["name"]: v for v in pod_spec(obj)["volumes"]}
        (container,) = containers(obj)
        env = {e["name"]: e for e in container.get("env", [])}
        if "envFrom" not in container:  # the `temporal` CLI job takes the same variables one by one
            for var in ("TEMPORAL_TLS", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"):
                assert env[var]["valueFrom"]["configMapKeyRef"]["key"] == var, name
        mounts = {
            m["mountPath"]
            for m in container["volumeMounts"]
            if volumes[m["name"]].get("secret", {}).get("secretName") == "temporal-client-tls"
        }
        for file in files:
            assert str(file.parent) in mounts, f"{name} does not mount {file}"


def test_the_temporal_release_serves_mutual_tls_and_reaches_postgresql_over_verified_tls() -> None:
    """The client side (above) is only half: the Helm values make the frontend serve TLS with the name Jiuzhu
    dials and require a client certificate, the services authenticate each other, the Web UI is a TLS client,
    and both stores verify the database server's certificate (as sslmode=verify-full)."""
    helm = yaml.safe_load(HELM_VALUES.read_text())
    server = helm["server"]
    mounted = {m["mountPath"] for m in server["additionalVolumeMounts"]}
    secrets = {v["name"]: v["secret"]["secretName"] for v in server["additionalVolumes"]}
    assert mounted == {"/etc/temporal/tls"} and secrets == {"temporal-server-tls": "temporal-server-tls"}
    tls = server["config"]["tls"]
    for side in ("frontend", "internode"):
        s = tls[side]["server"]
        assert s["requireClientAuth"] is True and s["clientCaFiles"]
        files = [s["certFile"], s["keyFile"], *s["clientCaFiles"], *tls[side]["client"]["rootCaFiles"]]
        assert all(f.startswith("/etc/temporal/tls/") for f in files)
    assert "/etc/temporal/tls/client-ca.crt" in tls["frontend"]["server"]["clientCaFiles"]
    address = find(render(), "ConfigMap", "jiuzhu-config")["data"]["TEMPORAL_ADDRESS"]
    assert tls["frontend"]["client"]["serverName"] == address.rsplit(":", 1)[0]
    stores = server["config"]["persistence"]["datastores"]
    for store in stores.values():
        db_tls = store["sql"]["tls"]
        assert db_tls["enabled"] is True and db_tls["enableHostVerification"] is True
        assert db_tls["serverName"] == store["sql"]["connectAddr"].rsplit(":", 1)[0]
    web = {e["name"]: e["value"] for e in helm["web"]["additionalEnv"]}
    web_files = {m["mountPath"] for m in helm["web"]["additionalVolumeMounts"]}
    assert web_files == {"/etc/temporal/tls"}
    assert [
        web[k].startswith("/etc/temporal/tls/") for k in ("TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY")
    ] == [
        True,
        True,
        True,
    ]
    assert web["TEMPORAL_TLS_SERVER_NAME"] == tls["frontend"]["client"]["serverName"]
    assert web["TEMPORAL_TLS_ENABLE_HOST_VERIFICATION"] == "true"
