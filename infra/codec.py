"""Encrypted Temporal payloads: every payload a client, worker or replayer of ours writes is sealed with
AES-256-GCM before it leaves the process, so Temporal's database, its backups and its Web UI hold only
ciphertext (the Web UI decodes through the web app's codec endpoint, `webapp/codec/api.py`, for staff of the
workflow's jurisdiction).

An encrypted payload says how it was sealed in its (clear) metadata: `encoding` `binary/encrypted`, the key's
id (`encryption-key-id`) and, where the SDK tells the codec whose payload it is (its serialisation context),
the workflow's id (`jiuzhu-workflow-id`), which the codec endpoint maps to the row's place. Key id and workflow
id are bound into the ciphertext as associated data: a payload relabelled as another workflow's does not
decrypt. The data is the whole original payload (metadata and data), serialised.

Keys (`JIUZHU_PAYLOAD_KEYS`, `id:base64-of-32-bytes,...`): the first seals new payloads, all of them open old
ones, so a key is rotated by putting a new one first and keeping the old ones until no history needs them.
Without the setting, development uses a fixed development key (`DEV_KEY_ID`); production refuses to start
without keys of its own, and to seal with the development key (it may keep it to read histories from before).
Payloads without the encryption metadata (histories recorded before encryption) pass through decoding as they
are; new payloads are always sealed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

from infra.config import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
WORKFLOW_ID = "jiuzhu-workflow-id"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Development and tests only: public by construction (it is in this file), refused in production.
DEV_KEY_ID = "dev"
DEV_KEY = hashlib.sha256(b"jiuzhu development payload key: never in production").digest()


class PayloadKeyError(ValueError):
    """A key setting that cannot be used, or a payload sealed with a key this process does not have."""


class PayloadDecryptError(ValueError):
    """A payload that does not decrypt: tampered with, relabelled, or sealed under another key of the same id."""


def parse_keys(text: str) -> dict[str, bytes]:
    """`id:base64,id:base64,...` (the first is current) as an ordered {id: 32-byte key}."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID_PATTERN.fullmatch(key_id):
            raise PayloadKeyError(
                f"JIUZHU_PAYLOAD_KEYS: expected id:base64 with an id of [A-Za-z0-9._-], got {key_id!r}"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error as e:
            raise PayloadKeyError(f"JIUZHU_PAYLOAD_KEYS: key {key_id!r} is not base64") from e
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(
                f"JIUZHU_PAYLOAD_KEYS: key {key_id!r} has {len(key)} bytes, AES-256 needs {KEY_BYTES}"
            )
        if key_id in keys:
            raise PayloadKeyError(f"JIUZHU_PAYLOAD_KEYS: key id {key_id!r} given twice")
        keys[key_id] = key
    if not keys:
        raise PayloadKeyError("JIUZHU_PAYLOAD_KEYS: no key given")
    return keys


def new_key() -> str:
    """A fresh random key, base64, for `JIUZHU_PAYLOAD_KEYS` (`jiuzhu payload-key`)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def workflow_of(payload: Payload) -> str | None:
    """The workflow an encrypted payload was sealed for, if the SDK said (its metadata, bound into the seal)."""
    value = payload.metadata.get(WORKFLOW_ID)
    return value.decode() if value else None


def _associated_data(key_id: str, workflow_id: str | None) -> bytes:
    return b"jiuzhu-payload\x00" + key_id.encode() + b"\x00" + (workflow_id or "").encode()


@dataclass(frozen=True, eq=False)
class KeyRing:
    """The keys of one process: `current` seals, every one opens."""

    keys: Mapping[str, bytes]
    current: str = field(default="")

    def __post_init__(self) -> None:
        if not self.current:
            object.__setattr__(self, "current", next(iter(self.keys)))
        if self.current not in self.keys:
            raise PayloadKeyError(f"current key {self.current!r} is not among the keys")

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        return cls(parse_keys(text))

    @classmethod
    def development(cls) -> KeyRing:
        return cls({DEV_KEY_ID: DEV_KEY})

    @cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        return {key_id: AESGCM(key) for key_id, key in self.keys.items()}

    def encrypt(self, payload: Payload, workflow_id: str | None = None) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(
            nonce, payload.SerializeToString(), _associated_data(self.current, workflow_id)
        )
        metadata = {"encoding": ENCODING, KEY_ID: self.current.encode()}
        if workflow_id:
            metadata[WORKFLOW_ID] = workflow_id.encode()
        return Payload(metadata=metadata, data=nonce + sealed)

    def derived(self, purpose: str) -> KeyRing:
        """The same ring (ids, current key, rotation) with each key derived for `purpose` by HKDF-SHA256, so data
        other than Temporal payloads (uploaded documents) is sealed under keys of its own."""
        info = b"jiuzhu-key-purpose\x00" + purpose.encode()
        keys = {i: HKDF(hashes.SHA256(), KEY_BYTES, None, info).derive(k) for i, k in self.keys.items()}
        return KeyRing(keys, self.current)

    def seal(self, data: bytes, context: bytes) -> tuple[str, bytes]:
        """`data` sealed under the current key with `context` bound in: (key id, nonce + ciphertext)."""
        nonce = os.urandom(NONCE_BYTES)
        return self.current, nonce + self._ciphers[self.current].encrypt(nonce, data, context)

    def open(self, key_id: str, sealed: bytes, context: bytes) -> bytes:
        """What `seal` sealed under `key_id` with the same `context`."""
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(f"data sealed with key {key_id!r}, which is not configured: keep old keys")
        try:
            return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag as e:
            raise PayloadDecryptError(f"data under key {key_id!r} does not decrypt (altered or relabelled)") from e

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; one without the encryption metadata as it is (recorded before encryption)."""
        if not is_encrypted(payload):
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload sealed with key {key_id!r}, which is not configured (JIUZHU_PAYLOAD_KEYS has "
                f"{', '.join(self.keys)}): keep old keys after a rotation"
            )
        data = payload.data
        try:
            clear = cipher.decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], _associated_data(key_id, workflow_of(payload))
            )
        except InvalidTag as e:
            raise PayloadDecryptError(f"payload under key {key_id!r} does not decrypt (altered or relabelled)") from e
        return Payload.FromString(clear)


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """The Temporal payload codec over a `KeyRing`; bound to a workflow by the SDK's serialisation context."""

    def __init__(self, keys: KeyRing, workflow_id: str | None = None) -> None:
        super().__init__()
        self.keys = keys
        self.workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        workflow_id = getattr(context, "workflow_id", None)
        return self if workflow_id == self.workflow_id else EncryptionCodec(self.keys, workflow_id)

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.keys.encrypt(p, self.workflow_id) for p in payloads]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.keys.decrypt(p) for p in payloads]


def key_ring(settings: Settings) -> KeyRing:
    """The configured keys; the development key when none are, except in production, which refuses to run
    without keys of its own."""
    if settings.payload_keys is None:
        if settings.production:
            raise PayloadKeyError(
                "JIUZHU_PAYLOAD_KEYS is required in production (id:base64 of 32 random bytes; `jiuzhu payload-key`)"
            )
        return KeyRing.development()
    ring = KeyRing.parse(settings.payload_keys.get_secret_value())
    if settings.production and ring.keys[ring.current] == DEV_KEY:
        raise PayloadKeyError("JIUZHU_PAYLOAD_KEYS: production must not seal with the development key")
    return ring
