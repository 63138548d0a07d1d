"""The rendered NetworkPolicies, read with the Kubernetes rules: each server admits exactly the
clients that need it."""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.deploy.support import containers, find, pod_labels, render, workloads


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
