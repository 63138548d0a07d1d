"""Payloads for the codec endpoint's tests: a JSON text sealed for a workflow, and the protobuf JSON the Temporal
Web UI posts and reads back."""

from __future__ import annotations

import json

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from infra.codec import key_ring
from infra.config import Settings


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text, ensure_ascii=False).encode())


def as_json(payloads: list[Payload]) -> dict:
    return json.loads(json_format.MessageToJson(Payloads(payloads=payloads)))


def from_json(body: dict) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


def sealed_for(workflow_id: str | None, text: str = "王大山 341503196803020014") -> dict:
    """`text` sealed with the current key for `workflow_id`, as the Web UI posts it to the codec endpoint."""
    return as_json([key_ring(Settings()).encrypt(payload(text), workflow_id)])
