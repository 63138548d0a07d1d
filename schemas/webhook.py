"""The signature of the bureau webhook, both ways (Jiuzhu's delivery to a bureau, the bureau's callback to Jiuzhu):
HMAC-SHA256 with the bureau's shared secret over one string that binds the request to its method, its path (so a
callback's referral), its time and a one-time nonce, and the SHA-256 of its body:

    POST\\n/api/referrals/ZJ-20261124-ABC123-housing/callback\\n1795490400\\n7f3c…\\n<hex sha256 of the body>

sent as `X-Jiuzhu-Signature: sha256=<hex>` with `X-Jiuzhu-Timestamp` (Unix seconds) and `X-Jiuzhu-Nonce`. The
receiver refuses a signature more than `MAX_SKEW_SECONDS` from its own clock either way and a nonce it has seen
(kept at least twice that long). README "Bureau webhook" has a worked example for the bureaus.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from schemas.network import is_loopback_host

SIGNATURE_HEADER = "X-Jiuzhu-Signature"
TIMESTAMP_HEADER = "X-Jiuzhu-Timestamp"
NONCE_HEADER = "X-Jiuzhu-Nonce"
MAX_SKEW_SECONDS = 300  # 5 minutes, either way
NONCE_KEEP_SECONDS = 900  # a nonce is remembered 15 minutes: longer than the 10-minute window it could be valid in
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


INSECURE_ENDPOINT = "insecure_endpoint"


def endpoint_refusal(url: str, allow_plain_http: bool = False) -> tuple[str, str] | None:
    """Why a bureau's endpoint may not be sent a referral (which carries personal data): (code, Chinese message),
    or None. HTTPS always; plain HTTP only to this machine (127.0.0.0/8, ::1, localhost: a test's receiver), or
    where the operator allows it (JIUZHU_WEBHOOK_ALLOW_HTTP); anything else is refused."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is not None and host:
        if parts.scheme == "https":
            return None
        if parts.scheme == "http" and (allow_plain_http or is_loopback_host(host)):
            return None
    return INSECURE_ENDPOINT, "接口地址必须以 https:// 开头：转介含个人信息，不经明文 HTTP 发送（本机地址除外）"


def callback_path(referral_id: str) -> str:
    """The path a bureau signs for its callback about `referral_id` (whatever proxy prefix stands before it)."""
    return f"/api/referrals/{referral_id}/callback"


def discovery_path(bureau: str) -> str:
    """The path a bureau signs when its system sends a discovery list (主动发现名单)."""
    return f"/api/discovery/bureaus/{bureau}/lists"


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """What the HMAC covers: method, path, timestamp, nonce and the body's SHA-256, one per line."""
    return "\n".join((method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()))


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """`sha256=<hex>`: the value of X-Jiuzhu-Signature."""
    text = string_to_sign(method, path, timestamp, nonce, body)
    return "sha256=" + hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def signed_headers(secret: str, method: str, path: str, body: bytes, now: float) -> dict[str, str]:
    """The three headers of a request signed now (a fresh nonce each time)."""
    timestamp, nonce = str(int(now)), new_nonce()
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, nonce, body),
    }


@dataclass(frozen=True)
class Signed:
    """A request's signature headers as received."""

    signature: str
    timestamp: str
    nonce: str


def refusal(secret: str, method: str, path: str, body: bytes, given: Signed, now: float) -> tuple[str, str] | None:
    """Why a signed request is refused before its nonce is looked up: (code, Chinese message), or None.
    `bad_signature` for a missing or malformed header or a signature that does not match (compared in constant
    time), `stale` for a good signature whose timestamp is more than 5 minutes from `now` either way."""
    if not (given.timestamp.isdigit() and len(given.timestamp) <= 12 and NONCE.match(given.nonce)):
        return "bad_signature", "签名缺失或错误"
    expected = signature(secret, method, path, given.timestamp, given.nonce, body)
    if not hmac.compare_digest(given.signature.encode(), expected.encode()):
        return "bad_signature", "签名缺失或错误"
    if abs(now - int(given.timestamp)) > MAX_SKEW_SECONDS:
        return "stale", "签名时间与服务器时间相差超过 5 分钟，请用当前时间重新签名"
    return None
