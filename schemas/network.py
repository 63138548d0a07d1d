"""Which network addresses are this machine's own (loopback): a plain-text connection to one of them never
leaves the machine. Read by the Temporal connection (infra/temporal.py) and the bureau webhooks (schemas.webhook)."""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str) -> bool:
    """`localhost`, an IPv4 address in 127.0.0.0/8 or the IPv6 `::1` (brackets allowed)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
