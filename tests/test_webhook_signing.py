"""The bureau webhook's signature (schemas.webhook), without servers: the README's worked example, and what a
receiver refuses before it looks at the nonce (the nonce and the HTTP answers: tests/test_frontdoor_webhook.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from schemas.webhook import (
    Signed,
    callback_path,
    endpoint_refusal,
    refusal,
    signature,
    signed_headers,
    string_to_sign,
)

SECRET = "housing-shared-secret-2026"
REFERRAL = "ZJ-20261124-7K3M9Q-housing"
NOW, NONCE = 1795490400, "3f9a1c0e5b7d42a8b6e1f0c9d8a7b6c5"
BODY = json.dumps({"action": "accept", "note": "已派员查看"}, ensure_ascii=False, separators=(",", ":")).encode()
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readmes_worked_example() -> None:
    path = callback_path(REFERRAL)
    text = string_to_sign("POST", path, str(NOW), NONCE, BODY)
    mac = signature(SECRET, "POST", path, str(NOW), NONCE, BODY)
    assert len(BODY) == 44 and f"```\n{text}\n```" in README
    assert mac == "sha256=c6f3b5cd0bf8a706410e87eea127886540e1b63eaa4d5fb664f2c8a0ee75fbdd" and mac in README
    snippet = re.search(r"```python\n(.*?)```", README[README.index("## Bureau webhook") :], re.S)[1]
    scope: dict = {}
    exec(snippet.split("referral_id =")[0], scope)  # the snippet's signer, as a bureau would copy it
    headers = scope["signed_headers"](SECRET, path, BODY)
    got = Signed(headers["X-Jiuzhu-Signature"], headers["X-Jiuzhu-Timestamp"], headers["X-Jiuzhu-Nonce"])
    assert refusal(SECRET, "POST", path, BODY, got, int(headers["X-Jiuzhu-Timestamp"])) is None


def _signed(**kw: str) -> Signed:
    headers = signed_headers(SECRET, "POST", callback_path(REFERRAL), BODY, NOW)
    given = Signed(headers["X-Jiuzhu-Signature"], headers["X-Jiuzhu-Timestamp"], headers["X-Jiuzhu-Nonce"])
    return Signed(**{"signature": given.signature, "timestamp": given.timestamp, "nonce": given.nonce} | kw)


@pytest.mark.parametrize(
    ("path", "body", "secret", "given", "now", "code"),
    [
        (callback_path(REFERRAL), BODY, SECRET, {}, NOW, None),
        (callback_path(REFERRAL), BODY, SECRET, {}, NOW + 300, None),
        (callback_path(REFERRAL), BODY, SECRET, {}, NOW - 300, None),
        (callback_path(REFERRAL), BODY, SECRET, {}, NOW + 301, "stale"),
        (callback_path(REFERRAL), BODY, SECRET, {}, NOW - 301, "stale"),
        (callback_path("ZJ-20261124-OTHER1-housing"), BODY, SECRET, {}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY + b" ", SECRET, {}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY, "medical-secret", {}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY, SECRET, {"timestamp": str(NOW + 1)}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY, SECRET, {"nonce": "a" * 32}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY, SECRET, {"nonce": "short"}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY, SECRET, {"timestamp": "-1"}, NOW, "bad_signature"),
        (callback_path(REFERRAL), BODY, SECRET, {"signature": ""}, NOW, "bad_signature"),
    ],
)
def test_refusals(path: str, body: bytes, secret: str, given: dict[str, str], now: int, code: str | None) -> None:
    why = refusal(secret, "POST", path, body, _signed(**given), now)
    assert (why and why[0]) == code


@pytest.mark.parametrize(
    "url",
    [
        "https://bureau.example/jiuzhu/referrals",
        "HTTPS://bureau.example:8443/hook?x=1",
        "http://127.0.0.1:8080/hook",
        "http://127.8.9.10/hook",
        "http://[::1]:9000/hook",
        "http://localhost/hook",
        "http://LOCALHOST:81/hook",
    ],
)
def test_endpoints_a_referral_may_be_sent_to(url: str) -> None:
    assert endpoint_refusal(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.invalid/jiuzhu/referrals",
        "http://10.0.0.5/hook",
        "http://128.0.0.1/hook",
        "http://127.0.0.1.example.com/hook",
        "http://localhost.example.com/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "ftp://127.0.0.1/hook",
        "127.0.0.1:8080/hook",
        "https:///no-host",
        "",
    ],
)
def test_endpoints_refused_without_https(url: str) -> None:
    assert endpoint_refusal(url) == (
        "insecure_endpoint",
        "接口地址必须以 https:// 开头：转介含个人信息，不经明文 HTTP 发送（本机地址除外）",
    )


def test_the_operator_may_allow_plain_http_but_nothing_else() -> None:
    assert endpoint_refusal("http://example.invalid/hook", allow_plain_http=True) is None
    assert endpoint_refusal("ftp://example.invalid/hook", allow_plain_http=True)[0] == "insecure_endpoint"
