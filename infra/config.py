"""Where things live and which servers to use, from the environment.

`DATABASE_URL` / `TEMPORAL_ADDRESS` select external servers (production); when unset,
`jiuzhu up` starts embedded ones with their data under `var/`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "jiuzhu-main"
TIMEZONE = "Asia/Shanghai"


def _bin(name: str) -> str:
    """A console script installed beside this interpreter (the venv's bin/)."""
    return str(Path(sys.executable).parent / name)


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every environment variable the product reads, in one place (README, "Settings"). Nothing else reads
    `os.environ`; an empty variable counts as unset."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # where things live, which servers
    var_dir: Path = Field(ROOT / "var", validation_alias=_env("JIUZHU_VAR"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    temporal_address: str | None = Field(None, validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    temporal_port: int = Field(7233, validation_alias=_env("JIUZHU_TEMPORAL_PORT"))
    temporal_ui_port: int = Field(8233, validation_alias=_env("JIUZHU_TEMPORAL_UI_PORT"))
    web_port: int = Field(8000, validation_alias=_env("JIUZHU_WEB_PORT"))
    temporal_ui_url_setting: str | None = Field(None, validation_alias=_env("TEMPORAL_UI_URL"))
    # TLS to an external Temporal frontend, under the `temporal` CLI's names (one set of variables serves both):
    # on with TEMPORAL_TLS or any of the files; CA of the server's certificate (else the system's), client
    # certificate and key for mutual TLS, the name the server's certificate must carry (else the address's host)
    temporal_tls_setting: bool = Field(False, validation_alias=_env("TEMPORAL_TLS"))
    temporal_tls_ca_file: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_SERVER_CA_CERT_PATH"))
    temporal_tls_cert_file: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_CLIENT_CERT_PATH"))
    temporal_tls_key_file: Path | None = Field(None, validation_alias=_env("TEMPORAL_TLS_CLIENT_KEY_PATH"))
    temporal_tls_server_name: str | None = Field(None, validation_alias=_env("TEMPORAL_TLS_SERVER_NAME"))
    # production refuses an external frontend without TLS, unless this says it is reachable on a private
    # network only (compose's backend network: deploy/README.md)
    temporal_plaintext_private_network: bool = Field(
        False, validation_alias=_env("JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK")
    )
    # production and secrets
    # addresses (IPs or CIDRs, comma-separated) of the reverse proxies whose X-Forwarded-For/-Proto the web app
    # believes: the client address of rate limits and sessions; from anyone else the headers are ignored
    trusted_proxies: str = Field("", validation_alias=_env("JIUZHU_TRUSTED_PROXIES"))
    env: str = Field("", validation_alias=_env("JIUZHU_ENV"))
    secret_key: SecretStr | None = Field(None, validation_alias=_env("JIUZHU_SECRET_KEY"))
    secret_key_file: Path | None = Field(None, validation_alias=_env("JIUZHU_SECRET_KEY_FILE"))
    metrics_token: SecretStr | None = Field(None, validation_alias=_env("JIUZHU_METRICS_TOKEN"))
    # Temporal payload encryption keys, `id:base64,...`, the first seals (infra/codec.py)
    payload_keys: SecretStr | None = Field(None, validation_alias=_env("JIUZHU_PAYLOAD_KEYS"))
    # staff sessions (pages and bearer tokens): end after this long without a request, and this long after log-in
    session_idle_minutes: int = Field(30, ge=1, validation_alias=_env("JIUZHU_SESSION_IDLE_MINUTES"))
    session_max_hours: int = Field(12, ge=1, validation_alias=_env("JIUZHU_SESSION_MAX_HOURS"))
    # abuse limits (issue 16, point 8): request bodies, and the portal's submissions ("N/hour", "N/day": `limits`)
    max_body_bytes: int = Field(1024 * 1024, ge=1024, validation_alias=_env("JIUZHU_MAX_BODY_BYTES"))
    # uploaded documents (webapp/documents): the largest file taken, and the largest body of an upload request
    # (several files at once), which only the upload routes are allowed beyond `max_body_bytes`
    document_max_bytes: int = Field(10 * 1024 * 1024, ge=1024, validation_alias=_env("JIUZHU_DOCUMENT_MAX_BYTES"))
    upload_max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024, validation_alias=_env("JIUZHU_UPLOAD_MAX_BODY_BYTES"))
    # where uploaded documents' sealed contents are kept: PostgreSQL (default), or an S3-compatible object store
    document_store: Literal["postgres", "s3"] = Field("postgres", validation_alias=_env("JIUZHU_DOCUMENT_STORE"))
    s3_endpoint: str | None = Field(None, validation_alias=_env("JIUZHU_S3_ENDPOINT"))
    s3_bucket: str = Field("jiuzhu-documents", validation_alias=_env("JIUZHU_S3_BUCKET"))
    s3_region: str = Field("us-east-1", validation_alias=_env("JIUZHU_S3_REGION"))
    s3_access_key_id: SecretStr | None = Field(None, validation_alias=_env("JIUZHU_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: SecretStr | None = Field(None, validation_alias=_env("JIUZHU_S3_SECRET_ACCESS_KEY"))
    portal_per_address: str = Field("10/hour", validation_alias=_env("JIUZHU_PORTAL_PER_ADDRESS"))
    portal_per_id_number: str = Field("3/day", validation_alias=_env("JIUZHU_PORTAL_PER_ID_NUMBER"))
    # the household economic-check centre (HTTP adapter; unset: the district's database queue)
    verification_url: str | None = Field(None, validation_alias=_env("JIUZHU_VERIFICATION_URL"))
    verification_token: SecretStr | None = Field(None, validation_alias=_env("JIUZHU_VERIFICATION_TOKEN"))
    # the bureaus' referral webhooks: plain http:// endpoints off this machine are refused unless this allows them
    # (schemas.webhook.endpoint_refusal); https always, http to 127.0.0.0/8, ::1 or localhost always
    webhook_allow_http: bool = Field(False, validation_alias=_env("JIUZHU_WEBHOOK_ALLOW_HTTP"))
    # logs, metrics, traces
    log_json: bool = Field(False, validation_alias=_env("JIUZHU_LOG_JSON"))
    worker_metrics: str | None = Field(None, validation_alias=_env("JIUZHU_WORKER_METRICS"))
    otel: bool = Field(False, validation_alias=_env("JIUZHU_OTEL"))
    otel_exporter: Literal["otlp", "console"] = Field("otlp", validation_alias=_env("JIUZHU_OTEL_EXPORTER"))
    otel_service_name: str | None = Field(None, validation_alias=_env("OTEL_SERVICE_NAME"))
    # tests only: make the emergency payment activity fail once after its transfer (tests/test_worker_crash.py)
    failpoint: str | None = Field(None, validation_alias=_env("JIUZHU_FAILPOINT"))

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():
            default = cls.model_fields[info.field_name].default
            return default
        return value.strip() if isinstance(value, str) else value

    @field_validator("portal_per_address", "portal_per_id_number")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        """A rate as `limits` reads it ("10/hour", "3/day", "5/2 days"): refused at start-up, not at the first form."""
        from limits import parse

        parse(value)
        return value

    @property
    def production(self) -> bool:
        return self.env.lower() == "production"

    @property
    def temporal_tls(self) -> bool:
        files = (self.temporal_tls_ca_file, self.temporal_tls_cert_file, self.temporal_tls_key_file)
        return self.temporal_tls_setting or self.temporal_tls_server_name is not None or any(files)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def temporal_ui_url(self) -> str:
        return self.temporal_ui_url_setting or f"http://localhost:{self.temporal_ui_port}"

    @property
    def pg_dir(self) -> Path:
        return self.var_dir / "pg"

    @property
    def temporal_db(self) -> Path:
        return self.var_dir / "temporal.db"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def embedded_db(self) -> bool:
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"


def temporal_cli() -> str:
    return _bin("temporal")


def temporal_test_server() -> str:
    return _bin("temporal-test-server")
