"""Both Caddyfiles run for real in front of stand-in upstreams: the app is served, `/metrics` hidden,
and the Temporal UI refused without its password."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import httpx

from tests.deploy.support import CADDYFILE, find, render
from tests.support.ports import free_port


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
